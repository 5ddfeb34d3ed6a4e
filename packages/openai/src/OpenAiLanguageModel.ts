/**
 * OpenAI models over the official `openai` SDK: the Responses API by default, and a Chat Completions
 * mode for OpenAI-compatible endpoints (`api: "chat-completions"`).
 *
 * - Responses: leading system messages become `instructions`, `maxOutputTokens` becomes
 *   `max_output_tokens`, JSON answers use `text.format`. The Responses API has no `stop` and no
 *   `seed`: they are not sent.
 * - Chat Completions: system messages keep their place (`system`, or `developer` with `systemRole`),
 *   `maxOutputTokens` becomes `max_completion_tokens` (or `max_tokens`), `stop`, `seed` and
 *   `response_format` are sent; streams ask for the final usage chunk.
 * - `user` (who pays, in effect-llm) is not sent unless `forwardUser` says how (as
 *   `safety_identifier`, or the older `user`): it is often personal data.
 * - The request id (`x-request-id`), the `x-ratelimit-*` headers, usage (cached and reasoning tokens
 *   included) and the served model are on every `Completion`.
 * - Every failure is one error of the taxonomy (`LlmError.ProviderError`); interrupting a call or a
 *   stream aborts its HTTP request.
 * - The `connect` timeout of `Timeout.withTimeouts` (`Timeout.currentConnectTimeout`) is supported:
 *   when the response headers are late, the request is aborted and the call fails with
 *   `Timeout { phase: "connect" }`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 * import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
 *
 * const Gpt = OpenAiLanguageModel.model("gpt-5-mini").pipe(Layer.provide(OpenAiClient.layerConfig()))
 *
 * const program = LanguageModel.generate({ messages: [{ role: "user", content: "Hello!" }] }).pipe(
 *   Effect.provide(Gpt)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import type * as LlmError from "@effect-llm/core/LlmError"
import type { Call } from "@effect-llm/core/ProviderCall"
import * as ProviderRequest from "@effect-llm/core/ProviderRequest"
import * as ProviderStream from "@effect-llm/core/ProviderStream"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Telemetry from "@effect-llm/core/Telemetry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { APIPromise } from "openai"
import type OpenAI from "openai"
import type { ChatCompletionChunk } from "openai/resources/chat/completions/completions"
import type { ResponseStreamEvent } from "openai/resources/responses/responses"
import type { ReasoningEffort } from "openai/resources/shared"
import * as Chat from "./internal/chat.js"
import { type CallInfo, isFiltered, type Outcome } from "./internal/completion.js"
import { type ErrorContext, fromUnknown } from "./internal/errors.js"
import type { ModelOptions } from "./internal/options.js"
import * as Responses from "./internal/responses.js"
import { OpenAiClient } from "./OpenAiClient.js"
import type { Service as ClientService } from "./OpenAiClient.js"

/**
 * The provider name, as in `gen_ai.provider.name`.
 *
 * @since 0.1.0
 * @category constants
 */
export const provider = "openai"

/**
 * Options of a model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Which API to speak. Defaults to `"responses"`; use `"chat-completions"` for OpenAI-compatible endpoints. */
  readonly api?: "responses" | "chat-completions" | undefined
  /**
   * The provider name on completions, errors and spans (`gen_ai.provider.name`). Defaults to
   * `"openai"`; set it when the base URL is another vendor's OpenAI-compatible endpoint.
   */
  readonly provider?: string | undefined
  /** `store` (Responses; Chat Completions when supported). Not sent by default (the API's default applies). */
  readonly store?: boolean | undefined
  /** `reasoning.effort` (Responses) / `reasoning_effort` (Chat Completions), for reasoning models. */
  readonly reasoningEffort?: ReasoningEffort | undefined
  /**
   * Send the request's `user` to OpenAI, as `safety_identifier` (recommended by OpenAI; hash it if it
   * is personal data) or as the older `user` field. Not sent by default.
   */
  readonly forwardUser?: "safety_identifier" | "user" | undefined
  /** Chat Completions: the role of system messages. Defaults to `"system"`. */
  readonly systemRole?: "system" | "developer" | undefined
  /**
   * Chat Completions: the field `maxOutputTokens` is sent as. Defaults to `"max_completion_tokens"`;
   * some older compatible servers only know `"max_tokens"`.
   */
  readonly maxTokensField?: "max_completion_tokens" | "max_tokens" | undefined
  /** Chat Completions: ask for the final usage chunk of a stream. Defaults to `true`. */
  readonly streamUsage?: boolean | undefined
}

