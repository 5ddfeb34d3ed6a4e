/**
 * The Anthropic client service: one `@anthropic-ai/sdk` client, created with `maxRetries: 0` (effect-llm
 * owns retries), a very large SDK timeout (effect-llm owns timeouts) and the SDK's own OpenTelemetry
 * spans turned off (effect-llm's `chat {model}` span is the one span of a call).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
 *
 * // reads ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL when set)
 * const Claude = AnthropicLanguageModel.model("claude-haiku-4-5").pipe(
 *   Layer.provide(AnthropicClient.layerConfig({ apiKey: Config.redacted("ANTHROPIC_API_KEY") }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import Anthropic from "@anthropic-ai/sdk"
import type { ClientOptions } from "@anthropic-ai/sdk"
import { hookedFetch } from "@effect-llm/core/ProviderCall"
import * as ProviderKit from "@effect-llm/core/ProviderKit"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * The default base URL of the Anthropic API.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.anthropic.com"

/**
 * The SDK timeout used when none is given: one day. effect-llm's own timeout policies decide when a
 * call has taken too long; the SDK's timer is only a last resort (and it switches off the SDK's
 * refusal of non-streaming calls with a large `max_tokens`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = Duration.days(1)

/**
 * The service: the SDK client and where it sends requests (for `server.address` / `server.port`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly client: Anthropic
  readonly baseUrl: string
  readonly serverAddress: string
  readonly serverPort: number
  /** The SDK's own request timeout, in milliseconds (reported as `Timeout` phase `total`). */
  readonly timeoutMillis: number
  /**
   * Whether the client lets effect-llm abort a request through the SDK's own per-request controller
   * (see `make`). When `false`, calls pass an `AbortSignal` instead.
   */
  readonly hooked: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AnthropicClient extends Context.Tag("@effect-llm/anthropic/AnthropicClient")<
  AnthropicClient,
  Service
>() {}

/**
 * The configuration is unusable (an empty API key, a base URL that is not an http(s) URL, a
 * timeout that is not positive). The API key itself is never part of the error.
 *
 * @since 0.1.0
 * @category errors
 */
export class AnthropicConfigError extends Schema.TaggedError<AnthropicConfigError>(
  "@effect-llm/anthropic/AnthropicClient/AnthropicConfigError"
)("AnthropicConfigError", { field: Schema.String, detail: Schema.String }) {
  override get message() {
    return `Invalid Anthropic client configuration: ${this.field} ${this.detail}`
  }
}

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly apiKey: Redacted.Redacted
  /** Defaults to `https://api.anthropic.com` (the SDK's `ANTHROPIC_BASE_URL` is not read: use `layerConfig`). */
  readonly baseUrl?: string | undefined
  readonly defaultHeaders?: Record<string, string> | undefined
  /** A `fetch` implementation for the SDK (defaults to the global one). */
  readonly fetch?: ClientOptions["fetch"] | undefined
  /** The SDK's own request timeout. Defaults to {@link defaultTimeout}. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The SDK's log level. Defaults to `"off"`: effect-llm reports every failure as a typed error. */
  readonly logLevel?: ClientOptions["logLevel"] | undefined
}

const invalid = (field: string, detail: string) => Effect.fail(new AnthropicConfigError({ field, detail }))

/**
 * The SDK client with one hook: `fetchWithTimeout` hands the SDK's per-request `AbortController` to
 * the effect-llm call that made the request, so that interrupting the call aborts the request
 * without passing an `AbortSignal` (for which the SDK adds a listener, a `WeakMap` entry and a
 * `FinalizationRegistry` registration per request). It also ends the call's connect timer when the
 * response headers arrive.
 */
class HookedAnthropic extends Anthropic {
  override fetchWithTimeout(
    url: RequestInfo,
    init: RequestInit | undefined,
    ms: number,
    controller: AbortController,
    requestOptions?: Parameters<Anthropic["fetchWithTimeout"]>[4],
    logCtx?: Parameters<Anthropic["fetchWithTimeout"]>[5]
  ): Promise<Response> {
    return hookedFetch(
      init,
      controller,
      () => super.fetchWithTimeout(url, init, ms, controller, requestOptions, logCtx)
    )
  }
}

const hookable = typeof (Anthropic.prototype as { fetchWithTimeout?: unknown }).fetchWithTimeout === "function"

/**
 * Builds the service, validating the options. The SDK client is a subclass whose `fetchWithTimeout`
 * hands each request's own `AbortController` to the effect-llm call that made it, so calls abort
 * without passing an `AbortSignal`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, AnthropicConfigError> =>
  Effect.suspend(() => {
    const settings = ProviderKit.clientSettings({
      apiKey: options.apiKey,
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      timeout: options.timeout,
      defaultTimeout
    })
    if (Either.isLeft(settings)) return invalid(settings.left.field, settings.left.detail)
    const { apiKey, baseUrl, serverAddress, serverPort, timeoutMillis } = settings.right
    const clientOptions: ClientOptions = {
      apiKey,
      baseURL: baseUrl,
      maxRetries: 0,
      timeout: timeoutMillis,
      openTelemetry: false,
      logLevel: options.logLevel ?? "off"
    }
    if (options.defaultHeaders !== undefined) clientOptions.defaultHeaders = options.defaultHeaders
    if (options.fetch !== undefined) clientOptions.fetch = options.fetch
    let client: Anthropic
    try {
      client = hookable ? new HookedAnthropic(clientOptions) : new Anthropic(clientOptions)
    } catch (error) {
      // the SDK's own checks (e.g. running in a browser); its messages never contain the key
      return invalid("client", error instanceof Error ? error.message : String(error))
    }
    return Effect.succeed<Service>({
      client,
      baseUrl,
      serverAddress,
      serverPort,
      timeoutMillis,
      hooked: hookable
    })
  })

/**
 * The client as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<AnthropicClient, AnthropicConfigError> =>
  Layer.effect(AnthropicClient, make(options))

/**
 * Options of {@link layerConfig}: each one read from a `Config`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  /** Defaults to `Config.redacted("ANTHROPIC_API_KEY")`. */
  readonly apiKey?: Config.Config<Redacted.Redacted> | undefined
  /** Defaults to `ANTHROPIC_BASE_URL` when set, else `https://api.anthropic.com`. */
  readonly baseUrl?: Config.Config<string> | Config.Config<Option.Option<string>> | undefined
  readonly timeout?: Config.Config<Duration.Duration> | undefined
  readonly defaultHeaders?: Record<string, string> | undefined
  readonly fetch?: ClientOptions["fetch"] | undefined
  readonly logLevel?: ClientOptions["logLevel"] | undefined
}

/**
 * The client as a layer whose API key (and optionally base URL and timeout) come from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<AnthropicClient, AnthropicConfigError | ConfigError.ConfigError> =>
  Layer.effect(
    AnthropicClient,
    Effect.gen(function*() {
      const apiKey = yield* (options.apiKey ?? Config.redacted("ANTHROPIC_API_KEY"))
      const baseUrlValue: string | Option.Option<string> = yield* (
        options.baseUrl ?? Config.option(Config.string("ANTHROPIC_BASE_URL"))
      )
      const baseUrl = typeof baseUrlValue === "string" ? baseUrlValue : Option.getOrUndefined(baseUrlValue)
      const timeout = options.timeout === undefined ? undefined : yield* options.timeout
      return yield* make({
        apiKey,
        baseUrl,
        timeout,
        defaultHeaders: options.defaultHeaders,
        fetch: options.fetch,
        logLevel: options.logLevel
      })
    })
  )
