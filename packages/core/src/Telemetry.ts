/**
 * Tracing and metrics of model calls with the OpenTelemetry GenAI semantic conventions, on Effect's
 * own tracer and metrics, so that `@effect/opentelemetry` exports Effect's spans and ours as one trace.
 *
 * - Every provider request gets a `chat {model}` span (kind CLIENT) with `gen_ai.*` attributes
 *   (`traceGenerate` / `traceStream`, called by the provider adapters) and records the
 *   `gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk` and
 *   `gen_ai.client.token.usage` metrics.
 * - `traceCall` wraps a whole policy stack in one outer `chat {model}` span: the provider requests
 *   below it (retries, fallbacks) become its children, one per attempt.
 * - `layer` / `withEvents` turn the `CallEvent`s that policies emit (retry, fallback, breaker,
 *   rate-limit wait, cache, budget, truncation, content filter) into events on the current span and
 *   into `effect_llm.*` counters.
 * - Prompt and answer content, user ids and features are recorded only when the options say so.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel, Telemetry } from "@effect-llm/core"
 *
 * declare const model: LanguageModel.With<never>
 *
 * // one span per call, one child span per attempt, policy decisions as span events
 * const traced = model.pipe(Telemetry.traceCall)
 *
 * const program = traced.generate({ messages: [{ role: "user", content: "Hi" }] }).pipe(
 *   Effect.provide(Telemetry.layer({ feature: "spans-and-metrics" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as CallEvent from "./CallEvent.js"
import type { Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { clockOf } from "./internal/given.js"
import * as internalStream from "./internal/stream.js"
import * as internal from "./internal/telemetry.js"
import * as LanguageModel from "./LanguageModel.js"

/**
 * What a provider adapter knows about a call before it starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallInfo {
  readonly provider: string
  readonly model: string
  readonly request: GenerateRequest
  readonly serverAddress?: string | undefined
  readonly serverPort?: number | undefined
}

/**
 * Where a potentially identifying value may be recorded: nowhere, as a span attribute, or also as
 * a metric attribute (beware of cardinality: one time series per distinct value).
 *
 * @since 0.1.0
 * @category models
 */
export type Disclosure = internal.Disclosure

/**
 * What telemetry records beyond the conventions' metadata.
 *
 * - `captureContent` (default `false`): prompt and answer text as `gen_ai.system_instructions`,
 *   `gen_ai.input.messages` and `gen_ai.output.messages`.
 * - `user` (default `"omit"`): the request's `user` as `effect_llm.user`, and full budget scopes.
 * - `feature` (default `"omit"`): the request's `feature` as `effect_llm.feature`.
 * - `metrics` (default `true`): record metrics at all.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly captureContent: boolean
  readonly user: Disclosure
  readonly feature: Disclosure
  readonly metrics: boolean
}

/**
 * The options in force: content capture off, users and features omitted, metrics on.
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const currentOptions: FiberRef.FiberRef<Options> = internal.currentOptions

/**
 * Runs an effect with some telemetry options changed.
 *
 * @since 0.1.0
 * @category options
 */
export const withOptions: {
  (options: Partial<Options>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Partial<Options>): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Partial<Options>): Effect.Effect<A, E, R> =>
    Effect.locallyWith(self, currentOptions, (current) => ({ ...current, ...options }))
)

/**
 * Sets telemetry options for everything that runs with this layer.
 *
 * @since 0.1.0
 * @category options
 */
export const layerOptions = (options: Partial<Options>): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.locallyScopedWith(currentOptions, (current) => ({ ...current, ...options })))

// -----------------------------------------------------------------------------
// attributes
// -----------------------------------------------------------------------------

/**
 * The request attributes of a call span (with the default options: no content, no user).
 *
 * @since 0.1.0
 * @category attributes
 */
export const requestAttributes = (info: CallInfo, streaming: boolean): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {}
  internal.writeRequestAttributes(
    {
      attribute: (k, v) => {
        attributes[k] = v
      }
    },
    info,
    streaming,
    internal.defaultOptions
  )
  return attributes
}

/**
 * Records a completion's response attributes on a span (without its text).
 *
 * @since 0.1.0
 * @category attributes
 */
