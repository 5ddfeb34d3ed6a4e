/**
 * Timeouts for model calls, each failing with `Timeout` and its phase, and each aborting the HTTP
 * request (interrupting a provider call aborts it through its `AbortSignal`):
 *
 * - `total`: the whole call (for `generate`, the only timer; for streams, until the last event).
 * - `response`: a total that depends on the expected output, `base + perOutputToken *
 *   maxOutputTokens`, capped by `total` (reported as phase `total`).
 * - `firstToken`: streams, until the first event.
 * - `idle`: streams, between two events.
 * - `connect`: until the response headers. Only the provider sees headers arrive, so this one is a
 *   provider-facing hook: the policy sets {@link currentConnectTimeout} for the call, and a provider
 *   adapter that supports it fails with `Timeout { phase: "connect" }` when its headers are late.
 *   Without such an adapter, a slow connection is caught by `firstToken` / `total`.
 *
 * Streams emit a `FirstToken` call event when their first event arrives.
 *
 * Cost: when the model below enforces deadlines (`LanguageModel.With.enforcesDeadlines`: the
 * OpenAI and Anthropic adapters, through the policies that keep the mark — retry, rate limit,
 * breaker, fallback, budget, ledger, cost, `traceCall`), the deadlines travel with the request
 * (`ProviderCall.withDeadlines`) and the adapter arms one native timer per wait (the request; each
 * stream pull) on the abort handle of its HTTP request: no fiber, nothing per chunk. Nested timeouts
 * combine (each phase's earliest). Waits of policies in between (a retry's backoff, a rate-limit
 * slot) end at the deadline (`sleepWithin`). Any other model is timed here: one forked fiber and one
 * timer per `generate` call, one per pulled chunk for streams (not `Effect.timeoutFail`, which forks
 * two fibers and waits for the loser). A phase that is not configured does no work.
 *
 * {@link withTimeouts} and {@link layer} throw `InvalidOptions` for options they cannot work with (a
 * zero or negative timeout, a duration Effect cannot read).
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as Timeout from "@effect-llm/core/Timeout"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * const model = base.pipe(
 *   Timeout.withTimeouts({ firstToken: "20 seconds", idle: "10 seconds", total: "2 minutes" })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { clockOf, runtimeOf } from "./internal/given.js"
import * as internalStream from "./internal/stream.js"
import { scheduleOn, sleepWithin as internalSleepWithin, withDeadline } from "./internal/timeoutDeadline.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { Timeout } from "./LlmError.js"
import { type Deadlines, deadlinesIn, withDeadlines } from "./ProviderCall.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * The timeouts of a model's calls. A phase left out (or set to `Duration.infinity`) is not timed;
 * a phase that is set must be longer than zero.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Until the response headers (provider hook, see {@link currentConnectTimeout}). */
  readonly connect?: Duration.DurationInput
  /** Streams: until the first event. */
  readonly firstToken?: Duration.DurationInput
  /** Streams: between two events. */
  readonly idle?: Duration.DurationInput
  /** The whole call. */
  readonly total?: Duration.DurationInput
  /**
   * A deadline that grows with the requested output: `base + perOutputToken * maxOutputTokens`,
   * capped by `total`. Applies when the request sets `maxOutputTokens` (or `defaultOutputTokens`
   * is given).
   */
  readonly response?: {
    /** Longer than zero, finite. */
    readonly base: Duration.DurationInput
    /** At least zero, finite. */
    readonly perOutputToken: Duration.DurationInput
    /** An integer of at least 1. */
    readonly defaultOutputTokens?: number
  }
}

/**
 * The standard timeouts: connect 10 s (the article's 5–10 s), first token 60 s (reasoning models
 * think before they speak), idle 30 s, total 10 minutes, and a response deadline of 30 s + 50 ms per
 * requested output token (room for ~20 tokens/s), capped by the total.
 *
 * @since 0.1.0
 * @category constants
 */
export const standard: Options = {
  connect: Duration.seconds(10),
  firstToken: Duration.seconds(60),
  idle: Duration.seconds(30),
  total: Duration.minutes(10),
  response: { base: Duration.seconds(30), perOutputToken: Duration.millis(50) }
}

/**
 * The connect timeout of the current call, for provider adapters: abort the request and fail with
 * `Timeout { phase: "connect" }` when the response headers have not arrived by then.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const currentConnectTimeout: FiberRef.FiberRef<Duration.Duration | undefined> = FiberRef.unsafeMake<
  Duration.Duration | undefined
>(undefined)

const millis = (input: Duration.DurationInput | undefined): number | undefined =>
  input === undefined ? undefined : Duration.toMillis(input)

/** A phase: longer than zero; `Duration.infinity` is no limit (its timer is never armed). */
const phaseRange = { positive: true, infinite: true } as const

/**
 * Checks timeouts, throwing `InvalidOptions` for one it cannot work with; returns the decoded
 * `connect`, `firstToken` and `idle`.
 */
