/**
 * Anthropic models over the Messages API of the official `@anthropic-ai/sdk`.
 *
 * - System messages become `system`; consecutive turns of one role are merged (the API wants user
 *   and assistant to alternate).
 * - `max_tokens` is required by Anthropic: `maxOutputTokens`, else the `maxTokens` option, else a
 *   per-model default (4096 for Claude 3, 8192 for Claude 3.5, 16384 otherwise).
 * - `generate` with a `max_tokens` above 21,333 (where the SDK asks for streaming) streams under
 *   the hood and returns one `Completion`.
 * - `responseFormat: { type: "json", schema }` with an object schema uses the API's structured
 *   output (`output_config.format`); without a schema, or with `structuredOutput: "prompt"`, the
 *   JSON is asked for in the system prompt. Not sent: `seed` (Anthropic has none) and
 *   `temperature` / `topP` (the Messages API of `@anthropic-ai/sdk` 1.x has no sampling parameters).
 * - Every failure is one error of the taxonomy; interrupting a call aborts its HTTP request.
 * - The `connect` timeout of `Timeout.withTimeouts` (`Timeout.currentConnectTimeout`) is supported:
 *   when the response headers are late, the request is aborted and the call fails with
 *   `Timeout { phase: "connect" }`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 * import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
 *
 * const Claude = AnthropicLanguageModel.model("claude-haiku-4-5").pipe(
 *   Layer.provide(AnthropicClient.layerConfig())
 * )
 *
 * const program = LanguageModel.generate({ messages: [{ role: "user", content: "Hello!" }] }).pipe(
 *   Effect.provide(Claude)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import * as LlmError from "@effect-llm/core/LlmError"
import type { Call } from "@effect-llm/core/ProviderCall"
import * as ProviderRequest from "@effect-llm/core/ProviderRequest"
import * as ProviderStream from "@effect-llm/core/ProviderStream"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Telemetry from "@effect-llm/core/Telemetry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { AnthropicClient } from "./AnthropicClient.js"
import type { Service as ClientService } from "./AnthropicClient.js"
import { fromUnknown, IncompleteStream, UnexpectedBody } from "./internal/errors.js"
import type { ErrorContext } from "./internal/errors.js"
import {
  type CallInfo,
  fromMessage,
  type ModelOptions,
  type MutableCompletion,
  streamingThreshold,
  StreamState,
  toParams
} from "./internal/messages.js"

/**
 * The provider name, as in `gen_ai.provider.name`.
 *
 * @since 0.1.0
 * @category constants
 */
export const provider = "anthropic"

/**
 * Options of a model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `max_tokens` when a request gives no `maxOutputTokens`. Defaults to a per-model value. */
  readonly maxTokens?: number | undefined
  /**
   * How JSON answers with a schema are asked for: `"native"` (the default) uses the API's structured
   * output (`output_config.format`) for object schemas; `"prompt"` describes the schema in the system
   * prompt (for models without structured output).
   */
  readonly structuredOutput?: "native" | "prompt" | undefined
}

const resolveOptions = (options: Options | undefined): ModelOptions => ({
  maxTokens: options?.maxTokens,
  structuredOutput: options?.structuredOutput ?? "native"
})

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

const errorContext = (
  client: ClientService,
  model: string,
  headers: Headers | undefined,
  now: number
): ErrorContext => ({
  provider,
  model,
  requestId: headers?.get("request-id") ?? undefined,
  now,
  timeoutMillis: client.timeoutMillis
})

/**
 * The `ContentFiltered` of a completion the provider stopped for its content (a refusal,
 * `stop_reason: "refusal"`, is a `ContentFiltered` failure, not an answer), if it did.
 */
const filteredOf = (completion: Mutable<Completion>): LlmError.ContentFiltered | undefined =>
  completion.finishReason !== "content-filter" ? undefined : new LlmError.ContentFiltered({
    provider: completion.provider,
    model: completion.model,
    ...(completion.requestId !== undefined ? { requestId: completion.requestId } : {}),
    stage: "output",
    ...(completion.text !== "" ? { refusal: completion.text } : {})
  })

const callInfo = (client: ClientService, model: string, request: GenerateRequest): Telemetry.CallInfo => ({
  provider,
  model,
  request,
  serverAddress: client.serverAddress,
  serverPort: client.serverPort
})

/** Reads one stream event into `state` (its text, if any); an event it cannot read is `UnexpectedBody`. */
const readEvent = (state: StreamState, event: Anthropic.RawMessageStreamEvent): string | undefined => {
  try {
    return state.event(event)
  } catch {
    throw new UnexpectedBody("a stream event is not a Messages API event")
  }
}

/** `generate` over the streaming endpoint, for a large `max_tokens`. */
const collectStream = async (
  client: ClientService,
  params: Anthropic.MessageCreateParamsNonStreaming,
  call: Call,
  state: StreamState,
  holder: { headers: Headers | undefined }
): Promise<Headers> => {
  const { data, response } = await client.client.messages.create(
    { ...params, stream: true },
    call.options(client.hooked)
  ).withResponse()
  call.headersArrived()
  holder.headers = response.headers
  for await (const event of data) readEvent(state, event)
  if (!state.stopped) throw new IncompleteStream()
  return response.headers
}

