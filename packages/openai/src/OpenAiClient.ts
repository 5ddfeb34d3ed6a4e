/**
 * The OpenAI client service: one `openai` SDK client, created with `maxRetries: 0` (effect-llm owns
 * retries), a very large SDK timeout (effect-llm owns timeouts) and the SDK's own logging off
 * (effect-llm reports every failure as a typed error). The API key comes in as a `Redacted` and
 * never appears in an error, a log or a span.
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
 *
 * // reads OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID when set)
 * const Gpt = OpenAiLanguageModel.model("gpt-5-mini").pipe(
 *   Layer.provide(OpenAiClient.layerConfig({ apiKey: Config.redacted("OPENAI_API_KEY") }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { hookedFetch } from "@effect-llm/core/ProviderCall"
import * as ProviderKit from "@effect-llm/core/ProviderKit"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import OpenAI from "openai"
import type { ClientOptions } from "openai"

/**
 * The default base URL of the OpenAI API.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.openai.com/v1"

/**
 * The SDK timeout used when none is given: one day. effect-llm's own timeout policies decide when a
 * call has taken too long; the SDK's timer is only a last resort (reported as `Timeout` phase `total`).
 *
 * Note that Node's built-in `fetch` (undici) has its own header and body timeouts of five minutes;
 * pass a `fetch` with a custom dispatcher for longer calls.
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
  readonly client: OpenAI
  readonly baseUrl: string
  readonly serverAddress: string
  readonly serverPort: number
  /** The SDK's own request timeout, in milliseconds (reported as `Timeout` phase `total`). */
  readonly timeoutMillis: number
  /** The API key, kept redacted: used only to scrub provider messages before they reach an error. */
  readonly apiKey: Redacted.Redacted
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
export class OpenAiClient extends Context.Tag("@effect-llm/openai/OpenAiClient")<OpenAiClient, Service>() {}

/**
 * The configuration is unusable (an empty API key, a base URL that is not an http(s) URL, a timeout
 * that is not positive). The API key itself is never part of the error.
 *
 * @since 0.1.0
 * @category errors
 */
