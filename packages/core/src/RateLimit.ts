/**
 * Client-side rate limiting per provider and model, so the client slows down before the provider
 * refuses it:
 *
 * - configured limits: requests and tokens per minute (token buckets over `Clock`; a call that
 *   does not fit reserves its slot and waits for it);
 * - learned limits: the `remaining` / `reset` the provider reported on the last answer
 *   (`Completion.rateLimit`, from its rate-limit headers) are spent locally by the calls that
 *   follow, so when they run out the next calls wait for the reset instead of collecting 429s;
 *   a `RateLimited` with `retryAfter` holds every call to that model until then; the provider's
 *   announced limits are adopted when none is configured;
 * - waiting or failing by policy: `onLimit: "wait"` (up to `maxWait`) or `"fail"`, failing with
 *   `RateLimited` (client-side, with the `retryAfter` it would have waited).
 *
 * Every wait emits a `RateLimitWait` call event. The tokens of a call are estimated before it
 * (`ceil(chars / 4) + maxOutputTokens` by default) and reconciled to the reported usage after.
 *
 * `@effect/experimental`'s `RateLimiter` was the first candidate: its limits are fixed per call
 * site and it cannot take in a provider's `remaining` / `reset`, so this module keeps its own small
 * buckets (in memory, per `withLimits`).
 *
 * {@link withLimits} and {@link layer} throw `InvalidOptions` for options they cannot work with (a
 * limit of zero, an unknown `onLimit`). Limits returned by a `limits` function are checked when the
 * model's first call reads them, and a bad one fails that call with `InvalidOptions` as a defect.
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as RateLimit from "@effect-llm/core/RateLimit"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * const model = base.pipe(RateLimit.withLimits({ limits: { requestsPerMinute: 500, tokensPerMinute: 200_000 } }))
 * ```
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import type { Completion } from "./Completion.js"
import { contentText, type GenerateRequest } from "./GenerateRequest.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import { policyWait as sleepWithin } from "./internal/timeoutDeadline.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { RateLimited } from "./LlmError.js"

/**
 * Limits of one provider and model: each a finite number greater than zero.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly requestsPerMinute?: number
  readonly tokensPerMinute?: number
}

/** Checks limits, throwing `InvalidOptions` for one it cannot work with. */
const checkLimits = (limits: Limits | undefined): Limits | undefined => {
  InvalidOptions.positive("RateLimit", "limits.requestsPerMinute", limits?.requestsPerMinute)
  InvalidOptions.positive("RateLimit", "limits.tokensPerMinute", limits?.tokensPerMinute)
  return limits
}

/**
 * Options of client-side rate limiting.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Configured limits, for every model or per provider and model (a function's limits are checked
   * at the first call of each model). Default: none (learned only).
   */
  readonly limits?: Limits | ((provider: string, model: string) => Limits | undefined)
  /** Learn from the providers' rate-limit headers and `retry-after`. Default `true`. */
  readonly learn?: boolean
  /** Wait for a slot, or fail with `RateLimited` at once. Default `"wait"`. */
  readonly onLimit?: "wait" | "fail"
  /**
   * The longest wait; a call that would wait longer fails with `RateLimited`. At least zero;
   * `Duration.infinity` waits as long as it takes. Default 60 s.
   */
  readonly maxWait?: Duration.DurationInput
  /** The tokens a request will use (input + output). Default `ceil(chars / 4) + maxOutputTokens`. */
  readonly estimateTokens?: (request: GenerateRequest) => number
}

/**
 * The default token estimate: a quarter of the messages' characters plus the requested output.
 *
 * @since 0.1.0
 * @category utils
 */
export const estimateTokens = (request: GenerateRequest): number => {
  let chars = 0
  for (const message of request.messages) chars += contentText(message.content).length
  return Math.ceil(chars / 4) + (request.maxOutputTokens ?? 0)
}

class Bucket {
  level: number
  updated: number
  constructor(readonly perMinute: number, now: number) {
    this.level = perMinute
    this.updated = now
  }
  get rate() {
    return this.perMinute / 60_000
  }
  refill(now: number) {
    if (now > this.updated) {
      this.level = Math.min(this.perMinute, this.level + (now - this.updated) * this.rate)
      this.updated = now
    }
  }
  /** Takes `cost` (the level may go below zero: a reservation); returns the wait in ms. */
  take(cost: number, now: number): number {
    this.refill(now)
    this.level -= cost
    return this.level >= 0 ? 0 : Math.ceil(-this.level / this.rate)
  }
  give(amount: number, now: number) {
    this.refill(now)
    this.level = Math.min(this.perMinute, this.level + amount)
  }
}

