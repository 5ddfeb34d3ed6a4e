/**
 * One provider request of a `stream` call: the part every adapter shares. The request opens on the
 * first pull; each pull reads events until one carries text (one `TextDelta` per pull), then the
 * end of the events gives the `Finish`. Each pull's wait is armed with the deadlines of `Timeout`
 * (`ProviderCall.CurrentDeadlines`) and the connect timeout; the telemetry attempt is recorded from
 * the pulls (time to first chunk, completion or failure, early exit); a failure after the first
 * text is `StreamInterrupted` with the partial text; leaving the stream before its end aborts the
 * request. The adapter says how to send the request and read its events (`Source`).
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Completion } from "./Completion.js"
import * as LlmError from "./LlmError.js"
import { Call, deadlinesIn } from "./ProviderCall.js"
import type { ToError } from "./ProviderRequest.js"
import * as StreamEvent from "./StreamEvent.js"
import * as Telemetry from "./Telemetry.js"
import { currentConnectTimeout } from "./Timeout.js"

/**
 * How an adapter sends one streamed request and reads it (one per stream: it may hold state).
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  /** Sends the request with the call's SDK options (`call.options(...)`); resolves with the headers. */
  readonly open: (call: Call) => Promise<{ readonly headers: Headers; readonly events: unknown }>
  /** Reads one event: the text it carries, if any. Throws on an event it cannot read. */
  readonly event: (event: unknown) => string | undefined
  /**
   * The answer once the events have ended: its completion, or the error it is (a content filter).
   * Throws when the answer is incomplete.
   */
  readonly end: (headers: Headers, started: number, now: number) => Completion | LlmError.ProviderError
  /** The text received so far. */
  readonly text: () => string
  /** Maps what the SDK threw to the taxonomy. */
  readonly toError: ToError
}

/**
 * The error of a stream cut after some text: `StreamInterrupted`, with the text and the cause.
 *
 * @since 0.1.0
 * @category errors
 */
export const interrupted = (underlying: LlmError.ProviderError, partialText: string): LlmError.StreamInterrupted => {
  const detail = "detail" in underlying && typeof underlying.detail === "string"
    ? `${underlying._tag}: ${underlying.detail}`
    : underlying._tag
  return new LlmError.StreamInterrupted({
    provider: underlying.provider,
    model: underlying.model,
    ...(underlying.requestId !== undefined ? { requestId: underlying.requestId } : {}),
    partialText,
    detail
  })
}

type Pull = Effect.Effect<Option.Option<readonly [Chunk.Chunk<StreamEvent.StreamEvent>, void]>, LlmError.ProviderError>

const end: Pull = Effect.succeed(Option.none())

const isError = (value: Completion | LlmError.ProviderError): value is LlmError.ProviderError => "_tag" in value

class StreamCall {
  readonly call = new Call()
  clock: Clock.Clock = undefined as unknown as Clock.Clock
  started = 0
  /** The connect timeout in force (read on the first pull). */
  connect: Duration.Duration | undefined = undefined
  iterator: AsyncIterator<unknown> | undefined = undefined
  headers: Headers | undefined = undefined
  attempt: Telemetry.Attempt | undefined = undefined
  seenToken = false
  /** No more pulls: the stream finished or failed. */
  done = false
  /** The events were read to their end. */
  complete = false
  /** The next pull: the first one reads the clock, the deadlines and the connect timeout. */
  pull: Pull
  readonly read: Pull

  constructor(readonly info: Telemetry.CallInfo, readonly source: Source) {
    this.read = Effect.async((resume) => {
      if (this.done) return resume(end)
      this.call.waitWithin(this.clock.unsafeCurrentTimeMillis(), this.seenToken ? "next" : "first")
      if (this.iterator === undefined) this.open(resume)
      else this.next(resume)
      return this.call.cancel
    })
    this.pull = Effect.withFiberRuntime((fiber) => {
      this.clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      this.started = this.clock.unsafeCurrentTimeMillis()
      this.attempt = Telemetry.startAttempt(fiber, info, true)
      this.connect = this.call.start(deadlinesIn(fiber.currentContext), fiber.getFiberRef(currentConnectTimeout))
      this.pull = this.read
      return this.read
    })
  }