export const annotateCompletion = (span: Tracer.Span, completion: Completion): void =>
  internal.writeCompletionAttributes(span, completion, internal.defaultOptions)

// -----------------------------------------------------------------------------
// spans
// -----------------------------------------------------------------------------

const clientSpan: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }
const internalSpan: Tracer.SpanOptions = { kind: "internal", captureStackTrace: false }

const spanName = (info: CallInfo): string => `chat ${info.request.model ?? info.model}`

interface CallRecorder {
  readonly options: Options
  readonly timing: boolean
  readonly clock: Clock.Clock
  readonly start: bigint
  readonly fiberLabels: ReadonlyArray<MetricLabel.MetricLabel>
  readonly target: internal.MetricTarget
  readonly call: internal.CallState | undefined
}

/**
 * What telemetry reads from a running fiber (`Effect.withFiberRuntime` gives one).
 *
 * @since 0.1.0
 * @category models
 */
export interface RuntimeFiber {
  id(): FiberId.FiberId
  getFiberRef<X>(ref: FiberRef.FiberRef<X>): X
  readonly currentDefaultServices: Context.Context<never>
  readonly currentContext: Context.Context<never>
}

const startRecorder = (fiber: RuntimeFiber, info: CallInfo, call: internal.CallState | undefined): CallRecorder => {
  const clock = clockOf(fiber)
  const requestModel = info.request.model ?? info.model
  return {
    options: fiber.getFiberRef(internal.currentOptions),
    timing: fiber.getFiberRef(FiberRef.currentTracerTimingEnabled),
    clock,
    start: clock.unsafeCurrentTimeNanos(),
    fiberLabels: fiber.getFiberRef(FiberRef.currentMetricLabels),
    target: info.serverAddress === undefined
      ? { provider: info.provider, requestModel }
      : { provider: info.provider, requestModel, serverAddress: info.serverAddress, serverPort: info.serverPort },
    call
  }
}

const disclosed = (value: string | undefined, disclosure: Disclosure): string | undefined =>
  disclosure === "spans-and-metrics" ? value : undefined

const beginAttempt = (span: Tracer.Span, recorder: CallRecorder): void => {
  if (recorder.call !== undefined) {
    recorder.call.attempts++
    span.attribute("effect_llm.span.role", "attempt")
    span.attribute("effect_llm.attempt", recorder.call.attempts)
  }
}

// Records the outcome of one provider request: span attributes and the GenAI metrics.
const finishAttempt = (
  span: Tracer.Span,
  recorder: CallRecorder,
  info: CallInfo,
  exit: Exit.Exit<unknown, unknown>,
  completion: Completion | undefined
): void => {
  const options = recorder.options
  let errorType: string | undefined
  if (completion !== undefined) {
    internal.writeCompletionAttributes(span, completion, options)
  } else if (Exit.isFailure(exit)) {
    errorType = internal.errorType(exit.cause)
    span.attribute("error.type", errorType)
  }
  if (!options.metrics) return
  const feature = disclosed(info.request.feature, options.feature)
  const user = disclosed(info.request.user, options.user)
  const seconds = Number(recorder.clock.unsafeCurrentTimeNanos() - recorder.start) / 1e9
  const fiberLabels = recorder.fiberLabels
  const labels = internal.operationLabelsOf(recorder.target, completion?.servedModel, errorType, feature, user)
  internal.operationDuration.unsafeUpdate(
    seconds,
    internal.withFiberLabels(internal.operationLabels("duration", labels), fiberLabels)
  )
  if (completion === undefined) return
  internal.tokenUsage.unsafeUpdate(
    completion.usage.inputTokens,
    internal.withFiberLabels(internal.operationLabels("input", labels), fiberLabels)
  )
  internal.tokenUsage.unsafeUpdate(
    completion.usage.outputTokens,
    internal.withFiberLabels(internal.operationLabels("output", labels), fiberLabels)
  )
  // Inside `traceCall` the call span counts the cost once (attempts that failed cost nothing).
  if (recorder.call === undefined && completion.costUsd !== undefined && completion.costUsd > 0) {
    recordCost(recorder, completion.costUsd, labels)
  }
}