interface Learned {
  remaining: number
  resetAt: number
}

class Limiter {
  requests: Bucket | undefined
  tokens: Bucket | undefined
  learnedRequests: Learned | undefined
  learnedTokens: Learned | undefined
  blockedUntil = 0
  constructor(limits: Limits | undefined, now: number) {
    if (limits?.requestsPerMinute !== undefined) this.requests = new Bucket(limits.requestsPerMinute, now)
    if (limits?.tokensPerMinute !== undefined) this.tokens = new Bucket(limits.tokensPerMinute, now)
  }

  /** Reserves a slot; returns the wait and the limit that imposed it. */
  acquire(cost: number, now: number): { wait: number; limit: "requests" | "tokens"; undo: () => void } {
    let wait = Math.max(0, this.blockedUntil - now)
    let limit: "requests" | "tokens" = "requests"
    const undo: Array<() => void> = []
    if (this.requests !== undefined) {
      const bucket = this.requests
      const w = bucket.take(1, now)
      undo.push(() => bucket.give(1, now))
      if (w > wait) wait = w
    }
    if (this.tokens !== undefined) {
      const bucket = this.tokens
      const w = bucket.take(cost, now)
      undo.push(() => bucket.give(cost, now))
      if (w > wait) {
        wait = w
        limit = "tokens"
      }
    }
    const lr = this.learnedRequests
    if (lr !== undefined && now < lr.resetAt) {
      if (lr.remaining >= 1) {
        lr.remaining -= 1
        undo.push(() => lr.remaining += 1)
      } else if (lr.resetAt - now > wait) {
        wait = lr.resetAt - now
        limit = "requests"
      }
    }
    const lt = this.learnedTokens
    if (lt !== undefined && now < lt.resetAt) {
      if (lt.remaining >= cost) {
        lt.remaining -= cost
        undo.push(() => lt.remaining += cost)
      } else if (lt.resetAt - now > wait) {
        wait = lt.resetAt - now
        limit = "tokens"
      }
    }
    return { wait, limit, undo: () => undo.forEach((f) => f()) }
  }

  learn(completion: Completion, estimate: number, now: number, fromHeaders: boolean, configured: Limits | undefined) {
    const info = completion.rateLimit
    const actual = completion.usage.inputTokens + completion.usage.outputTokens
    if (this.tokens !== undefined && estimate !== actual) this.tokens.give(estimate - actual, now)
    if (!fromHeaders || info === undefined) return
    if (info.remainingRequests !== undefined && info.resetRequestsMillis !== undefined) {
      this.learnedRequests = { remaining: info.remainingRequests, resetAt: now + info.resetRequestsMillis }
    }
    if (info.remainingTokens !== undefined && info.resetTokensMillis !== undefined) {
      this.learnedTokens = { remaining: info.remainingTokens, resetAt: now + info.resetTokensMillis }
    }
    if (configured?.requestsPerMinute === undefined && info.limitRequests !== undefined) {
      if (this.requests?.perMinute !== info.limitRequests) this.requests = new Bucket(info.limitRequests, now)
    }
    if (configured?.tokensPerMinute === undefined && info.limitTokens !== undefined) {
      if (this.tokens?.perMinute !== info.limitTokens) this.tokens = new Bucket(info.limitTokens, now)
    }
  }

  block(untilMillis: number) {
    if (untilMillis > this.blockedUntil) this.blockedUntil = untilMillis
  }
}

/**
 * Checks options, throwing `InvalidOptions` for one it cannot work with (limits given as a function
 * are checked where they are read); returns the decoded `maxWait`.
 */
const check = (options: Options | undefined): Duration.Duration | undefined => {
  if (typeof options?.limits !== "function") checkLimits(options?.limits)
  InvalidOptions.oneOf("RateLimit", "onLimit", options?.onLimit, ["wait", "fail"])
  return InvalidOptions.duration("RateLimit", "maxWait", options?.maxWait, { infinite: true })
}

