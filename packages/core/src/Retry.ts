/**
 * Retrying failed model calls: exponential backoff with full jitter and a cap per delay (a
 * `Schedule` you can replace), `retry-after` honoured up to a longest wait, a number of retries per
 * error tag, and a retry budget per provider so an outage does not turn into a retry storm.
 *
 * Streams are retried only before their first event: once the caller has seen text, a failure
 * passes through (as `StreamInterrupted` from the provider) and is never restarted silently.
 *
 * Every retry emits a `RetryScheduled` call event (and `AttemptStarted` when it starts), and the
 * failed attempts are recorded at the front of the `Completion`'s `attempts`.
 *
 * {@link backoff}, {@link makeBudget}, {@link withPolicy} and {@link layer} throw `InvalidOptions`
 * for options they cannot work with (a negative retry count, a factor below 1, an unknown error tag).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as Retry from "@effect-llm/core/Retry"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * // on a model value (keeps its error type)
 * const model = base.pipe(Retry.withPolicy({ ...Retry.standard, maxRetries: 2 }))
 *
 * // or around whatever `LanguageModel` is below it
 * const layer = Retry.layer(Retry.standard).pipe(Layer.provide(LanguageModel.layer(base)))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import type { Attempt, Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { always, beforeFirstEvent, withTrail } from "./internal/each.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import { policyWait as sleepWithin } from "./internal/timeoutDeadline.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { type LlmError, type Tag, tags } from "./LlmError.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * Options of the default backoff.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** The first delay before jitter: longer than zero, finite. Default 500 ms. */
  readonly base?: Duration.DurationInput
  /** The growth factor: finite, at least 1 (1 keeps the delay constant). Default 2. */
  readonly factor?: number
  /**
   * The longest delay, before jitter: longer than zero and not shorter than `base`;
   * `Duration.infinity` for no cap. Default 20 s.
   */
  readonly cap?: Duration.DurationInput
  /**
   * `full` (the default): each delay is uniform in `[0, min(cap, base * factor^n))`, drawn from
   * Effect's `Random` service (seed it in tests with `Effect.withRandom(Random.make(seed))`).
   * `none`: the capped exponential delay itself.
   */
  readonly jitter?: "full" | "none"
}

/**
 * Exponential backoff, capped, with full jitter (AWS's "full jitter"): the delays of a retry.
 * Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category schedules
 */
export const backoff = (options?: BackoffOptions): Schedule.Schedule<Duration.Duration> => {
  const base = InvalidOptions.duration("Retry", "base", options?.base, { positive: true }) ?? Duration.millis(500)
  InvalidOptions.atLeast("Retry", "factor", options?.factor, 1)
  const factor = options?.factor ?? 2
  const cap = InvalidOptions.duration("Retry", "cap", options?.cap, { positive: true, infinite: true })
  if (cap !== undefined && options?.base !== undefined && Duration.lessThan(cap, base)) {
    InvalidOptions.invalid("Retry", "cap", `must not be shorter than \`base\` (${Duration.format(base)})`)
  }
  InvalidOptions.oneOf("Retry", "jitter", options?.jitter, ["full", "none"])
  const capMillis = Duration.toMillis(cap ?? Duration.seconds(20))
  const full = (options?.jitter ?? "full") === "full"
  return Schedule.exponential(base, factor).pipe(
    Schedule.modifyDelayEffect((_, delay) => {
      const capped = Math.min(capMillis, Duration.toMillis(delay))
      return full
        ? Effect.map(Random.next, (u) => Duration.millis(Math.floor(capped * u)))
        : Effect.succeed(Duration.millis(capped))
    })
  )
}

/**
 * Options of a retry budget.
 *
 * @since 0.1.0
 * @category models
 */
export interface BudgetOptions {
  /** Retries may be at most this share of the calls in the window: finite, at least 0. Default 0.2 (20%). */
  readonly ratio?: number
  /**
   * Retries always allowed per window, whatever the ratio (so quiet services still retry): an
   * integer of at least 0. Default 10.
   */
  readonly minRetries?: number
  /** The sliding window: longer than zero, finite. Default 10 s (kept as 10 buckets). */
  readonly window?: Duration.DurationInput
}

const BudgetTypeId: unique symbol = Symbol.for("@effect-llm/core/Retry/Budget")

/**
 * A retry budget: retries at most `ratio` of the calls per provider over a sliding window (as Envoy
 * and gRPC do). Share one between several models with `budget: Retry.makeBudget(...)`; otherwise
 * each `withPolicy` gets its own.
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  readonly [BudgetTypeId]: typeof BudgetTypeId
  /** Counts a first attempt for `provider` at `now`. */
  readonly recordCall: (provider: string, now: number) => void
  /** Whether a retry is allowed now; when it is, counts it. */
  readonly tryRetry: (provider: string, now: number) => boolean
  /** The calls and retries counted in the window ending at `now`. */
  readonly usage: (provider: string, now: number) => { readonly calls: number; readonly retries: number }
}