const resolveOptions = (options: Options | undefined): ModelOptions => ({
  api: options?.api ?? "responses",
  provider: options?.provider ?? provider,
  store: options?.store,
  reasoningEffort: options?.reasoningEffort,
  forwardUser: options?.forwardUser,
  systemRole: options?.systemRole ?? "system",
  maxTokensField: options?.maxTokensField ?? "max_completion_tokens",
  streamUsage: options?.streamUsage ?? true
})

interface StreamState<Event> {
  readonly text: string
  event(event: Event): string | undefined
  outcome(info: CallInfo, headers: Headers, now: number): Outcome
}

/** What differs between the two APIs. */
interface Api<Event> {
  readonly body: (model: string, options: ModelOptions, request: GenerateRequest, stream: boolean) => unknown
  /** Sends the request: the SDK's promise (`asResponse` for `generate`, `withResponse` for a stream). */
  readonly create: (client: OpenAI, body: unknown, options: ReturnType<Call["options"]>) => APIPromise<unknown>
  readonly parse: (info: CallInfo, data: unknown, headers: Headers, now: number) => Outcome
  readonly state: () => StreamState<Event>
}

const responsesApi: Api<ResponseStreamEvent> = {
  body: Responses.toBody,
  create: (client, body, options) => client.responses.create(body as never, options as never),
  parse: Responses.fromResponse,
  state: () => new Responses.StreamState()
}

const chatApi: Api<ChatCompletionChunk> = {
  body: Chat.toBody,
  create: (client, body, options) => client.chat.completions.create(body as never, options as never),
  parse: Chat.fromCompletion,
  state: () => new Chat.StreamState()
}

const apiOf = (options: ModelOptions): Api<unknown> =>
  (options.api === "chat-completions" ? chatApi : responsesApi) as Api<unknown>

const errorContext = (
  client: ClientService,
  providerName: string,
  model: string,
  headers: Headers | undefined,
  now: number
): ErrorContext => ({
  provider: providerName,
  model,
  requestId: headers?.get("x-request-id") ?? undefined,
  headers,
  now,
  timeoutMillis: client.timeoutMillis,
  apiKey: Redacted.value(client.apiKey)
})

const callInfo = (
  client: ClientService,
  options: ModelOptions,
  model: string,
  request: GenerateRequest
): Telemetry.CallInfo => ({
  provider: options.provider,
  model,
  request,
  serverAddress: client.serverAddress,
  serverPort: client.serverPort
})

/**
 * `generate` for one model: the error mapping and the request's sending are made once, and read
 * the call from the request they are given (no closure per call).
 */
