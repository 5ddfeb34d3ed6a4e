import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * What a policy takes from its context: known when the policy was built (its layer form, so a call
 * pays no lookup), or an effect that looks it up per call (its combinator form).
 *
 * @internal
 */
export type Given<A, R> = Known<A> | Effect.Effect<A, never, R>

/** @internal */
export class Known<A> {
  constructor(readonly value: A) {}
}

/**
 * `f` of what is given, when the effect runs (not when it is built: an effect built once and run
 * again decides again).
 *
 * @internal
 */
export const withGiven = <A, R, B, E, R2>(
  given: Given<A, R>,
  f: (a: A) => Effect.Effect<B, E, R2>
): Effect.Effect<B, E, R | R2> =>
  given instanceof Known ? Effect.suspend(() => f(given.value)) : Effect.flatMap(given, f)

/**
 * `f` of what is given and the fiber's clock: for a known value one effect step in all (the clock
 * read off the fiber), else the lookup and `Effect.clockWith`.
 *
 * @internal
 */
export const withGivenAndClock = <A, R, B, E, R2>(
  given: Given<A, R>,
  f: (a: A, clock: Clock.Clock) => Effect.Effect<B, E, R2>
): Effect.Effect<B, E, R | R2> =>
  given instanceof Known
    ? Effect.withFiberRuntime((fiber) => f(given.value, Context.get(fiber.currentDefaultServices, Clock.Clock)))
    : Effect.flatMap(given, (a) => Effect.clockWith((clock) => f(a, clock)))