const BUCKETS = 10

class SlidingWindow {
  readonly stamps = new Float64Array(BUCKETS).fill(-1)
  readonly calls = new Float64Array(BUCKETS)
  readonly retries = new Float64Array(BUCKETS)
  constructor(readonly bucketMillis: number) {}
  slot(now: number): number {
    const index = Math.floor(now / this.bucketMillis)
    const slot = index % BUCKETS
    if (this.stamps[slot] !== index) {
      this.stamps[slot] = index
      this.calls[slot] = 0
      this.retries[slot] = 0
    }
    return slot
  }
  totals(now: number): { calls: number; retries: number } {
    const index = Math.floor(now / this.bucketMillis)
    let calls = 0
    let retries = 0
    for (let i = 0; i < BUCKETS; i++) {
      const stamp = this.stamps[i]!
      if (stamp > index - BUCKETS && stamp <= index) {
        calls += this.calls[i]!
        retries += this.retries[i]!
      }
    }
    return { calls, retries }
  }
}

/**
 * Checks budget options (throws `InvalidOptions` for options it cannot work with; `prefix` is
 * `"budget."` inside a policy's options); returns the decoded window.
 */
const checkBudget = (options: BudgetOptions | undefined, prefix = ""): Duration.Duration | undefined => {
  InvalidOptions.nonNegative("Retry", `${prefix}ratio`, options?.ratio)
  InvalidOptions.integer("Retry", `${prefix}minRetries`, options?.minRetries, 0)
  return InvalidOptions.duration("Retry", `${prefix}window`, options?.window, { positive: true })
}

/**
 * A retry budget (see {@link Budget}). Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBudget = (options?: BudgetOptions): Budget => {
  const window = checkBudget(options)
  const ratio = options?.ratio ?? 0.2
  const minRetries = options?.minRetries ?? 10
  const bucketMillis = Math.max(1, Duration.toMillis(window ?? Duration.seconds(10)) / BUCKETS)
  const windows = new Map<string, SlidingWindow>()
  const windowOf = (provider: string) => {
    let window = windows.get(provider)
    if (window === undefined) {
      window = new SlidingWindow(bucketMillis)
      windows.set(provider, window)
    }
    return window
  }
  return {
    [BudgetTypeId]: BudgetTypeId,
    recordCall: (provider, now) => {
      const window = windowOf(provider)
      window.calls[window.slot(now)]!++
    },
    tryRetry: (provider, now) => {
      const window = windowOf(provider)
      const slot = window.slot(now)
      const { calls, retries } = window.totals(now)
      if (retries >= Math.max(minRetries, ratio * calls)) return false
      window.retries[slot]!++
      return true
    },
    usage: (provider, now) => windowOf(provider).totals(now)
  }
}

/**
 * How a model's calls are retried. Every field is optional; {@link standard} holds the defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The delays between attempts (its input is the error). Default: {@link backoff}`()`: 500 ms
   * doubling, capped at 20 s, full jitter. A schedule that ends stops the retries.
   */
  readonly schedule?: Schedule.Schedule<unknown, LlmError>
  /**
   * Retries allowed per error tag within one call (integers of at least 0, keyed by `LlmError`
   * tags); a tag not listed is never retried. Default {@link defaultRetries}.
   */
  readonly retries?: Partial<Record<Tag, number>>
  /** Retries allowed in one call across all tags: an integer of at least 0. Default 4. */
  readonly maxRetries?: number
  /**
   * The longest `retry-after` a `RateLimited` is waited for. When the provider asks for longer, the
   * call fails at once (so a fallback moves on) instead of sleeping. At least 0 (0: never wait for a
   * `retry-after`); `Duration.infinity` waits whatever is asked. Default 30 s.
   */
  readonly maxRetryAfter?: Duration.DurationInput
  /** The retry budget per provider, its options, or `false` for none. Default: {@link BudgetOptions} defaults. */
  readonly budget?: BudgetOptions | Budget | false
}