/** Settles a request with its completion, or the `ContentFiltered` failure it turned out to be. */
const settle = (pending: ProviderRequest.Request, completion: MutableCompletion): void => {
  const filtered = filteredOf(completion)
  if (filtered !== undefined) pending.failWith(filtered)
  else pending.succeed(completion)
}

/**
 * `generate` for one model: the error mapping and the request's sending are made once, and read
 * the call from the request they are given (no closure per call).
 */
const generator = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions
): (request: GenerateRequest) => Effect.Effect<Completion, LlmError.ProviderError> => {
  const toError: ProviderRequest.ToError = (error, headers, now, call) =>
    fromUnknown(error, errorContext(client, call.model, headers, now))
  const send = (pending: ProviderRequest.Request) => {
    const model = pending.info.model
    const params = toParams(model, options, pending.info.request)
    const info: CallInfo = { provider, model, started: pending.started }
    if (params.max_tokens > streamingThreshold) {
      const state = new StreamState()
      const holder: { headers: Headers | undefined } = { headers: undefined }
      collectStream(client, params, pending.call, state, holder).then(
        (headers) => settle(pending, state.completion(info, headers, pending.now())),
        (error) => pending.fail(error, holder.headers)
      )
      return
    }
    // `asResponse` (not `withResponse`): the headers arrive first, so a body that breaks off
    // still fails with its request id, and the body is read without the SDK's second promise
    client.client.messages.create(params, pending.call.options(client.hooked)).asResponse().then(
      (response) => {
        pending.call.headersArrived()
        const headers = response.headers
        response.json().then(
          (data: unknown) => {
            const now = pending.now()
            let completion: MutableCompletion
            try {
              completion = fromMessage(info, data, headers, now)
            } catch (error) {
              return pending.failWith(fromUnknown(error, errorContext(client, model, headers, now)))
            }
            settle(pending, completion)
          },
          (error) => pending.fail(error, headers)
        )
      },
      (error) => pending.fail(error, undefined)
    )
  }
  return (request) => ProviderRequest.run(callInfo(client, request.model ?? defaultModel, request), toError, send)
}

/** One streamed request: its call info and a maker of its `Source` (one per run). */
const streamCall = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  request: GenerateRequest
) => {
  const model = request.model ?? defaultModel
  const params: Anthropic.MessageCreateParamsStreaming = { ...toParams(model, options, request), stream: true }
  const source = (): ProviderStream.Source => {
    const state = new StreamState()
    return {
      open: (call) =>
        client.client.messages.create(params, call.options(client.hooked)).withResponse().then((result) => ({
          headers: result.response.headers,
          events: result.data
        })),
      event: (event) => readEvent(state, event as Anthropic.RawMessageStreamEvent),
      end: (headers, started, now) => {
        if (!state.stopped) throw new IncompleteStream()
        const completion = state.completion({ provider, model, started }, headers, now)
        return filteredOf(completion) ?? completion
      },
      text: () => state.text,
      toError: (error, headers, now) => fromUnknown(error, errorContext(client, model, headers, now))
    }
  }
  return { info: callInfo(client, model, request), source }
}

const streamWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  request: GenerateRequest
): Stream.Stream<StreamEvent.StreamEvent, LlmError.ProviderError> => {
  const { info, source } = streamCall(client, defaultModel, options, request)
  return ProviderStream.make(info, source)
}

const streamEachWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  request: GenerateRequest,
  onEvent: LanguageModel.OnEvent
): Effect.Effect<Completion, LlmError.ProviderError> => {
  const { info, source } = streamCall(client, defaultModel, options, request)
  return ProviderStream.run(info, source(), onEvent)
}

/**
 * A model over a client you already have (the `model` layer uses this once it has the client).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient = (
  client: ClientService,
  model: string,
  options?: Options
): LanguageModel.With<LlmError.ProviderError> => {
  const resolved = resolveOptions(options)
  return LanguageModel.make({
    provider,
    model,
    generate: generator(client, model, resolved),
    stream: (request) => streamWith(client, model, resolved, request),
    streamEach: (request, onEvent) => streamEachWith(client, model, resolved, request, onEvent),
    enforcesDeadlines: true
  })
}

/**
 * A model whose calls take the client from the context. Compose policies on it, then provide the
 * `AnthropicClient` (or use {@link model} for a layer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  model: string,
  options?: Options
): LanguageModel.With<LlmError.ProviderError, AnthropicClient> => {
  const resolved = resolveOptions(options)
  return LanguageModel.make({
    provider,
    model,
    generate: (request) => Effect.flatMap(AnthropicClient, (client) => generator(client, model, resolved)(request)),
    stream: (request) =>
      Stream.unwrap(Effect.map(AnthropicClient, (client) => streamWith(client, model, resolved, request))),
    streamEach: (request, onEvent) =>
      Effect.flatMap(AnthropicClient, (client) => streamEachWith(client, model, resolved, request, onEvent)),
    enforcesDeadlines: true
  })
}

/**
 * The `LanguageModel` layer for one Anthropic model. The client is taken once, when the layer is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const model = (
  name: string,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, AnthropicClient> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(AnthropicClient, (client): LanguageModel.Service => fromClient(client, name, options))
  )