const recordCost = (recorder: CallRecorder, costUsd: number, labels: internal.OperationLabels) =>
  internal.cost.unsafeUpdate(
    costUsd,
    internal.withFiberLabels(internal.operationLabels("cost", labels), recorder.fiberLabels)
  )

// Ends a span with what it may record of the exit: without content capture, a failure is reduced
// to its tag and content-free fields (error details can echo prompts and answers).
const endSpan = (span: Tracer.Span, recorder: CallRecorder, exit: Exit.Exit<unknown, unknown>): void =>
  span.end(
    recorder.timing ? recorder.clock.unsafeCurrentTimeNanos() : BigInt(0),
    recorder.options.captureContent ? exit : internal.safeExit(exit)
  )

const runInSpan = <A, E, R>(
  fiber: RuntimeFiber,
  info: CallInfo,
  role: "provider" | "call",
  self: Effect.Effect<A, E, R>,
  finish: (span: Tracer.Span, recorder: CallRecorder, exit: Exit.Exit<A, E>) => void,
  call?: internal.CallState
): Effect.Effect<A, E, R> => {
  const recorder = startRecorder(
    fiber,
    info,
    role === "provider" ? internal.currentCall(fiber.currentContext) : undefined
  )
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.makeSpan(spanName(info), role === "provider" ? clientSpan : internalSpan), (span) => {
      internal.writeRequestAttributes(span, info, false, recorder.options)
      let inner = Effect.withParentSpan(self, span) as Effect.Effect<A, E, R>
      if (role === "provider") beginAttempt(span, recorder)
      else {
        span.attribute("effect_llm.span.role", "call")
        inner = Effect.provideService(inner, internal.CurrentCall, call!) as Effect.Effect<A, E, R>
      }
      return Effect.onExit(restore(inner), (exit) => {
        finish(span, recorder, exit)
        endSpan(span, recorder, exit)
        return Effect.void
      })
    })
  )
}

/**
 * Wraps one provider `generate` request in its `chat {model}` span (kind CLIENT) and records the
 * GenAI metrics of the request. Provider adapters call this; inside `traceCall` the span is one
 * attempt of the call.
 *
 * @since 0.1.0
 * @category tracing
 */
export const traceGenerate =
  (info: CallInfo) => <E, R>(self: Effect.Effect<Completion, E, R>): Effect.Effect<Completion, E, R> =>
    Effect.withFiberRuntime((fiber) =>
      runInSpan(
        fiber,
        info,
        "provider",
        self,
        (span, recorder, exit) =>
          finishAttempt(span, recorder, info, exit, Exit.isSuccess(exit) ? exit.value : undefined)
      )
    )

/**
 * A span made now, from inside a running fiber, as `Effect.makeSpan` makes it (tracer, parent,
 * disabled tracing and propagation, annotations and links of the fiber, timing): no effect to run.
 */
const unsafeSpan = (fiber: RuntimeFiber, name: string, options: Tracer.SpanOptions): Tracer.Span => {
  const context = fiber.currentContext
  let parent = Context.getOption(context as Context.Context<Tracer.ParentSpan>, Tracer.ParentSpan)
  if (!fiber.getFiberRef(FiberRef.currentTracerEnabled)) {
    return noopSpan
  }
  // as Effect does: skip the ancestors that disabled propagation
  while (parent._tag === "Some" && Context.get(parent.value.context, Tracer.DisablePropagation)) {
    parent = parent.value._tag === "Span" ? parent.value.parent : Option.none()
  }
  const services = fiber.currentDefaultServices as Context.Context<Clock.Clock | Tracer.Tracer>
  const tracer = Context.get(services, Tracer.Tracer)
  // Effect's own tracer exports nothing, and nothing runs inside an adapter's request to be its
  // child: with no tracer installed, an attempt records on a span that is not made
  if (tracer === nativeTracer) return noopSpan
  const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
  const links = fiber.getFiberRef(FiberRef.currentTracerSpanLinks)
  const span = tracer.span(
    name,
    parent,
    Context.empty(),
    links.length === 0 ? [] : Array.from(links),
    timing ? Context.get(services, Clock.Clock).unsafeCurrentTimeNanos() : BigInt(0),
    options.kind ?? "internal",
    options
  )
  const annotations = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
  for (const [key, value] of annotations) span.attribute(key, value)
  return span
}

