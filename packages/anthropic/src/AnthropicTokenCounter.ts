/**
 * Exact input-token counts from Anthropic's count-tokens endpoint (`POST /v1/messages/count_tokens`),
 * as a `Tokenizer.TokenCounter`: with it installed, `Tokenizer.count(input, target, { exact: true })`
 * for an `anthropic` target asks Anthropic instead of estimating locally (and falls back to the
 * local estimate when the endpoint fails).
 *
 * The request is mapped exactly as `AnthropicLanguageModel` maps it: system messages to `system`,
 * consecutive turns of one role merged, a JSON schema to `output_config.format` (or, with
 * `structuredOutput: "prompt"`, to an instruction in `system`). Failures are errors of the taxonomy
 * (`LlmError.ProviderError`), mapped as for a model call.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as Tokenizer from "@effect-llm/core/Tokenizer"
 * import { AnthropicClient, AnthropicTokenCounter } from "@effect-llm/anthropic"
 *
 * const TokenizerLive = AnthropicTokenCounter.layer.pipe(Layer.provide(AnthropicClient.layerConfig()))
 *
 * const program = Tokenizer.count(
 *   { messages: [{ role: "user", content: "How many tokens is this?" }] },
 *   { provider: "anthropic", model: "claude-haiku-4-5" },
 *   { exact: true }
 * ).pipe(Effect.provide(TokenizerLive))
 * ```
 *
 * @since 0.1.0
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as LlmError from "@effect-llm/core/LlmError"
import * as Tokenizer from "@effect-llm/core/Tokenizer"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AnthropicClient } from "./AnthropicClient.js"
import type { Service as ClientService } from "./AnthropicClient.js"
import { fromUnknown, UnexpectedBody } from "./internal/errors.js"
import { type ModelOptions, toParams } from "./internal/messages.js"

/**
 * A token counter whose failures are typed errors of the taxonomy.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenCounter extends Tokenizer.TokenCounter {
  readonly countTokens: (request: GenerateRequest, model: string) => Effect.Effect<number, LlmError.ProviderError>
}

/**
 * Options of {@link fromClient}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How JSON answers with a schema are asked for, as in `AnthropicLanguageModel` (the prompt
   * instruction of `"prompt"` counts as input). Defaults to `"native"`.
   */
  readonly structuredOutput?: "native" | "prompt" | undefined
}

/** The provider name, as in `gen_ai.provider.name`. */
const provider = "anthropic"

/** The count-tokens parameters of a request: the Messages parameters without `max_tokens` and `stop_sequences`. */
const toCountParams = (
  model: string,
  options: ModelOptions,
  request: GenerateRequest
): Anthropic.MessageCountTokensParams => {
  const full = toParams(model, options, request)
  const params: Anthropic.MessageCountTokensParams = { model, messages: full.messages }
  if (full.system !== undefined) params.system = full.system
  if (full.output_config !== undefined) params.output_config = full.output_config
  return params
}

/** A 200 answer without a count (keeps the headers, for the request id). */
class NoCount extends UnexpectedBody {
  constructor(readonly headers: Headers) {
    super("the count-tokens answer has no input_tokens")
  }
}

/**
 * A counter over a client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient = (client: ClientService, options?: Options): TokenCounter => {
  // `max_tokens` is not sent: any value does
  const modelOptions: ModelOptions = { maxTokens: 1, structuredOutput: options?.structuredOutput ?? "native" }
  const attributes = {
    "gen_ai.operation.name": "count_tokens",
    "gen_ai.provider.name": provider,
    "server.address": client.serverAddress,
    "server.port": client.serverPort
  }
  return {
    provider,
    countTokens: (request, model) =>
      Effect.tryPromise({
        try: (signal) =>
          client.client.messages.countTokens(toCountParams(model, modelOptions, request), { signal }).withResponse()
            .then(({ data, response }) => {
              const tokens = (data as { readonly input_tokens?: unknown } | null)?.input_tokens
              if (typeof tokens === "number" && Number.isFinite(tokens) && tokens >= 0) return tokens
              throw new NoCount(response.headers)
            }),
        catch: (error) => error
      }).pipe(
        Effect.catchAll((error) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.fail(fromUnknown(error, {
              provider,
              model,
              requestId: error instanceof NoCount ? error.headers.get("request-id") ?? undefined : undefined,
              now,
              timeoutMillis: client.timeoutMillis
            })))
        ),
        Effect.withSpan(`count_tokens ${model}`, {
          kind: "client",
          attributes: { ...attributes, "gen_ai.request.model": model }
        })
      )
  }
}

/**
 * A counter over the client in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TokenCounter, never, AnthropicClient> = Effect.map(
  AnthropicClient,
  (client) => fromClient(client)
)

/**
 * A `Tokenizer` whose exact counts for `anthropic` targets come from the count-tokens endpoint.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Tokenizer.Tokenizer, never, AnthropicClient> = Layer.unwrapEffect(
  Effect.map(make, (counter) => Tokenizer.layerWith({ counters: [counter] }))
)