/**
 * Retries per tag by default: `RateLimited` 4; `ServerError`, `Overloaded`, `ConnectionError`,
 * `Timeout` 2; `MalformedResponse` 1. Never: `InvalidRequest`, `AuthenticationFailed`,
 * `QuotaExhausted`, `ContextLengthExceeded`, `ContentFiltered`, `BudgetExceeded`, `MalformedOutput`,
 * `StreamInterrupted`, `CircuitOpen`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetries: Readonly<Partial<Record<Tag, number>>> = {
  RateLimited: 4,
  ServerError: 2,
  Overloaded: 2,
  ConnectionError: 2,
  Timeout: 2,
  MalformedResponse: 1
}

/**
 * The standard policy: {@link backoff}`()` (500 ms doubling, cap 20 s, full jitter),
 * {@link defaultRetries}, at most 4 retries per call, `retry-after` honoured up to 30 s, and a
 * budget of 20% of the calls per provider over 10 s (at least 10 retries per window).
 *
 * @since 0.1.0
 * @category constants
 */
export const standard: Options = {
  schedule: backoff(),
  retries: defaultRetries,
  maxRetries: 4,
  maxRetryAfter: Duration.seconds(30),
  budget: {}
}

interface Resolved {
  readonly schedule: Schedule.Schedule<unknown, LlmError>
  readonly retries: Partial<Record<Tag, number>>
  readonly maxRetries: number
  readonly maxRetryAfterMillis: number
  readonly budget: Budget | undefined
}

const isBudget = (u: unknown): u is Budget => typeof u === "object" && u !== null && BudgetTypeId in u

const tagSet: ReadonlySet<string> = new Set(tags)

/**
 * Checks a policy's options, throwing `InvalidOptions` for one it cannot work with; returns the
 * decoded `maxRetryAfter`. A `schedule` and a built `Budget` are taken as they are.
 */
const check = (options: Options | undefined): Duration.Duration | undefined => {
  if (options?.retries !== undefined) {
    for (const [tag, retries] of Object.entries(options.retries)) {
      if (!tagSet.has(tag)) {
        InvalidOptions.invalid("Retry", `retries.${tag}`, `is not an LlmError tag (one of ${tags.join(", ")})`)
      }
      InvalidOptions.integer("Retry", `retries.${tag}`, retries, 0)
    }
  }
  InvalidOptions.integer("Retry", "maxRetries", options?.maxRetries, 0)
  const budget = options?.budget
  if (budget !== undefined && budget !== false && !isBudget(budget)) checkBudget(budget, "budget.")
  return InvalidOptions.duration("Retry", "maxRetryAfter", options?.maxRetryAfter, { infinite: true })
}

const resolve = (options: Options | undefined): Resolved => {
  const maxRetryAfter = check(options)
  const budget = options?.budget ?? {}
  return {
    schedule: options?.schedule ?? (standard.schedule as Schedule.Schedule<unknown, LlmError>),
    retries: options?.retries ?? defaultRetries,
    maxRetries: options?.maxRetries ?? 4,
    maxRetryAfterMillis: Duration.toMillis(maxRetryAfter ?? Duration.seconds(30)),
    budget: budget === false ? undefined : isBudget(budget) ? budget : makeBudget(budget)
  }
}

/** The state of one call's retries. */
class Run {
  retries = 0
  readonly perTag: Record<string, number> = {}
  readonly trail: Array<Attempt> = []
  state: unknown
  constructor(initial: unknown) {
    this.state = initial
  }
}

/**
 * Decides whether `error` is retried. Returns the delay in milliseconds, or `undefined` to give up
 * (then the trail is attached to the error for a fallback to read).
 */
const decide = (
  policy: Resolved,
  run: Run,
  provider: string,
  model: string,
  error: unknown,
  started: number,
  clock: Clock.Clock
): Effect.Effect<number | undefined> => {
  const now = clock.unsafeCurrentTimeMillis()
  if (!internal.isTaggedError(error)) return Effect.succeed(undefined)
  run.trail.push({ provider, model, outcome: error._tag, durationMillis: now - started })
  const giveUp = () => {
    internal.setTrail(error, run.trail.slice())
    return Effect.succeed(undefined)
  }
  const tag = error._tag
  const allowed = policy.retries[tag] ?? 0
  const done = run.perTag[tag] ?? 0
  if (done >= allowed || run.retries >= policy.maxRetries) return giveUp()
  let retryAfterMillis = 0
  if (tag === "RateLimited" && error.retryAfter !== undefined) {
    retryAfterMillis = Duration.toMillis(error.retryAfter)
    if (retryAfterMillis > policy.maxRetryAfterMillis) return giveUp()
  }
  return Effect.flatMap(policy.schedule.step(now, error, run.state), ([state, , decision]) => {
    if (ScheduleDecision.isDone(decision)) return giveUp()
    if (policy.budget !== undefined && !policy.budget.tryRetry(provider, now)) return giveUp()
    run.state = state
    run.retries++
    run.perTag[tag] = done + 1
    const delay = Math.max(retryAfterMillis, Intervals.start(decision.intervals) - now, 0)
    return Effect.as(
      CallEvent.emit({
        _tag: "RetryScheduled",
        provider,
        model,
        attempt: run.retries + 1,
        delayMillis: delay,
        reason: tag
      }),
      delay
    )
  })
}

