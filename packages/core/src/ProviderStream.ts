/**
 * One provider request of a `stream` call: the part every adapter shares. The request opens on the
 * first pull; each pull reads events until one carries text, then keeps reading the events already
 * at hand (those of the same network read, which the SDK yields in microtasks) and emits their text
 * deltas as one chunk; the end of the events gives the `Finish` (in the same chunk when it came
 * with them). While the consumer handles a chunk, the next event is read ahead (one at most). Each
 * pull's wait is armed with the deadlines of `Timeout`
 * (`ProviderCall.deadlinesIn`) and the connect timeout; the telemetry attempt is recorded from
 * the pulls (time to first chunk, completion or failure, early exit); a failure after the first
 * text is `StreamInterrupted` with the partial text; leaving the stream before its end aborts the
 * request. The adapter says how to send the request and read its events (`Source`).
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Completion } from "./Completion.js"
import { clockOf } from "./internal/given.js"
import { afterMicrotasks } from "./internal/macrotask.js"
import type { OnEvent } from "./LanguageModel.js"
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

const emitted = (events: Array<StreamEvent.StreamEvent>): Pull =>
  Effect.succeed(Option.some([Chunk.unsafeFromArray(events), undefined] as const))

/** An event read while no pull waited for it: its result, or what the SDK threw. */
type Ready = { readonly result: IteratorResult<unknown> } | { readonly error: unknown }

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
  /** No more reads: the stream finished or failed. */
  done = false
  /** The events were read to their end. */
  complete = false
  /** The resume of the pull that waits, if one does. */
  resume: ((effect: Pull) => void) | undefined = undefined
  /** The text events the waiting pull has read so far (delivered together as one chunk). */
  batch: Array<StreamEvent.StreamEvent> | undefined = undefined
  /** An `iterator.next()` is in flight. */
  reading = false
  /** What a read settled with after the last pull was answered. */
  ready: Ready | undefined = undefined
  /** What the next pull answers: the failure or end that came after a batch. */
  last: Pull | undefined = undefined
  /** The next pull: the first one reads the clock, the deadlines and the connect timeout. */
  pull: Pull
  readonly read: Pull

  constructor(readonly info: Telemetry.CallInfo, readonly source: Source) {
    this.read = Effect.async((resume) => {
      if (this.last !== undefined) return resume(this.last)
      if (this.done) return resume(end)
      this.call.waitWithin(this.clock.unsafeCurrentTimeMillis(), this.seenToken ? "next" : "first")
      this.resume = resume
      const ready = this.ready
      if (ready !== undefined) {
        this.ready = undefined
        if ("result" in ready) this.onResult(ready.result)
        else this.fail(ready.error)
      } else if (this.iterator === undefined) this.open()
      else if (!this.reading) this.next()
      return this.call.cancel
    })
    this.pull = Effect.withFiberRuntime((fiber) => {
      this.clock = clockOf(fiber)
      this.started = this.clock.unsafeCurrentTimeMillis()
      this.attempt = Telemetry.startAttempt(fiber, info, true)
      this.connect = this.call.start(deadlinesIn(info.request), fiber.getFiberRef(currentConnectTimeout))
      this.pull = this.read
      return this.read
    })
  }

  /** Answers the waiting pull. */
  answer(effect: Pull) {
    const resume = this.resume!
    this.resume = undefined
    resume(effect)
  }

  /**
   * Answers the waiting pull with its batch: once no more events are at hand (a macrotask after the
   * first: the events of one network read come in microtasks), or when the events end.
   */
  readonly flush = () => {
    const batch = this.batch
    if (batch === undefined || this.resume === undefined) return
    this.batch = undefined
    const chunk = emitted(batch)
    const firstEvent = this.seenToken ? undefined : this.call.deadlines?.firstEvent
    this.seenToken = true
    this.answer(
      firstEvent === undefined ? chunk : Effect.zipRight(firstEvent(this.clock.unsafeCurrentTimeMillis()), chunk)
    )
  }

  /** Answers the waiting pull with `effect` after its batch, if it has one. */
  finish(effect: Pull) {
    if (this.batch === undefined) return this.answer(effect)
    this.last = effect
    this.flush()
  }

  open() {
    let response: ReturnType<Source["open"]>
    try {
      response = this.source.open(this.call)
    } catch (error) {
      return this.fail(error)
    }
    response.then(
      ({ events, headers }) => {
        this.call.headersArrived()
        this.headers = headers
        if (events === null || typeof events !== "object" || !(Symbol.asyncIterator in events)) {
          return this.fail(new SyntaxError("the answer is not an event stream"))
        }
        this.iterator = (events as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        this.next()
      },
      (error) => this.fail(error)
    )
  }

  next() {
    this.reading = true
    this.iterator!.next().then(this.settled, this.threw)
  }

  readonly settled = (result: IteratorResult<unknown>) => {
    this.reading = false
    if (this.done) return
    if (this.resume === undefined) this.ready = { result }
    else this.onResult(result)
  }

  readonly threw = (error: unknown) => {
    this.reading = false
    if (this.done) return
    if (this.resume === undefined) this.ready = { error }
    else this.fail(error)
  }

  onResult(result: IteratorResult<unknown>) {
    // the SDKs end their event iterators quietly when the request is aborted (a deadline passed)
    if (this.call.aborted) return this.fail(new Error("the request was aborted"))
    if (result.done === true) {
      this.call.waitEnded()
      this.complete = true
      this.done = true
      let outcome: Completion | LlmError.ProviderError
      try {
        outcome = this.source.end(this.headers!, this.started, this.clock.unsafeCurrentTimeMillis())
      } catch (error) {
        return this.fail(error)
      }
      const attempt = this.attempt!
      attempt.chunk()
      if (isError(outcome)) {
        attempt.fail(outcome)
        return this.finish(Effect.fail(outcome))
      }
      attempt.succeed(outcome)
      const finish = StreamEvent.finish(outcome)
      if (this.batch === undefined) return this.answer(emitted([finish]))
      this.batch.push(finish)
      this.last = end
      return this.flush()
    }
    let text: string | undefined
    try {
      text = this.source.event(result.value)
    } catch (error) {
      return this.fail(error)
    }
    if (text !== undefined && text !== "") {
      const event = StreamEvent.textDelta(text)
      if (this.batch !== undefined) this.batch.push(event)
      else {
        this.call.waitEnded()
        this.attempt!.chunk()
        this.batch = [event]
        afterMicrotasks(this.flush)
      }
    }
    this.next()
  }

  fail(error: unknown) {
    this.done = true
    this.call.settled()
    const failure = this.call.timeout(this.info.provider, this.info.request.model ?? this.info.model, this.connect) ??
      this.failure(error)
    this.attempt!.fail(failure)
    this.finish(Effect.fail(failure))
  }

  failure(error: unknown): LlmError.ProviderError {
    const underlying = this.source.toError(error, this.headers, this.clock.unsafeCurrentTimeMillis(), this.info)
    return this.seenToken || this.batch !== undefined ? interrupted(underlying, this.source.text()) : underlying
  }

  /**
   * Runs when the stream ends for any reason: aborts the request unless its events were read to
   * their end, and ends the attempt of a stream left early or interrupted.
   */
  readonly release = (exit: Exit.Exit<unknown, unknown>) =>
    Effect.sync(() => {
      this.done = true
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

/**
 * The same request as {@link make} without a `Stream`, for `streamEach`: the pulls run in a loop of
 * the caller's fiber, `onEvent` runs for each event, and the call succeeds with the completion.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  info: Telemetry.CallInfo,
  source: Source,
  onEvent: OnEvent
): Effect.Effect<Completion, LlmError.ProviderError> =>
  Effect.suspend(() => {
    const call = new StreamCall(info, source)
    let completion: Completion | undefined
    const each = (
      events: ReadonlyArray<StreamEvent.StreamEvent>,
      index: number
    ): Effect.Effect<Completion, LlmError.ProviderError> => {
      if (index === events.length) return loop
      const event = events[index]!
      if (event._tag === "Finish") completion = event.completion
      return Effect.flatMap(onEvent(event), () => each(events, index + 1))
    }
    const handle = (
      option: Option.Option<readonly [Chunk.Chunk<StreamEvent.StreamEvent>, void]>
    ): Effect.Effect<Completion, LlmError.ProviderError> =>
      option._tag === "Some"
        ? each(Chunk.toReadonlyArray(option.value[0]), 0)
        : completion === undefined
        ? Effect.dieMessage("the provider stream ended without a Finish event")
        : Effect.succeed(completion)
    const loop: Effect.Effect<Completion, LlmError.ProviderError> = Effect.flatMap(call.read, handle)
    return Effect.onExit(Effect.flatMap(call.pull, handle), call.release)
  })