/**
 * Limits a model's calls. Adds `RateLimited` (a client-side refusal when the policy fails instead of
 * waiting) to its errors. Throws `InvalidOptions` for options it cannot work with, when it is
 * applied to the model.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLimits: {
  (options?: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E | RateLimited, R>
  <E, R>(self: LanguageModel.With<E, R>, options?: Options): LanguageModel.With<E | RateLimited, R>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R>(self: LanguageModel.With<E, R>, options?: Options): LanguageModel.With<E | RateLimited, R> => {
    const checkedMaxWait = check(options)
    const provider = self.provider
    const learn = options?.learn ?? true
    const failFast = options?.onLimit === "fail"
    const maxWait = Duration.toMillis(checkedMaxWait ?? Duration.seconds(60))
    const estimate = options?.estimateTokens ?? estimateTokens
    const limitsOption = options?.limits
    const limitsOf = (model: string): Limits | undefined =>
      typeof limitsOption === "function" ? limitsOption(provider, model) : limitsOption
    const limiters = new Map<string, Limiter>()
    const limiterOf = (model: string, now: number) => {
      let limiter = limiters.get(model)
      if (limiter === undefined) {
        // static limits were checked above; a function's, once per model, here
        const limits = limitsOf(model)
        limiter = new Limiter(typeof limitsOption === "function" ? checkLimits(limits) : limits, now)
        limiters.set(model, limiter)
      }
      return limiter
    }
    // the wait for a slot, or nothing when one is free now (the common case adds no step)
    const admit = (clock: Clock.Clock, limiter: Limiter, model: string, cost: number, request: GenerateRequest) => {
      const now = clock.unsafeCurrentTimeMillis()
      const { limit, undo, wait } = limiter.acquire(cost, now)
      if (wait <= 0) return undefined
      if (failFast || wait > maxWait) {
        undo()
        return Effect.fail(new RateLimited({ provider, model, retryAfter: Duration.millis(wait), limit }))
      }
      return Effect.zipRight(
        CallEvent.emit({ _tag: "RateLimitWait", provider, model, delayMillis: wait, limit }),
        // ends at the call's deadline (under a `Timeout` that delegates it), giving the slot back
        Effect.tapError(sleepWithin(wait, request), () => Effect.sync(undo))
      )
    }
    // what a call teaches the limiter: a refusal's retry-after, or the limits its answer announced
    const failed = (clock: Clock.Clock, limiter: Limiter, error: unknown): void => {
      if (learn && internal.isTaggedError(error) && error._tag === "RateLimited" && error.retryAfter !== undefined) {
        limiter.block(clock.unsafeCurrentTimeMillis() + Duration.toMillis(error.retryAfter))
      }
    }
    const answered = (clock: Clock.Clock, limiter: Limiter, model: string, cost: number, completion: Completion) => {
      if (learn || limiter.tokens !== undefined) {
        limiter.learn(completion, cost, clock.unsafeCurrentTimeMillis(), learn, limitsOf(model))
      }
    }
    /** A call (a `generate`, or a `streamEach` learning from its completion) waits for its slot. */
    const limited = <E2, R2>(
      request: GenerateRequest,
      call: (request: GenerateRequest) => Effect.Effect<Completion, E2, R2>
    ): Effect.Effect<Completion, E2 | RateLimited, R2> =>
      Effect.clockWith((clock) => {
        const model = request.model ?? self.model
        const limiter = limiterOf(model, clock.unsafeCurrentTimeMillis())
        const cost = estimate(request)
        const run = Effect.mapBoth(call(request), {
          onSuccess: (completion) => {
            answered(clock, limiter, model, cost, completion)
            return completion
          },
          onFailure: (error) => {
            failed(clock, limiter, error)
            return error
          }
        })
        const admitted = admit(clock, limiter, model, cost, request)
        return admitted === undefined ? run : Effect.zipRight(admitted, run)
      })
    return LanguageModel.transform(self, {
      keepsDeadlines: true,
      generate: (generate) => (request) => limited(request, generate),
      streamEach: (streamEach) => (request, onEvent) => limited(request, (request) => streamEach(request, onEvent)),
      stream: (stream) => (request) =>
        internalStream.unwrap(Effect.clockWith((clock) => {
          const model = request.model ?? self.model
          const limiter = limiterOf(model, clock.unsafeCurrentTimeMillis())
          const cost = estimate(request)
          const admitted = admit(clock, limiter, model, cost, request)
          const events = stream(request).pipe(
            Stream.mapChunks((chunk) => {
              for (const event of chunk) {
                if (event._tag === "Finish") answered(clock, limiter, model, cost, event.completion)
              }
              return chunk
            }),
            Stream.tapError((error) => Effect.sync(() => failed(clock, limiter, error)))
          )
          return admitted === undefined ? Effect.succeed(events) : Effect.as(admitted, events)
        }))
    })
  }
)

/**
 * Client-side rate limiting as a layer around the `LanguageModel` below it. Throws
 * `InvalidOptions` for options it cannot work with (when called, not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> => {
  check(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (model): LanguageModel.Service => withLimits(model, options))
  )
}