const check = (options: Options) => {
  const connect = InvalidOptions.duration("Timeout", "connect", options.connect, phaseRange)
  const firstToken = InvalidOptions.duration("Timeout", "firstToken", options.firstToken, phaseRange)
  const idle = InvalidOptions.duration("Timeout", "idle", options.idle, phaseRange)
  InvalidOptions.duration("Timeout", "total", options.total, phaseRange)
  const response = options.response
  if (response !== undefined) {
    InvalidOptions.duration(
      "Timeout",
      "response.base",
      InvalidOptions.required("Timeout", "response.base", response.base),
      { positive: true }
    )
    InvalidOptions.duration(
      "Timeout",
      "response.perOutputToken",
      InvalidOptions.required("Timeout", "response.perOutputToken", response.perOutputToken)
    )
    InvalidOptions.integer("Timeout", "response.defaultOutputTokens", response.defaultOutputTokens, 1)
  }
  return { connect, firstToken, idle }
}

/**
 * The deadline of a `generate` call in milliseconds (`total`, or the response deadline when it is
 * shorter), or `undefined` when none applies.
 *
 * @since 0.1.0
 * @category utils
 */
export const generateDeadline = (options: Options, request: GenerateRequest): number | undefined =>
  deadlineOfCall(options)(request)

/** {@link generateDeadline} with the options' durations decoded once (a policy's calls then decode none). */
const deadlineOfCall = (options: Options): (request: GenerateRequest) => number | undefined => {
  const total = millis(options.total)
  const response = options.response
  if (response === undefined) return () => total
  const base = Duration.toMillis(response.base)
  const perOutputToken = Duration.toMillis(response.perOutputToken)
  const defaultOutputTokens = response.defaultOutputTokens
  return (request) => {
    const tokens = request.maxOutputTokens ?? defaultOutputTokens
    if (tokens === undefined) return total
    const deadline = base + perOutputToken * tokens
    return total === undefined ? deadline : Math.min(total, deadline)
  }
}

type RuntimeFiber = {
  getFiberRef<X>(ref: FiberRef.FiberRef<X>): X
  getFiberRefs(): import("effect/FiberRefs").FiberRefs
  readonly currentDefaultServices: Context.Context<never>
  readonly currentContext: Context.Context<never>
}

/**
 * A wait of a policy (a retry's backoff, a rate-limit slot) that ends at the deadline of the call:
 * sleeps `millis`, or, when a `Timeout` above delegated its deadlines (the `request` carries them,
 * `ProviderCall.deadlinesIn`) and the call's deadline comes first, sleeps until then and fails with
 * that `Timeout`. Policies that wait with it keep `LanguageModel.With.enforcesDeadlines`.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const sleepWithin: (millis: number, request: GenerateRequest) => Effect.Effect<void, Timeout> =
  internalSleepWithin

/** The deadlines of a call under nested timeouts: each phase's earliest; the inner connect and events. */
const combine = (outer: Deadlines | undefined, inner: Deadlines): Deadlines => {
  if (outer === undefined) return inner
  const innerEnd = inner.end !== undefined && (outer.end === undefined || inner.end < outer.end)
  const innerFirst = inner.firstToken !== undefined &&
    (outer.firstToken === undefined || inner.firstToken < outer.firstToken)
  const innerIdle = inner.idle !== undefined && (outer.idle === undefined || inner.idle < outer.idle)
  return {
    end: innerEnd ? inner.end : outer.end,
    onEnd: innerEnd ? inner.onEnd : outer.onEnd,
    firstToken: innerFirst ? inner.firstToken : outer.firstToken,
    onFirstToken: innerFirst ? inner.onFirstToken : outer.onFirstToken,
    idle: innerIdle ? inner.idle : outer.idle,
    onIdle: innerIdle ? inner.onIdle : outer.onIdle,
    connect: inner.connect ?? outer.connect,
    firstEvent: inner.firstEvent ?? outer.firstEvent,
    schedule: inner.schedule
  }
}

/** The error of a phase a `generate` call does not have (never called: its deadline is unset). */
const noPhase = (): Timeout => {
  throw new Error("effect-llm: a stream phase's deadline on a generate call")
}