/** Effect's default tracer (in-process spans that nothing exports). */
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

// With tracing disabled (`Effect.withTracerEnabled(false)`) or no tracer installed: the span an
// attempt records on, which records nothing (one instance: an attempt never exposes it).
const noopSpan: Tracer.Span = {
  _tag: "Span",
  name: "effect-llm/noop",
  spanId: "noop",
  traceId: "noop",
  sampled: false,
  parent: Option.none(),
  context: Context.make(Tracer.DisablePropagation, true),
  status: { _tag: "Ended", startTime: BigInt(0), endTime: BigInt(0), exit: Exit.void },
  attributes: new Map(),
  links: [],
  kind: "internal",
  attribute() {},
  event() {},
  end() {},
  addLinks() {}
}

/**
 * One provider request being recorded: its `chat {model}` span (kind CLIENT) and GenAI metrics.
 * Made by {@link startAttempt}; the adapter ends it exactly once.
 *
 * @since 0.1.0
 * @category tracing
 */
export interface Attempt {
  /** The request answered. */
  succeed(completion: Completion): void
  /** The request failed with a typed error. */
  fail(error: unknown): void
  /** The call was interrupted. */
  interrupt(): void
  /** Streams: an event arrived (the first one records the time to first chunk). */
  chunk(): void
  /** Ends the attempt with the exit of its stream, unless it has ended (a stream left early). */
  close(exit: Exit.Exit<unknown, unknown>): void
}

// One object per request in flight (no closures): it is what a request holds until it ends.
class AttemptRecorder implements Attempt {
  ended = false
  chunked = false
  constructor(
    readonly span: Tracer.Span,
    readonly recorder: CallRecorder,
    readonly info: CallInfo,
    readonly fiberId: FiberId.FiberId
  ) {}
  succeed(completion: Completion): void {
    this.end(Exit.succeed(completion), completion)
  }
  fail(error: unknown): void {
    this.end(Exit.fail(error), undefined)
  }
  interrupt(): void {
    this.end(Exit.interrupt(this.fiberId), undefined)
  }
  chunk(): void {
    if (this.chunked) return
    this.chunked = true
    recordTimeToFirstChunk(this.span, this.recorder, this.info, true)
  }
  close(exit: Exit.Exit<unknown, unknown>): void {
    this.end(exit, undefined)
  }
  end(exit: Exit.Exit<unknown, unknown>, completion: Completion | undefined): void {
    if (this.ended) return
    this.ended = true
    finishAttempt(this.span, this.recorder, this.info, exit, completion)
    endSpan(this.span, this.recorder, exit)
  }
}

/**
 * Starts recording one provider request from inside the fiber that makes it: what
 * {@link traceGenerate} does, for an adapter that runs its request in one `Effect.async` and ends
 * the attempt from its callbacks (no span effect, no parent span provided, no exit handler: a
 * request in flight holds less memory and costs fewer steps).
 *
 * @since 0.1.0
 * @category tracing
 */
export const startAttempt = (fiber: RuntimeFiber, info: CallInfo, streaming: boolean): Attempt => {
  const recorder = startRecorder(fiber, info, internal.currentCall(fiber.currentContext))
  const span = unsafeSpan(fiber, spanName(info), clientSpan)
  if (span !== noopSpan) internal.writeRequestAttributes(span, info, streaming, recorder.options)
  beginAttempt(span, recorder)
  return new AttemptRecorder(span, recorder, info, fiber.id())
}

interface StreamObserver {
  first: boolean
  completion: Completion | undefined
}

const observeChunks = <A extends { readonly _tag: string }>(
  span: Tracer.Span,
  recorder: CallRecorder,
  info: CallInfo,
  observer: StreamObserver,
  attempt: boolean
) =>
(chunk: Chunk.Chunk<A>): Chunk.Chunk<A> => {
  for (const event of chunk) {
    if (observer.first) {
      observer.first = false
      recordTimeToFirstChunk(span, recorder, info, attempt)
    }
    if (event._tag === "Finish") {
      observer.completion = (event as unknown as { readonly completion: Completion }).completion
    }
  }
  return chunk
}

