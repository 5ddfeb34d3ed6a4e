/**
 * The usual resilience stack in one line. For each model of the chain (the model itself, then
 * each fallback), from the inside out:
 *
 * 1. client-side rate limiting ({@link RateLimit.withLimits}: learned from the provider's headers,
 *    plus any configured limits) — every attempt is paced;
 * 2. a circuit breaker ({@link CircuitBreaker.withBreaker}, defaults of `BreakerStore.defaultConfig`) —
 *    every attempt counts; an open breaker fails at once with `CircuitOpen`;
 * 3. per-attempt timeouts ({@link Timeout.standard}'s first token, idle, and the response deadline
 *    that grows with `maxOutputTokens`);
 * 4. retries ({@link Retry.standard}: exponential backoff with full jitter, retry-after, a retry budget);
 *
 * then the fallback chain ({@link Fallback.chain}, default `LlmError.isFallbackable`), and outermost
 * the `total` timeout over everything (10 minutes by default), so no call runs past it, with the
 * `connect` provider hook set for every attempt.
 *
 * The breaker state is the `BreakerStore` in context when there is one, otherwise a memory store
 * owned by the preset, so the preset requires nothing more than the models do.
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as Resilience from "@effect-llm/core/Resilience"
 *
 * declare const primary: LanguageModel.With<LlmError.ProviderError>
 * declare const backup: LanguageModel.With<LlmError.ProviderError>
 *
 * const model = primary.pipe(Resilience.standard({ fallback: [backup] }))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BreakerStore from "./BreakerStore.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Fallback from "./Fallback.js"
import * as LanguageModel from "./LanguageModel.js"
import type { CircuitOpen, LlmError, RateLimited, Timeout as TimeoutError } from "./LlmError.js"
import * as RateLimit from "./RateLimit.js"
import * as Retry from "./Retry.js"
import * as Timeout from "./Timeout.js"

/**
 * Options of the preset; each policy can be tuned or turned off with `false`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<Fallbacks extends ReadonlyArray<LanguageModel.With<any, any>>> {
  /** The models to fall back to, in order. Default none. */
  readonly fallback?: Fallbacks
  /** Which errors move on to the next model. Default `LlmError.isFallbackable`. */
  readonly fallbackWhen?: (error: LlmError) => boolean
  /** Default {@link Retry.standard}. */
  readonly retry?: Retry.Options | false
  /** Default {@link Timeout.standard} (its `total` applies to the whole call, the rest per attempt). */
  readonly timeout?: Timeout.Options | false
  /** Default `BreakerStore.defaultConfig`. */
  readonly breaker?: CircuitBreaker.Options | false
  /** Default: learned limits only. */
  readonly rateLimit?: RateLimit.Options | false
}

/**
 * The error type of the preset around a model with errors `E` and fallbacks `Fallbacks`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Errors<E, Fallbacks extends ReadonlyArray<LanguageModel.With<any, any>>> =
  | E
  | LanguageModel.Error<Fallbacks[number]>
  | TimeoutError
  | CircuitOpen
  | RateLimited

/** The `BreakerStore` in context, or the preset's own memory store. */
const storeInContextOr = (store: BreakerStore.Service): Effect.Effect<BreakerStore.Service> =>
  Effect.map(Effect.serviceOption(BreakerStore.BreakerStore), Option.getOrElse(() => store))

const build = <const Fallbacks extends ReadonlyArray<LanguageModel.With<any, any>>>(
  options: Options<Fallbacks> | undefined,
  breakerStore: BreakerStore.Service | Effect.Effect<BreakerStore.Service>
) =>
<E, R>(
  self: LanguageModel.With<E, R>
): LanguageModel.With<Errors<E, Fallbacks>, R | LanguageModel.Requirements<Fallbacks[number]>> => {
  const timeouts = options?.timeout === false ? undefined : options?.timeout ?? Timeout.standard
  // `total` and the `connect` hook (a fiber ref, inherited by every attempt) once around the call;
  // the rest per attempt
  const { connect, total, ...perAttempt } = timeouts ?? {}
  const stack = (model: LanguageModel.With<any, any>): LanguageModel.With<any, any> => {
    let out = model
    if (options?.rateLimit !== false) out = RateLimit.withLimits(out, options?.rateLimit)
    if (options?.breaker !== false) out = CircuitBreaker.withStore(out, breakerStore, options?.breaker)
    if (timeouts !== undefined && Object.keys(perAttempt).length > 0) out = Timeout.withTimeouts(out, perAttempt)
    if (options?.retry !== false) out = Retry.withPolicy(out, options?.retry ?? Retry.standard)
    return out
  }
  let out = stack(self)
  for (const other of options?.fallback ?? []) {
    out = Fallback.to(out, stack(other), options?.fallbackWhen ? { when: options.fallbackWhen } : undefined)
  }
  if (total !== undefined || connect !== undefined) {
    out = Timeout.withTimeouts(out, {
      ...(total !== undefined ? { total } : {}),
      ...(connect !== undefined ? { connect } : {})
    })
  }
  return out
}

/**
 * The standard stack around a model (see the module's documentation for the order and defaults).
 * Throws `InvalidOptions` for options one of its policies cannot work with.
 *
 * @since 0.1.0
 * @category combinators
 */
export const standard = <const Fallbacks extends ReadonlyArray<LanguageModel.With<any, any>> = []>(
  options?: Options<Fallbacks>
) =>
<E, R>(
  self: LanguageModel.With<E, R>
): LanguageModel.With<Errors<E, Fallbacks>, R | LanguageModel.Requirements<Fallbacks[number]>> =>
  build(options, storeInContextOr(BreakerStore.makeMemory()))(self)

/**
 * The standard stack as a layer around the `LanguageModel` below it. Throws `InvalidOptions` when
 * called with options one of its policies cannot work with (not later, when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <
  const Fallbacks extends ReadonlyArray<LanguageModel.With<LlmError, any>> = []
>(
  options?: Options<Fallbacks>
): Layer.Layer<
  LanguageModel.LanguageModel,
  never,
  LanguageModel.LanguageModel | LanguageModel.Requirements<Fallbacks[number]>
> => {
  // options the policies cannot work with are refused now, when the layer is made, by building the
  // stack once over a stand-in model (the real build runs when the layer does)
  build(options, BreakerStore.makeMemory())(standIn)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const model = yield* LanguageModel.LanguageModel
      // the breaker's store is taken once, here: calls do not look it up
      const store = Option.getOrElse(yield* Effect.serviceOption(BreakerStore.BreakerStore), BreakerStore.makeMemory)
      const built = build(options, store)(model)
      if ((options?.fallback ?? []).length === 0) return built as LanguageModel.Service
      // the fallbacks' requirements, from the layer's context
      const context = yield* Effect.context<LanguageModel.Requirements<Fallbacks[number]>>()
      return LanguageModel.provideContext(built, context) as LanguageModel.Service
    })
  )
}

const standIn = LanguageModel.make({
  provider: "stand-in",
  model: "stand-in",
  generate: () => Effect.dieMessage("Resilience: the stand-in model is never called"),
  stream: () => Stream.dieMessage("Resilience: the stand-in model is never called")
})