const generator = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  api: Api<unknown>
): (request: GenerateRequest) => Effect.Effect<Completion, LlmError.ProviderError> => {
  const providerName = options.provider
  const toError: ProviderRequest.ToError = (error, headers, now, call) =>
    fromUnknown(error, errorContext(client, providerName, call.model, headers, now))
  const send = (pending: ProviderRequest.Request) => {
    const model = pending.info.model
    const body = api.body(model, options, pending.info.request, false)
    const info: CallInfo = { provider: providerName, model, started: pending.started }
    // `asResponse` and the body read here (not `withResponse`): the headers arrive first, so a body
    // that breaks off still fails with its request id, and no second promise chain parses it
    api.create(client.client, body, pending.call.options(client.hooked)).asResponse().then(
      (response) => {
        pending.call.headersArrived()
        const headers = response.headers
        response.json().then(
          (data: unknown) => {
            let outcome: Outcome
            try {
              outcome = api.parse(info, data, headers, pending.now())
            } catch (error) {
              return pending.fail(error, headers)
            }
            if (isFiltered(outcome)) pending.failWith(outcome)
            else pending.succeed(outcome)
          },
          (error) => pending.fail(error, headers)
        )
      },
      (error) => pending.fail(error, undefined)
    )
  }
  return (request) =>
    ProviderRequest.run(callInfo(client, options, request.model ?? defaultModel, request), toError, send)
}

/** One streamed request: its call info and a maker of its `Source` (one per run). */
const streamCall = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  api: Api<unknown>,
  request: GenerateRequest
) => {
  const model = request.model ?? defaultModel
  const body = api.body(model, options, request, true)
  const providerName = options.provider
  const source = (): ProviderStream.Source => {
    const state = api.state()
    return {
      open: (call) =>
        api.create(client.client, body, call.options(client.hooked)).withResponse().then((result) => ({
          headers: result.response.headers,
          events: result.data
        })),
      event: (event) => state.event(event),
      end: (headers, started, now) => state.outcome({ provider: providerName, model, started }, headers, now),
      text: () => state.text,
      toError: (error, headers, now) => fromUnknown(error, errorContext(client, providerName, model, headers, now))
    }
  }
  return { info: callInfo(client, options, model, request), source }
}

const streamWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  api: Api<unknown>,
  request: GenerateRequest
): Stream.Stream<StreamEvent.StreamEvent, LlmError.ProviderError> => {
  const { info, source } = streamCall(client, defaultModel, options, api, request)
  return ProviderStream.make(info, source)
}

const streamEachWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  api: Api<unknown>,
  request: GenerateRequest,
  onEvent: LanguageModel.OnEvent
): Effect.Effect<Completion, LlmError.ProviderError> => {
  const { info, source } = streamCall(client, defaultModel, options, api, request)
  return ProviderStream.run(info, source(), onEvent)
}

/**
 * A model over a client you already have (the {@link model} layer uses this once it has the client).
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
  const api = apiOf(resolved)
  return LanguageModel.make({
    provider: resolved.provider,
    model,
    generate: generator(client, model, resolved, api),
    stream: (request) => streamWith(client, model, resolved, api, request),
    streamEach: (request, onEvent) => streamEachWith(client, model, resolved, api, request, onEvent),
    enforcesDeadlines: true
  })
}

/**
 * A model whose calls take the client from the context. Compose policies on it, then provide the
 * `OpenAiClient` (or use {@link model} for a layer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (model: string, options?: Options): LanguageModel.With<LlmError.ProviderError, OpenAiClient> => {
  const resolved = resolveOptions(options)
  const api = apiOf(resolved)
  return LanguageModel.make({
    provider: resolved.provider,
    model,
    generate: (request) => Effect.flatMap(OpenAiClient, (client) => generator(client, model, resolved, api)(request)),
    stream: (request) =>
      Stream.unwrap(Effect.map(OpenAiClient, (client) => streamWith(client, model, resolved, api, request))),
    streamEach: (request, onEvent) =>
      Effect.flatMap(OpenAiClient, (client) => streamEachWith(client, model, resolved, api, request, onEvent)),
    enforcesDeadlines: true
  })
}

/**
 * The `LanguageModel` layer for one OpenAI model. The client is taken once, when the layer is built,
 * so calls pay no context lookup.
 *
 * @since 0.1.0
 * @category layers
 */
export const model = (name: string, options?: Options): Layer.Layer<LanguageModel.LanguageModel, never, OpenAiClient> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(OpenAiClient, (client): LanguageModel.Service => fromClient(client, name, options))
  )