// The time to first chunk of a request or call, on its span; a request's also as a metric.
const recordTimeToFirstChunk = (span: Tracer.Span, recorder: CallRecorder, info: CallInfo, metric: boolean): void => {
  const seconds = Number(recorder.clock.unsafeCurrentTimeNanos() - recorder.start) / 1e9
  span.attribute("gen_ai.response.time_to_first_chunk", seconds)
  if (!metric || !recorder.options.metrics) return
  internal.timeToFirstChunk.unsafeUpdate(
    seconds,
    internal.withFiberLabels(
      internal.operationLabels(
        "ttfc",
        internal.operationLabelsOf(
          recorder.target,
          undefined,
          undefined,
          disclosed(info.request.feature, recorder.options.feature),
          disclosed(info.request.user, recorder.options.user)
        )
      ),
      recorder.fiberLabels
    )
  )
}

// One stream node for the span's end (`ensuringWith`) and one to observe chunks (`mapChunks`):
// a provider stream runs on every call, so no scope, no `unwrapScoped`, and the parent span is
// provided only to a call span (whose attempts are its children).
const streamSpan = <A extends { readonly _tag: string }, E, R>(
  self: Stream.Stream<A, E, R>,
  info: CallInfo,
  role: "attempt" | "call"
): Stream.Stream<A, E, R> =>
  internalStream.unwrap(
    Effect.withFiberRuntime<Stream.Stream<A, E, R>>((fiber) => {
      const recorder = startRecorder(
        fiber,
        info,
        role === "attempt" ? internal.currentCall(fiber.currentContext) : undefined
      )
      return Effect.map(
        Effect.makeSpan(spanName(info), role === "attempt" ? clientSpan : internalSpan),
        (span) => {
          internal.writeRequestAttributes(span, info, true, recorder.options)
          let call: internal.CallState | undefined
          if (role === "attempt") {
            beginAttempt(span, recorder)
          } else {
            span.attribute("effect_llm.span.role", "call")
            call = { attempts: 0 }
          }
          const observer: StreamObserver = { first: true, completion: undefined }
          let observed = Stream.mapChunks(
            self,
            observeChunks(span, recorder, info, observer, role === "attempt")
          )
          if (call !== undefined) {
            observed = Stream.provideService(
              Stream.provideService(observed, internal.CurrentCall, call),
              Tracer.ParentSpan,
              span
            ) as Stream.Stream<A, E, R>
          }
          return Stream.ensuringWith(observed, (exit) =>
            Effect.sync(() => {
              const completion = Exit.isSuccess(exit) ? observer.completion : undefined
              if (call === undefined) finishAttempt(span, recorder, info, exit, completion)
              else finishCall(span, recorder, info, call, exit, completion)
              endSpan(span, recorder, exit)
            }))
        }
      )
    })
  )

/**
 * Wraps one provider `stream` request in its `chat {model}` span (kind CLIENT); the span ends with
 * the stream and records the `Finish` completion, `gen_ai.response.time_to_first_chunk` and the
 * GenAI metrics of the request.
 *
 * @since 0.1.0
 * @category tracing
 */
export const traceStream = (info: CallInfo) =>
<A extends { readonly _tag: string }, E, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> => streamSpan(self, info, "attempt")

// -----------------------------------------------------------------------------
// call spans
// -----------------------------------------------------------------------------

const finishCall = (
  span: Tracer.Span,
  recorder: CallRecorder,
  info: CallInfo,
  call: internal.CallState,
  exit: Exit.Exit<unknown, unknown>,
  completion: Completion | undefined
): void => {
  span.attribute("effect_llm.attempts", call.attempts)
  if (completion !== undefined) {
    // after a fallback, the provider that answered
    if (completion.provider !== info.provider) span.attribute("gen_ai.provider.name", completion.provider)
    internal.writeCompletionAttributes(span, completion, recorder.options)
    if (
      recorder.options.metrics && completion.cache !== "hit" && completion.costUsd !== undefined &&
      completion.costUsd > 0
    ) {
      recordCost(
        recorder,
        completion.costUsd,
        internal.operationLabelsOf(
          recorder.target,
          completion.servedModel,
          undefined,
          disclosed(info.request.feature, recorder.options.feature),
          disclosed(info.request.user, recorder.options.user)
        )
      )
    }
  } else if (Exit.isFailure(exit)) {
    span.attribute("error.type", internal.errorType(exit.cause))
  }
}

