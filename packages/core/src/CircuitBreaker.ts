/**
 * A circuit breaker per provider and model: closed (calls go through and are counted), open (calls
 * fail at once with `CircuitOpen` without reaching the provider, so a fallback skips the model),
 * half-open after a cooldown (a limited number of probe calls; all succeeding closes it, one
 * failing opens it again). It opens when the share of provider-side failures
 * (`LlmError.isProviderSide`) over a sliding window reaches a threshold with a minimum number of
 * calls. Caller-side errors (`InvalidRequest`, `ContentFiltered`, ...) count as answers.
 *
 * State lives behind the `BreakerStore` tag, so instances can share it; every change emits a
 * `CircuitStateChanged` call event.
 *
 * {@link config} (and so {@link withBreaker}, {@link withStore}, {@link layer} and {@link state})
 * throws `InvalidOptions` for options it cannot work with (a threshold above 1, zero probes).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as BreakerStore from "@effect-llm/core/BreakerStore"
 * import * as CircuitBreaker from "@effect-llm/core/CircuitBreaker"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * const model = base.pipe(CircuitBreaker.withBreaker({ failureRateThreshold: 0.5, cooldown: "30 seconds" }))
 * const program = model.generate({ messages: [{ role: "user", content: "Hi" }] }).pipe(
 *   Effect.provide(BreakerStore.layerMemory)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BreakerStore from "./BreakerStore.js"
import * as CallEvent from "./CallEvent.js"
import { afterExit } from "./internal/afterExit.js"
import { type Given, Known, withGivenAndClock } from "./internal/given.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import * as LlmError from "./LlmError.js"

/**
 * Options of a breaker. Every field is optional; the defaults are `BreakerStore.defaultConfig`'s.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Opens at this share of failures in the window: in (0, 1], a share, not a percentage. Default 0.5. */
  readonly failureRateThreshold?: number
  /** ... with at least this many calls in the window: an integer of at least 1. Default 10. */
  readonly minimumCalls?: number
  /** The sliding window: longer than zero, finite. Default 60 s. */
  readonly window?: Duration.DurationInput
  /** Open for this long before probes: at least zero (0: probes at once), finite. Default 30 s. */
  readonly cooldown?: Duration.DurationInput
  /** Probe calls let through when half-open: an integer of at least 1. Default 1. */
  readonly halfOpenProbes?: number
  /** Which errors count as failures. Default: provider-side errors except `CircuitOpen`. */
  readonly isFailure?: (error: LlmError.LlmError) => boolean
}

/**
 * The default: provider-side errors count, except a `CircuitOpen` from a breaker further down.
 *
 * @since 0.1.0
 * @category classification
 */
export const defaultIsFailure = (error: LlmError.LlmError): boolean =>
  error._tag !== "CircuitOpen" && LlmError.isProviderSide(error)

/**
 * The store configuration of some options. Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category utils
 */
export const config = (options?: Options): BreakerStore.Config => {
  InvalidOptions.share("CircuitBreaker", "failureRateThreshold", options?.failureRateThreshold)
  InvalidOptions.integer("CircuitBreaker", "minimumCalls", options?.minimumCalls, 1)
  const window = InvalidOptions.duration("CircuitBreaker", "window", options?.window, { positive: true })
  const cooldown = InvalidOptions.duration("CircuitBreaker", "cooldown", options?.cooldown)
  InvalidOptions.integer("CircuitBreaker", "halfOpenProbes", options?.halfOpenProbes, 1)
  return {
    failureRateThreshold: options?.failureRateThreshold ?? BreakerStore.defaultConfig.failureRateThreshold,
    minimumCalls: options?.minimumCalls ?? BreakerStore.defaultConfig.minimumCalls,
    windowMillis: window === undefined ? BreakerStore.defaultConfig.windowMillis : Duration.toMillis(window),
    cooldownMillis: cooldown === undefined ? BreakerStore.defaultConfig.cooldownMillis : Duration.toMillis(cooldown),
    halfOpenProbes: options?.halfOpenProbes ?? BreakerStore.defaultConfig.halfOpenProbes
  }
}

/**
 * The key of a breaker: `provider/model`.
 *
 * @since 0.1.0
 * @category utils
 */
export const key = (provider: string, model: string): string => `${provider}/${model}`