export class OpenAiConfigError extends Schema.TaggedError<OpenAiConfigError>(
  "@effect-llm/openai/OpenAiClient/OpenAiConfigError"
)("OpenAiConfigError", { field: Schema.String, detail: Schema.String }) {
  override get message() {
    return `Invalid OpenAI client configuration: ${this.field} ${this.detail}`
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
  /**
   * Defaults to `https://api.openai.com/v1`. The SDK's `OPENAI_BASE_URL` is not read here: use
   * {@link layerConfig} for configuration from the environment.
   */
  readonly baseUrl?: string | undefined
  readonly organization?: string | undefined
  readonly project?: string | undefined
  readonly defaultHeaders?: Record<string, string> | undefined
  /** A `fetch` implementation for the SDK (defaults to the global one). */
  readonly fetch?: ClientOptions["fetch"] | undefined
  /** The SDK's own request timeout. Defaults to {@link defaultTimeout}. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The SDK's log level. Defaults to `"off"`: effect-llm reports every failure as a typed error. */
  readonly logLevel?: ClientOptions["logLevel"] | undefined
}

const invalid = (field: string, detail: string) => Effect.fail(new OpenAiConfigError({ field, detail }))

/**
 * The SDK client with one hook: `fetchWithTimeout` hands the SDK's per-request `AbortController` to
 * the effect-llm call that made the request, so that interrupting the call aborts the request
 * without passing an `AbortSignal` (which the SDK composes with `AbortSignal.any`, a cost of about
 * 10% of a call against a local server). It also ends the call's connect timer when the response
 * headers arrive.
 */
class HookedOpenAI extends OpenAI {
  override fetchWithTimeout(
    url: RequestInfo,
    init: RequestInit | undefined,
    ms: number,
    controller: AbortController
  ): Promise<Response> {
    return hookedFetch(init, controller, () => super.fetchWithTimeout(url, init, ms, controller))
  }
}
// the SDK names its `User-Agent` after the client's class: requests say `OpenAI/JS <version>` as the
// SDK's own do, not `HookedOpenAI/JS`
Object.defineProperty(HookedOpenAI, "name", { value: OpenAI.name })

const hookable = typeof (OpenAI.prototype as { fetchWithTimeout?: unknown }).fetchWithTimeout === "function"

const ServiceProto = {
  ...Inspectable.BaseProto,
  toJSON(this: Service) {
    return {
      _id: "@effect-llm/openai/OpenAiClient",
      baseUrl: this.baseUrl,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      timeoutMillis: this.timeoutMillis,
      apiKey: "<redacted>"
    }
  }
}

/**
 * Builds the service, validating the options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, OpenAiConfigError> =>
  Effect.suspend(() => {
    const settings = ProviderKit.clientSettings({
      apiKey: options.apiKey,
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      timeout: options.timeout,
      defaultTimeout
    })
    if (Either.isLeft(settings)) return invalid(settings.left.field, settings.left.detail)
    const { apiKey, baseUrl, serverAddress, serverPort, timeoutMillis } = settings.right
    if (options.organization !== undefined && options.organization.trim() === "") {
      return invalid("organization", "is empty")
    }
    if (options.project !== undefined && options.project.trim() === "") return invalid("project", "is empty")
    const clientOptions: ClientOptions = {
      apiKey,
      baseURL: baseUrl,
      organization: options.organization ?? null,
      project: options.project ?? null,
      maxRetries: 0,
      timeout: timeoutMillis,
      logLevel: options.logLevel ?? "off"
    }
    if (options.defaultHeaders !== undefined) clientOptions.defaultHeaders = options.defaultHeaders
    if (options.fetch !== undefined) clientOptions.fetch = options.fetch
    let client: OpenAI
    try {
      client = hookable ? new HookedOpenAI(clientOptions) : new OpenAI(clientOptions)
    } catch (error) {
      // the SDK's own checks (never includes the key)
      return invalid("client", error instanceof Error ? error.message : "could not be created")
    }
    const service: Service = Object.assign(Object.create(ServiceProto), {
      client,
      baseUrl,
      serverAddress,
      serverPort,
      timeoutMillis,
      apiKey: options.apiKey,
      hooked: hookable
    })
    return Effect.succeed(service)
  })

/**
 * The client as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<OpenAiClient, OpenAiConfigError> =>
  Layer.effect(OpenAiClient, make(options))

/**
 * Options of {@link layerConfig}: each one read from a `Config`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  /** Defaults to `Config.redacted("OPENAI_API_KEY")`. */
  readonly apiKey?: Config.Config<Redacted.Redacted> | undefined
  /** Defaults to `OPENAI_BASE_URL` when set, else `https://api.openai.com/v1`. */
  readonly baseUrl?: Config.Config<string | undefined> | undefined
  /** Defaults to `OPENAI_ORG_ID` when set. */
  readonly organization?: Config.Config<string | undefined> | undefined
  /** Defaults to `OPENAI_PROJECT_ID` when set. */
  readonly project?: Config.Config<string | undefined> | undefined
  readonly timeout?: Config.Config<Duration.Duration> | undefined
  readonly defaultHeaders?: Record<string, string> | undefined
  readonly fetch?: ClientOptions["fetch"] | undefined
  readonly logLevel?: ClientOptions["logLevel"] | undefined
}

const optionalString = (name: string): Config.Config<string | undefined> =>
  Config.map(Config.option(Config.string(name)), Option.getOrUndefined)

/**
 * The client as a layer whose API key (and optionally base URL, organization, project and timeout)
 * come from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<OpenAiClient, OpenAiConfigError | ConfigError.ConfigError> =>
  Layer.effect(
    OpenAiClient,
    Effect.gen(function*() {
      const apiKey = yield* (options.apiKey ?? Config.redacted("OPENAI_API_KEY"))
      const baseUrl = yield* (options.baseUrl ?? optionalString("OPENAI_BASE_URL"))
      const organization = yield* (options.organization ?? optionalString("OPENAI_ORG_ID"))
      const project = yield* (options.project ?? optionalString("OPENAI_PROJECT_ID"))
      const timeout = options.timeout === undefined ? undefined : yield* options.timeout
      return yield* make({
        apiKey,
        baseUrl,
        organization,
        project,
        timeout,
        defaultHeaders: options.defaultHeaders,
        fetch: options.fetch,
        logLevel: options.logLevel
      })
    })
  )
