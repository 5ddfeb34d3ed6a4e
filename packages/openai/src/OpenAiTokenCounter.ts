/**
 * Exact input-token counts from OpenAI's count-tokens endpoint (`POST /v1/responses/input_tokens`),
 * as a `Tokenizer.TokenCounter`: with it installed, `Tokenizer.count(input, target, { exact: true })`
 * for an `openai` target asks OpenAI instead of counting locally (and falls back to the local count
 * when the endpoint fails).
 *
 * The request is mapped exactly as `OpenAiLanguageModel` maps it for the Responses API: leading
 * system messages become `instructions`, the rest `input`, a JSON schema `text.format`. Failures are
 * errors of the taxonomy (`LlmError.ProviderError`), mapped as for a model call.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as Tokenizer from "@effect-llm/core/Tokenizer"
 * import { OpenAiClient, OpenAiTokenCounter } from "@effect-llm/openai"
 *
 * const TokenizerLive = OpenAiTokenCounter.layer.pipe(Layer.provide(OpenAiClient.layerConfig()))
 *
 * const program = Tokenizer.count(
 *   { messages: [{ role: "user", content: "How many tokens is this?" }] },
 *   { provider: "openai", model: "gpt-5-mini" },
 *   { exact: true }
 * ).pipe(Effect.provide(TokenizerLive))
 * ```
 *
 * @since 0.1.0
 */
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as LlmError from "@effect-llm/core/LlmError"
import * as Tokenizer from "@effect-llm/core/Tokenizer"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { InputTokenCountParams } from "openai/resources/responses/input-tokens"
import { fromUnknown, UnexpectedBody } from "./internal/errors.js"
import type { ModelOptions } from "./internal/options.js"
import * as Responses from "./internal/responses.js"
import { OpenAiClient } from "./OpenAiClient.js"
import type { Service as ClientService } from "./OpenAiClient.js"

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
   * The provider the counter serves (the `provider` of the targets it counts for, and of its errors).
   * Defaults to `"openai"`.
   */
  readonly provider?: string | undefined
}

/** The options the Responses body builder needs: nothing model-specific matters for the input. */
const bodyOptions = (provider: string): ModelOptions => ({
  api: "responses",
  provider,
  store: undefined,
  reasoningEffort: undefined,
  forwardUser: undefined,
  systemRole: "system",
  maxTokensField: "max_completion_tokens",
  streamUsage: false
})

/**
 * The count-tokens parameters of a request: the Responses body's `model`, `input`, `instructions`
 * and `text` (a JSON schema counts too).
 */
const toParams = (model: string, options: ModelOptions, request: GenerateRequest): InputTokenCountParams => {
  const body = Responses.toBody(model, options, request, false)
  const params: InputTokenCountParams = { model, input: body.input ?? null }
  if (body.instructions != null) params.instructions = body.instructions
  if (body.text != null) params.text = body.text
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
  const provider = options?.provider ?? "openai"
  const modelOptions = bodyOptions(provider)
  const apiKey = Redacted.value(client.apiKey)
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
          client.client.responses.inputTokens.count(toParams(model, modelOptions, request), { signal }).withResponse()
            .then(({ data, response }) => {
              const tokens = (data as { readonly input_tokens?: unknown } | null)?.input_tokens
              if (typeof tokens === "number" && Number.isFinite(tokens) && tokens >= 0) return tokens
              throw new NoCount(response.headers)
            }),
        catch: (error) => error
      }).pipe(
        Effect.catchAll((error) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const headers = error instanceof NoCount ? error.headers : undefined
            return Effect.fail(fromUnknown(error, {
              provider,
              model,
              requestId: headers?.get("x-request-id") ?? undefined,
              headers,
              now,
              timeoutMillis: client.timeoutMillis,
              apiKey
            }))
          })
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
export const make: Effect.Effect<TokenCounter, never, OpenAiClient> = Effect.map(
  OpenAiClient,
  (client) => fromClient(client)
)

/**
 * A `Tokenizer` whose exact counts for `openai` targets come from the count-tokens endpoint.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Tokenizer.Tokenizer, never, OpenAiClient> = Layer.unwrapEffect(
  Effect.map(make, (counter) => Tokenizer.layerWith({ counters: [counter] }))
)
