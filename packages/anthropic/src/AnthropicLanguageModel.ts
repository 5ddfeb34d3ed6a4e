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
import { Call, deadlinesIn } from "@effect-llm/core/ProviderCall"
import * as ProviderRequest from "@effect-llm/core/ProviderRequest"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Telemetry from "@effect-llm/core/Telemetry"
import * as Timeout from "@effect-llm/core/Timeout"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { AnthropicClient } from "./AnthropicClient.js"
import type { Service as ClientService } from "./AnthropicClient.js"
import { fromUnknown, IncompleteStream, interrupted, UnexpectedBody } from "./internal/errors.js"
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

/** A refusal (`stop_reason: "refusal"`) is a `ContentFiltered` failure, not an answer. */
/** The `ContentFiltered` of a completion the provider stopped for its content, if it did. */
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
  for await (const event of data) {
    try {
      state.event(event)
    } catch {
      throw new UnexpectedBody("a stream event is not a Messages API event")
    }
  }
  if (!state.stopped) throw new IncompleteStream()
  return response.headers
}

const generateWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  request: GenerateRequest
): Effect.Effect<Completion, LlmError.ProviderError> => {
  const model = request.model ?? defaultModel
  const params = toParams(model, options, request)
  const useStream = params.max_tokens > streamingThreshold
  return ProviderRequest.run(
    callInfo(client, model, request),
    (error, headers, now) => fromUnknown(error, errorContext(client, model, headers, now)),
    (pending) => {
      const info: CallInfo = { provider, model, started: pending.started }
      const settle = (completion: MutableCompletion) => {
        const filtered = filteredOf(completion)
        if (filtered !== undefined) pending.failWith(filtered)
        else pending.succeed(completion)
      }
      if (useStream) {
        const state = new StreamState()
        const holder: { headers: Headers | undefined } = { headers: undefined }
        collectStream(client, params, pending.call, state, holder).then(
          (headers) => settle(state.completion(info, headers, pending.now())),
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
              settle(completion)
            },
            (error) => pending.fail(error, headers)
          )
        },
        (error) => pending.fail(error, undefined)
      )
    }
  )
}

type Pull = Effect.Effect<Option.Option<readonly [Chunk.Chunk<StreamEvent.StreamEvent>, void]>, LlmError.ProviderError>

const end: Pull = Effect.succeed(Option.none())

/**
 * One streamed call: opens the request on the first pull, then reads one text delta per pull. The
 * pulls have no canceler of their own: the stream's `release` (run on interruption, early exit and
 * completion alike) aborts the request unless the answer is complete.
 */
class StreamCall {
  readonly state = new StreamState()
  readonly call = new Call()
  info: CallInfo
  clock: Clock.Clock | undefined = undefined
  /** The connect timeout in force (read on the first pull). */
  connect: Duration.Duration | undefined = undefined
  iterator: AsyncIterator<Anthropic.RawMessageStreamEvent> | undefined = undefined
  headers: Headers | undefined = undefined
  seenToken = false
  done = false
  readonly pull: Pull
  /**
   * The first pull reads the Clock (for the attempt duration and rate-limit resets) and the connect
   * timeout.
   */
  readonly first: Pull
  /** The request's span and metrics (started on the first pull). */
  attempt: Telemetry.Attempt | undefined = undefined

  constructor(
    readonly client: ClientService,
    readonly model: string,
    readonly params: Anthropic.MessageCreateParamsStreaming,
    readonly traced: Telemetry.CallInfo
  ) {
    this.info = { provider, model, started: 0 }
    this.pull = Effect.async((resume) => {
      if (this.done) return resume(end)
      this.call.waitWithin(this.clock!.unsafeCurrentTimeMillis(), this.seenToken ? "next" : "first")
      if (this.iterator === undefined) this.open(resume)
      else this.next(resume)
    })
    this.first = Effect.withFiberRuntime((fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      this.clock = clock
      this.attempt = Telemetry.startAttempt(fiber, traced, true)
      this.connect = this.call.start(
        deadlinesIn(fiber.currentContext),
        fiber.getFiberRef(Timeout.currentConnectTimeout)
      )
      this.info = { provider, model, started: clock.unsafeCurrentTimeMillis() }
      return this.pull
    })
  }

  readonly step = (): Pull => this.clock === undefined ? this.first : this.pull