const targetModel = (self: { readonly model: string }, request: GenerateRequest) => request.model ?? self.model

/**
 * Retries a model's calls by a policy. Keeps the model's error and requirement types. Throws
 * `InvalidOptions` for options it cannot work with, when it is applied to the model.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withPolicy: {
  (options?: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E, R>
  <E, R>(self: LanguageModel.With<E, R>, options?: Options): LanguageModel.With<E, R>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R>(self: LanguageModel.With<E, R>, options?: Options): LanguageModel.With<E, R> => {
    const policy = resolve(options)
    const provider = self.provider
    /**
     * Runs `call` and retries it by the policy while `retriable()` holds; `call` is given the trail
     * of the attempts before it (none on the first).
     */
    const retrying = <E, R>(
      request: GenerateRequest,
      call: (request: GenerateRequest, trail: ReadonlyArray<Attempt> | undefined) => Effect.Effect<Completion, E, R>,
      retriable: () => boolean
    ): Effect.Effect<Completion, E, R> =>
      Effect.clockWith((clock) => {
        const model = targetModel(self, request)
        const first = clock.unsafeCurrentTimeMillis()
        policy.budget?.recordCall(provider, first)
        let run: Run | undefined
        const attempt = (started: number): Effect.Effect<Completion, E, R> =>
          Effect.catchAll(call(request, run?.trail), (error) => {
            if (!retriable()) return Effect.fail(error)
            run ??= new Run(policy.schedule.initial)
            return Effect.flatMap(decide(policy, run, provider, model, error, started, clock), (delay) =>
              delay === undefined
                ? Effect.fail(error)
                : Effect.zipRight(
                  sleepWithin(delay, request),
                  Effect.zipRight(
                    CallEvent.emit({ _tag: "AttemptStarted", provider, model, attempt: run!.retries + 1 }),
                    Effect.suspend(() =>
                      attempt(clock.unsafeCurrentTimeMillis())
                    )
                  )
                ))
          })
        return attempt(first)
      })
    return LanguageModel.transform(self, {
      keepsDeadlines: true,
      generate: (generate) => {
        // made once per model: a call allocates nothing for its attempts but the retries
        const call = (request: GenerateRequest, trail: ReadonlyArray<Attempt> | undefined) =>
          trail === undefined
            ? generate(request)
            : Effect.map(generate(request), (completion) => internal.prependTrail(completion, trail))
        return (request) => retrying(request, call, always)
      },
      streamEach: (streamEach) => (request, onEvent) => {
        const first = beforeFirstEvent(onEvent)
        return retrying(
          request,
          (request, trail) =>
            trail === undefined
              ? streamEach(request, first.onEvent)
              : withTrail((onEvent) => streamEach(request, onEvent), first.onEvent, trail),
          first.before
        )
      },
      stream: (stream) => (request) =>
        internalStream.unwrap(Effect.clockWith((clock) => {
          const model = targetModel(self, request)
          const first = clock.unsafeCurrentTimeMillis()
          policy.budget?.recordCall(provider, first)
          let run: Run | undefined
          let emitted = false
          const attempt = (started: number): Stream.Stream<StreamEvent, E, R> => {
            const events = run === undefined
              ? stream(request)
              : Stream.map(stream(request), internal.prependTrailEvent(run.trail.slice()))
            return events.pipe(
              Stream.mapChunks((chunk) => {
                if (chunk.length > 0) emitted = true
                return chunk
              }),
              Stream.catchAll((error) => {
                if (emitted) return Stream.fail(error)
                run ??= new Run(policy.schedule.initial)
                return internalStream.unwrap(Effect.map(
                  decide(policy, run, provider, model, error, started, clock),
                  (delay) =>
                    delay === undefined
                      ? Stream.fail(error)
                      : internalStream.unwrap(
                        Effect.as(
                          Effect.zipRight(
                            sleepWithin(delay, request),
                            CallEvent.emit({ _tag: "AttemptStarted", provider, model, attempt: run!.retries + 1 })
                          ),
                          Stream.suspend(() => attempt(clock.unsafeCurrentTimeMillis()))
                        )
                      )
                ))
              })
            )
          }
          return Effect.succeed(attempt(first))
        }))
    })
  }
)

/**
 * The retry policy as a layer around the `LanguageModel` below it. Throws `InvalidOptions` for
 * options it cannot work with (when called, not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> => {
  check(options)
  // each build resolves its own budget (as before), from options already checked
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (model): LanguageModel.Service => withPolicy(model, options))
  )
}