const callGenerate = <E, R>(
  info: CallInfo,
  self: Effect.Effect<Completion, E, R>
): Effect.Effect<Completion, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const call: internal.CallState = { attempts: 0 }
    return runInSpan(
      fiber,
      info,
      "call",
      self,
      (span, recorder, exit) =>
        finishCall(span, recorder, info, call, exit, Exit.isSuccess(exit) ? exit.value : undefined),
      call
    )
  })

// A call through `streamEach`: the call span `streamSpan` makes for `stream`, with no `Stream`. The
// span is made as the call starts, is the parent span of the call below (which also gets the call's
// state: its attempts) and ends once, with the call's exit. The first event handed on records the
// time to first chunk; a call interrupted once its `Finish` was handed on (its caller stopped at the
// end, as with a stream taken to its end) records that completion. One uninterruptible region sets
// the context of the call below and sets it back when the call ends (what `Effect.locally` does,
// without a region of its own); nothing runs per event but a function call.
const callStreamEach = <E, R>(
  info: CallInfo,
  streamEach: (request: GenerateRequest, onEvent: LanguageModel.OnEvent) => Effect.Effect<Completion, E, R>,
  onEvent: LanguageModel.OnEvent
): Effect.Effect<Completion, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const recorder = startRecorder(fiber, info, undefined)
    const context = fiber.currentContext
    const call: internal.CallState = { attempts: 0 }
    let span: Tracer.Span // made below, before the call runs
    let first = true
    let finish: Completion | undefined
    const each: LanguageModel.OnEvent = (event) => {
      if (first) {
        first = false
        recordTimeToFirstChunk(span, recorder, info, false)
      }
      if (event._tag === "Finish") finish = event.completion
      return onEvent(event)
    }
    // the call below is made before its span: a model that throws here leaves no span open
    const inner = streamEach(info.request, each)
    const end = (exit: Exit.Exit<Completion, E>, completion: Completion | undefined) => {
      finishCall(span, recorder, info, call, exit, completion)
      endSpan(span, recorder, exit)
      return Effect.zipRight(FiberRef.set(FiberRef.currentContext, context), exit)
    }
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.makeSpan(spanName(info), internalSpan), (made) => {
        span = made
        internal.writeRequestAttributes(span, info, true, recorder.options)
        span.attribute("effect_llm.span.role", "call")
        return Effect.matchCauseEffect(
          Effect.zipRight(
            FiberRef.set(
              FiberRef.currentContext,
              Context.add(Context.add(context, internal.CurrentCall, call), Tracer.ParentSpan, span)
            ),
            restore(inner)
          ),
          {
            onFailure: (cause) => end(Exit.failCause(cause), Cause.isInterruptedOnly(cause) ? finish : undefined),
            onSuccess: (completion) => end(Exit.succeed(completion), completion)
          }
        )
      })
    )
  })

/**
 * Wraps every call of a model — the whole policy stack below it — in one `chat {model}` span
 * (`effect_llm.span.role = "call"`). The provider requests made for the call (the first try,
 * retries, fallbacks) become its children (`effect_llm.span.role = "attempt"`, numbered by
 * `effect_llm.attempt`), and the `CallEvent`s emitted between them land on it as span events when
 * the telemetry listener is installed (`layer`, `withEvents`). Apply it last (outermost).
 *
 * `stream` and `streamEach` record the same span. Through `streamEach` the caller's `onEvent` runs
 * inside the call (as the call's own code: spans it makes are children of the call span), and a
 * caller that stops early interrupts the call, which the span records (`error.type = Interrupted`)
 * unless the call's `Finish` had reached the caller.
 *
 * @since 0.1.0
 * @category tracing
 */