  open(resume: (effect: Pull) => void) {
    try {
      this.client.client.messages.create(this.params, this.call.options(this.client.hooked)).withResponse().then(
        (result) => {
          this.call.headersArrived()
          this.headers = result.response.headers
          this.iterator = result.data[Symbol.asyncIterator]()
          this.next(resume)
        },
        (error) => this.fail(resume, error)
      )
    } catch (error) {
      this.fail(resume, error)
    }
  }

  next(resume: (effect: Pull) => void) {
    this.iterator!.next().then(
      (result) => this.onResult(resume, result),
      (error) => this.fail(resume, error)
    )
  }

  onResult(resume: (effect: Pull) => void, result: IteratorResult<Anthropic.RawMessageStreamEvent>) {
    // the SDK ends its event iterator quietly when the request is aborted (a deadline passed)
    if (this.call.aborted) return this.fail(resume, new IncompleteStream())
    if (result.done === true) {
      if (!this.state.stopped) return this.fail(resume, new IncompleteStream())
      this.call.waitEnded()
      this.done = true
      const completion = this.state.completion(this.info, this.headers!, this.clock!.unsafeCurrentTimeMillis())
      const attempt = this.attempt!
      attempt.chunk()
      const filtered = filteredOf(completion)
      if (filtered !== undefined) {
        attempt.fail(filtered)
        return resume(Effect.fail(filtered))
      }
      attempt.succeed(completion)
      return resume(Effect.succeed(Option.some([Chunk.of(StreamEvent.finish(completion)), undefined] as const)))
    }
    let text: string | undefined
    try {
      text = this.state.event(result.value)
    } catch {
      return this.fail(resume, new UnexpectedBody("a stream event is not a Messages API event"))
    }
    if (text === undefined || text === "") return this.next(resume)
    this.call.waitEnded()
    this.attempt!.chunk()
    const chunk: Pull = Effect.succeed(Option.some([Chunk.of(StreamEvent.textDelta(text)), undefined] as const))
    const firstEvent = this.seenToken ? undefined : this.call.deadlines?.firstEvent
    this.seenToken = true
    resume(firstEvent === undefined ? chunk : Effect.zipRight(firstEvent(this.clock!.unsafeCurrentTimeMillis()), chunk))
  }

  fail(resume: (effect: Pull) => void, error: unknown) {
    this.done = true
    this.call.settled()
    const failure = this.call.timeout(provider, this.model, this.connect) ?? this.failure(error)
    this.attempt!.fail(failure)
    resume(Effect.fail(failure))
  }

  failure(error: unknown): LlmError.ProviderError {
    const underlying = fromUnknown(
      error,
      errorContext(this.client, this.model, this.headers, this.clock!.unsafeCurrentTimeMillis())
    )
    return this.seenToken ? interrupted(underlying, this.state.text) : underlying
  }

  /**
   * Runs when the stream ends for any reason: aborts the request unless the answer is complete, and
   * ends the attempt of a stream left early or interrupted.
   */
  readonly release = (exit: Exit.Exit<unknown, unknown>) =>
    Effect.sync(() => {
      if (!this.state.stopped) this.call.abort()
      this.attempt?.close(exit)
    })
}

const streamWith = (
  client: ClientService,
  defaultModel: string,
  options: ModelOptions,
  request: GenerateRequest
): Stream.Stream<StreamEvent.StreamEvent, LlmError.ProviderError> => {
  const model = request.model ?? defaultModel
  const params: Anthropic.MessageCreateParamsStreaming = { ...toParams(model, options, request), stream: true }
  const traced = callInfo(client, model, request)
  // the request's span and metrics are recorded by the pulls themselves (no stream nodes for them)
  return Stream.suspend(() => {
    const call = new StreamCall(client, model, params, traced)
    return Stream.ensuringWith(Stream.unfoldChunkEffect(undefined, call.step), call.release)
  })
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
    generate: (request) => generateWith(client, model, resolved, request),
    stream: (request) => streamWith(client, model, resolved, request),
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
    generate: (request) => Effect.flatMap(AnthropicClient, (client) => generateWith(client, model, resolved, request)),
    stream: (request) =>
      Stream.unwrap(Effect.map(AnthropicClient, (client) => streamWith(client, model, resolved, request))),
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