/**
 * Applies timeouts to a model's calls. Keeps the model's requirements; adds `Timeout` (already
 * part of `ProviderError`) to its errors. Throws `InvalidOptions` for options it cannot work with,
 * when it is applied to the model.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeouts: {
  (options: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E | Timeout, R>
  <E, R>(self: LanguageModel.With<E, R>, options: Options): LanguageModel.With<E | Timeout, R>
} = dual(2, <E, R>(self: LanguageModel.With<E, R>, options: Options): LanguageModel.With<E | Timeout, R> => {
  const checked = check(options)
  const callDeadline = deadlineOfCall(options)
  const connect = checked.connect
  const firstToken = millis(checked.firstToken)
  const idle = millis(checked.idle)
  const provider = self.provider
  const fail = (request: GenerateRequest, phase: Timeout["phase"], after: number) =>
    new Timeout({ provider, model: request.model ?? self.model, phase, after: Duration.millis(after) })
  // The model below enforces deadlines itself (a provider adapter, through policies that keep the
  // mark): hand them over with the request, no fiber and no timer here.
  const delegate = self.enforcesDeadlines === true
  const deadlinesOf = (
    fiber: RuntimeFiber,
    request: GenerateRequest,
    deadline: number | undefined,
    streaming: boolean
  ): Deadlines => {
    const clock = clockOf(fiber)
    const started = clock.unsafeCurrentTimeMillis()
    const model = request.model ?? self.model
    return combine(deadlinesIn(request), {
      end: deadline === undefined ? undefined : started + deadline,
      onEnd: () => fail(request, "total", deadline!),
      firstToken: streaming && firstToken !== undefined ? started + firstToken : undefined,
      onFirstToken: streaming ? () => fail(request, "first-token", firstToken!) : noPhase,
      idle: streaming ? idle : undefined,
      onIdle: streaming ? () => fail(request, "idle", idle!) : noPhase,
      connect,
      firstEvent: streaming
        ? (now) => CallEvent.emit({ _tag: "FirstToken", provider, model, afterMillis: now - started })
        : undefined,
      // the timers of a `TestClock` run in fibers of their own (their runtime built only when needed)
      schedule: scheduleOn(clock, fiber, (fiber) => runtimeOf(fiber))
    })
  }
  /** A streamed call with no phase to time (`deadline`: its total, if any). */
  const untimed = (deadline: number | undefined) =>
    firstToken === undefined && idle === undefined && deadline === undefined && connect === undefined
  return LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) => {
      const deadline = callDeadline(request)
      if (deadline === undefined) {
        return connect === undefined
          ? generate(request)
          : Effect.locally(generate(request), currentConnectTimeout, connect)
      }
      if (delegate) {
        return Effect.withFiberRuntime((fiber) =>
          generate(withDeadlines(request, deadlinesOf(fiber, request, deadline, false)))
        )
      }
      return withDeadline(
        generate(request),
        deadline,
        () => fail(request, "total", deadline),
        connect === undefined ? undefined : [currentConnectTimeout, connect]
      )
    },
    // a model that enforces the deadlines is handed them with a `streamEach` call as with a stream;
    // any other model's `streamEach` runs the timed stream below
    streamEach: delegate
      ? (streamEach) => (request, onEvent) => {
        const deadline = callDeadline(request)
        if (untimed(deadline)) {
          return streamEach(request, onEvent)
        }
        return Effect.withFiberRuntime((fiber) =>
          streamEach(withDeadlines(request, deadlinesOf(fiber, request, deadline, true)), onEvent)
        )
      }
      : undefined,
    stream: (stream) => (request) => {
      const deadline = callDeadline(request)
      if (untimed(deadline)) {
        return stream(request)
      }
      if (delegate) {
        return internalStream.unwrap(
          Effect.withFiberRuntime((fiber) =>
            Effect.succeed(stream(withDeadlines(request, deadlinesOf(fiber, request, deadline, true))))
          )
        )
      }
      return Stream.unwrapScoped(
        Effect.flatMap(Stream.toPull(stream(request)), (pull) =>
          Effect.clockWith((clock: Clock.Clock) => {
            const started = clock.unsafeCurrentTimeMillis()
            let first = true
            const timed: Effect.Effect<Chunk.Chunk<StreamEvent>, Option.Option<E | Timeout>, R> = Effect.suspend(() => {
              const phaseMillis = first ? firstToken : idle
              const left = deadline === undefined ? undefined : deadline - (clock.unsafeCurrentTimeMillis() - started)
              const base = first && connect !== undefined ? Effect.locally(pull, currentConnectTimeout, connect) : pull
              let effect: Effect.Effect<Chunk.Chunk<StreamEvent>, Option.Option<E | Timeout>, R> = base
              if (left !== undefined && (phaseMillis === undefined || left <= phaseMillis)) {
                effect = withDeadline(base, Math.max(0, left), () => Option.some(fail(request, "total", deadline!)))
              } else if (phaseMillis !== undefined) {
                const phase = first ? "first-token" : "idle"
                effect = withDeadline(base, phaseMillis, () => Option.some(fail(request, phase, phaseMillis)))
              }
              if (!first) return effect
              return Effect.flatMap(effect, (chunk) => {
                if (!Chunk.isNonEmpty(chunk)) return Effect.succeed(chunk)
                first = false
                return Effect.as(
                  CallEvent.emit({
                    _tag: "FirstToken",
                    provider,
                    model: request.model ?? self.model,
                    afterMillis: clock.unsafeCurrentTimeMillis() - started
                  }),
                  chunk
                )
              })
            })
            return Effect.succeed(Stream.repeatEffectChunkOption(timed))
          }))
      )
    }
  })
})

/**
 * The timeouts as a layer around the `LanguageModel` below it. Throws `InvalidOptions` for options
 * it cannot work with (when called, not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> => {
  check(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (model): LanguageModel.Service => withTimeouts(model, options))
  )
}