export const traceCall = <E, R>(self: LanguageModel.With<E, R>): LanguageModel.With<E, R> =>
  LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) =>
      callGenerate({ provider: self.provider, model: self.model, request }, generate(request)),
    stream: (stream) => (request) =>
      streamSpan(stream(request), { provider: self.provider, model: self.model, request }, "call"),
    streamEach: (streamEach) => (request, onEvent) =>
      callStreamEach({ provider: self.provider, model: self.model, request }, streamEach, onEvent)
  })

/**
 * `traceCall` for code that works through the `LanguageModel` tag: wraps the model below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTraceCall: Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> = Layer
  .effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (model): LanguageModel.Service => traceCall(model))
  )

// -----------------------------------------------------------------------------
// call events
// -----------------------------------------------------------------------------

/**
 * The listener that turns each `CallEvent` into an event on the current span (named
 * `effect_llm.retry`, `effect_llm.fallback`, `effect_llm.cache.lookup`, `effect_llm.budget`, ...)
 * and counts retries, fallbacks, cache lookups, budget decisions, rate-limit waits, breaker
 * transitions, truncations and content filters as `effect_llm.*` metrics.
 *
 * @since 0.1.0
 * @category call events
 */
export const listener: CallEvent.Listener = (event) =>
  Effect.withFiberRuntime((fiber) => {
    const options = fiber.getFiberRef(internal.currentOptions)
    const span = fiber.currentSpan
    if (span !== undefined && span._tag === "Span") {
      const record = internal.eventRecord(event, options)
      const clock = clockOf(fiber)
      span.event(record.name, clock.unsafeCurrentTimeNanos(), record.attributes)
    }
    if (options.metrics) internal.recordEventMetric(event, options, fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.void
  })

const addListener = (listeners: ReadonlyArray<CallEvent.Listener>): ReadonlyArray<CallEvent.Listener> =>
  listeners.includes(listener) ? listeners : [...listeners, listener]

/**
 * Runs an effect with the telemetry listener installed.
 *
 * @since 0.1.0
 * @category call events
 */
export const withEvents = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(self, CallEvent.currentListeners, addListener)

/**
 * Installs the telemetry listener (policy decisions as span events and metrics) and, optionally,
 * sets the telemetry options, for everything that runs with this layer. Provide it next to your
 * OpenTelemetry layer (`NodeSdk.layer(...)`, or `Otel.layer(...)` which includes it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Partial<Options>): Layer.Layer<never> =>
  Layer.scopedDiscard(
    options === undefined
      ? Effect.locallyScopedWith(CallEvent.currentListeners, addListener)
      : Effect.zipRight(
        Effect.locallyScopedWith(currentOptions, (current) => ({ ...current, ...options })),
        Effect.locallyScopedWith(CallEvent.currentListeners, addListener)
      )
  )

/**
 * A listener that logs each `CallEvent` at debug level with `CallEvent.describe` (one line, no
 * content; budget scopes cut to their kind, `user:42` -> `user`, unless the `user` / `feature`
 * options allow more), annotated with `effect_llm.event`. Install it with `CallEvent.listen`.
 *
 * @since 0.1.0
 * @category call events
 */
export const logListener: CallEvent.Listener = (event) =>
  Effect.flatMap(FiberRef.get(internal.currentOptions), (options) => {
    const safe = event._tag === "BudgetDecision"
      ? { ...event, scope: internal.disclosedScope(event.scope, options, "spans") }
      : event
    return Effect.annotateLogs(Effect.logDebug(CallEvent.describe(safe)), "effect_llm.event", event._tag)
  })

/**
 * The names of the metrics effect-llm records.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metricNames = {
  operationDuration: "gen_ai.client.operation.duration",
  timeToFirstChunk: "gen_ai.client.operation.time_to_first_chunk",
  tokenUsage: "gen_ai.client.token.usage",
  cost: "effect_llm.cost",
  retries: "effect_llm.retries",
  fallbacks: "effect_llm.fallbacks",
  cacheLookups: "effect_llm.cache.lookups",
  budgetDecisions: "effect_llm.budget.decisions",
  rateLimitWaits: "effect_llm.rate_limit.waits",
  circuitTransitions: "effect_llm.circuit.transitions",
  contentFiltered: "effect_llm.content_filtered",
  contextTruncations: "effect_llm.context.truncations"
} as const