/**
 * Puts a circuit breaker in front of a model's calls. Adds `CircuitOpen` to the errors and
 * `BreakerStore` to the requirements.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withBreaker: {
  (
    options?: Options
  ): <E, R>(
    self: LanguageModel.With<E, R>
  ) => LanguageModel.With<E | LlmError.CircuitOpen, R | BreakerStore.BreakerStore>
  <E, R>(
    self: LanguageModel.With<E, R>,
    options?: Options
  ): LanguageModel.With<E | LlmError.CircuitOpen, R | BreakerStore.BreakerStore>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R>(
    self: LanguageModel.With<E, R>,
    options?: Options
  ): LanguageModel.With<E | LlmError.CircuitOpen, R | BreakerStore.BreakerStore> =>
    withStore(self, BreakerStore.BreakerStore, options)
)

/**
 * {@link withBreaker} with the store given (e.g. a store built once), or taken per call from
 * `store` when it is an effect (e.g. the one in context, or a default one). Throws
 * `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withStore = <E, R, RS = never>(
  self: LanguageModel.With<E, R>,
  store: BreakerStore.Service | Effect.Effect<BreakerStore.Service, never, RS>,
  options?: Options
): LanguageModel.With<E | LlmError.CircuitOpen, R | RS> => withConfig(self, store, config(options), options)

/** {@link withStore} with the options already turned into a store configuration. */
const withConfig = <E, R, RS = never>(
  self: LanguageModel.With<E, R>,
  store: BreakerStore.Service | Effect.Effect<BreakerStore.Service, never, RS>,
  cfg: BreakerStore.Config,
  options: Options | undefined
): LanguageModel.With<E | LlmError.CircuitOpen, R | RS> => {
  const given: Given<BreakerStore.Service, RS> = Effect.isEffect(store) ? store : new Known(store)
  const isFailure = options?.isFailure ?? defaultIsFailure
  const provider = self.provider
  // the store key of each model called, made once (not a string built and hashed per call)
  const keys = new Map<string, string>()
  const keyOf = (model: string): string => {
    let k = keys.get(model)
    if (k === undefined) {
      k = key(provider, model)
      if (keys.size < 1_000) keys.set(model, k)
    }
    return k
  }
  const outcomeOf = (exit: Exit.Exit<unknown, unknown>): BreakerStore.Outcome => {
    if (exit._tag === "Success") return "success"
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      return internal.isTaggedError(error) && !isFailure(error) ? "success" : "failure"
    }
    return Cause.isInterruptedOnly(exit.cause) ? "cancelled" : "failure"
  }
  const changed = (model: string, transition: BreakerStore.Transition): Effect.Effect<void> =>
    CallEvent.emit({ _tag: "CircuitStateChanged", provider, model, from: transition.from, to: transition.to })
  /** What a call's end changed: nothing to run, or the `CircuitStateChanged` event. */
  const afterRecord = (model: string, transition: BreakerStore.Transition | undefined) =>
    transition === undefined ? undefined : changed(model, transition)
  const decided = <A, E2, R2>(
    model: string,
    decision: BreakerStore.Decision,
    run: (probe: boolean) => Effect.Effect<A, E2, R2>
  ): Effect.Effect<A, E2 | LlmError.CircuitOpen, R2> => {
    if (decision._tag !== "Allowed") {
      const open = new LlmError.CircuitOpen({ provider, model, retryAt: DateTime.unsafeMake(decision.retryAtMillis) })
      return decision.transition === undefined
        ? Effect.fail(open)
        : Effect.zipRight(changed(model, decision.transition), Effect.fail(open))
    }
    return decision.transition === undefined
      ? run(decision.probe)
      : Effect.zipRight(changed(model, decision.transition), run(decision.probe))
  }
  const guard = <A, E2, R2>(
    model: string,
    f: (record: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void> | undefined) => Effect.Effect<A, E2, R2>
  ): Effect.Effect<A, E2 | LlmError.CircuitOpen, R2 | RS> => {
    const k = keyOf(model)
    return withGivenAndClock(given, (store, clock) => {
      const sync = store.sync
      if (sync !== undefined) {
        // a store in the process: decide and record in plain code, no effect per store operation
        return decided(
          model,
          sync.acquire(k, cfg, clock.unsafeCurrentTimeMillis()),
          (probe) =>
            f((exit) =>
              afterRecord(model, sync.record(k, cfg, clock.unsafeCurrentTimeMillis(), outcomeOf(exit), probe))
            )
        )
      }
      return Effect.flatMap(
        store.acquire(k, cfg, clock.unsafeCurrentTimeMillis()),
        (decision) =>
          decided(model, decision, (probe) =>
            f((exit) =>
              Effect.flatMap(
                store.record(k, cfg, clock.unsafeCurrentTimeMillis(), outcomeOf(exit), probe),
                (transition) => afterRecord(model, transition) ?? Effect.void
              )
            ))
      )
    })
  }
  return LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) =>
      guard(request.model ?? self.model, (record) => afterExit(generate(request), record)),
    streamEach: (streamEach) => (request, onEvent) =>
      guard(request.model ?? self.model, (record) => {
        // a caller that stops reading after the provider answered ends the call by interruption: as
        // with `stream` (whose early end is a success), that says nothing against the provider
        let answered = false
        const each: LanguageModel.OnEvent = (event) => {
          answered = true
          return onEvent(event)
        }
        return afterExit(
          streamEach(request, each),
          (exit) =>
            record(answered && exit._tag === "Failure" && Cause.isInterruptedOnly(exit.cause) ? Exit.void : exit)
        )
      }),
    stream: (stream) => (request) =>
      internalStream.unwrap(
        guard(
          request.model ?? self.model,
          (record) => Effect.succeed(Stream.ensuringWith(stream(request), (exit) => record(exit) ?? Effect.void))
        )
      )
  })
}

/**
 * The breaker as a layer around the `LanguageModel` below it (state in the `BreakerStore` in
 * context, e.g. `BreakerStore.layerMemory`). Throws `InvalidOptions` for options it cannot work
 * with (when called, not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | BreakerStore.BreakerStore> => {
  const cfg = config(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const model = yield* LanguageModel.LanguageModel
      const store = yield* BreakerStore.BreakerStore
      return withConfig(model, store, cfg, options) as LanguageModel.Service
    })
  )
}

/**
 * The state of the breaker of a provider and model. Throws `InvalidOptions` for options it cannot
 * work with (when called).
 *
 * @since 0.1.0
 * @category accessors
 */
export const state = (
  provider: string,
  model: string,
  options?: Options
): Effect.Effect<BreakerStore.State, never, BreakerStore.BreakerStore> => {
  const cfg = config(options)
  return Effect.flatMap(
    BreakerStore.BreakerStore,
    (store) => Effect.clockWith((clock) => store.state(key(provider, model), cfg, clock.unsafeCurrentTimeMillis()))
  )
}