  open(resume: (effect: Pull) => void) {
    let response: ReturnType<Source["open"]>
    try {
      response = this.source.open(this.call)
    } catch (error) {
      return this.fail(resume, error)
    }
    response.then(
      ({ events, headers }) => {
        this.call.headersArrived()
        this.headers = headers
        if (events === null || typeof events !== "object" || !(Symbol.asyncIterator in events)) {
          return this.fail(resume, new SyntaxError("the answer is not an event stream"))
        }
        this.iterator = (events as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        this.next(resume)
      },
      (error) => this.fail(resume, error)
    )
  }

  next(resume: (effect: Pull) => void) {
    this.iterator!.next().then(
      (result) => this.onResult(resume, result),
      (error) => this.fail(resume, error)
    )
  }

  onResult(resume: (effect: Pull) => void, result: IteratorResult<unknown>) {
    // the SDKs end their event iterators quietly when the request is aborted (a deadline passed)
    if (this.call.aborted) return this.fail(resume, new Error("the request was aborted"))
    if (result.done === true) {
      this.call.waitEnded()
      this.complete = true
      this.done = true
      let outcome: Completion | LlmError.ProviderError
      try {
        outcome = this.source.end(this.headers!, this.started, this.clock.unsafeCurrentTimeMillis())
      } catch (error) {
        return this.fail(resume, error)
      }
      const attempt = this.attempt!
      attempt.chunk()
      if (isError(outcome)) {
        attempt.fail(outcome)
        return resume(Effect.fail(outcome))
      }
      attempt.succeed(outcome)
      return resume(Effect.succeed(Option.some([Chunk.of(StreamEvent.finish(outcome)), undefined] as const)))
    }
    let text: string | undefined
    try {
      text = this.source.event(result.value)
    } catch (error) {
      return this.fail(resume, error)
    }
    if (text === undefined || text === "") return this.next(resume)
    this.call.waitEnded()
    this.attempt!.chunk()
    const chunk: Pull = Effect.succeed(Option.some([Chunk.of(StreamEvent.textDelta(text)), undefined] as const))
    const firstEvent = this.seenToken ? undefined : this.call.deadlines?.firstEvent
    this.seenToken = true
    resume(firstEvent === undefined ? chunk : Effect.zipRight(firstEvent(this.clock.unsafeCurrentTimeMillis()), chunk))
  }

  fail(resume: (effect: Pull) => void, error: unknown) {
    this.done = true
    this.call.settled()
    const failure = this.call.timeout(this.info.provider, this.info.request.model ?? this.info.model, this.connect) ??
      this.failure(error)
    this.attempt!.fail(failure)
    resume(Effect.fail(failure))
  }

  failure(error: unknown): LlmError.ProviderError {
    const underlying = this.source.toError(error, this.headers, this.clock.unsafeCurrentTimeMillis())
    return this.seenToken ? interrupted(underlying, this.source.text()) : underlying
  }

  /**
   * Runs when the stream ends for any reason: aborts the request unless its events were read to
   * their end, and ends the attempt of a stream left early or interrupted.
   */
  readonly release = (exit: Exit.Exit<unknown, unknown>) =>
    Effect.sync(() => {
      if (!this.complete) this.call.abort()
      this.attempt?.close(exit)
    })
}

/**
 * The stream of one provider request (see the module's documentation); `source` is called once per
 * run of the stream.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  info: Telemetry.CallInfo,
  source: () => Source
): Stream.Stream<StreamEvent.StreamEvent, LlmError.ProviderError> =>
  Stream.suspend(() => {
    const call = new StreamCall(info, source())
    return Stream.ensuringWith(Stream.unfoldChunkEffect(undefined, () => call.pull), call.release)
  })
