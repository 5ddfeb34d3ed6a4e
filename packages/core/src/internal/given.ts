import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"

/**
 * What a policy takes from its context: known when the policy was built (its layer form, so a call
 * pays no lookup), or an effect that looks it up per call (its combinator form; a service tag is
 * read from the fiber's context, with no effect of its own).
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
 * {@link withGiven} with the running fiber too, in one step when what is given is known or is a
 * service tag.
 *
 * @internal
 */
export const withGivenFiber = <A, R, B, E, R2>(
  given: Given<A, R>,
  f: (a: A, fiber: Fiber.RuntimeFiber<unknown, unknown>, flags: RuntimeFlags.RuntimeFlags) => Effect.Effect<B, E, R2>
): Effect.Effect<B, E, R | R2> => {
  if (given instanceof Known) {
    return Effect.withFiberRuntime((fiber, status) => f(given.value, fiber, status.runtimeFlags))
  }
  if (Context.isTag(given)) {
    const tag = given as unknown as Context.Tag<unknown, A>
    return Effect.withFiberRuntime((fiber, status) =>
      f(Context.unsafeGet(fiber.currentContext, tag), fiber, status.runtimeFlags)
    )
  }
  return Effect.flatMap(
    given,
    (a) => Effect.withFiberRuntime((fiber, status) => f(a, fiber, status.runtimeFlags))
  )
}

/** The clock of a running fiber (read off it: no effect). @internal */
export const clockOf = (fiber: { readonly currentDefaultServices: Context.Context<never> }): Clock.Clock =>
  Context.get(fiber.currentDefaultServices as Context.Context<Clock.Clock>, Clock.Clock)

/**
 * {@link withGiven} with the clock too, in one step when what is given is known or is a service tag.
 *
 * @internal
 */
export const withGivenAndClock = <A, R, B, E, R2>(
  given: Given<A, R>,
  f: (a: A, clock: Clock.Clock) => Effect.Effect<B, E, R2>
): Effect.Effect<B, E, R | R2> => withGivenFiber(given, (a, fiber) => f(a, clockOf(fiber)))

/**
 * A runtime with a running fiber's context and fiber refs (and `runtimeFlags`, default Effect's
 * defaults), to run effects in fibers of their own that inherit them (timers, a shared upstream
 * call) without an effect in the fiber itself.
 *
 * @internal
 */
export const runtimeOf = <R = never>(
  fiber: {
    readonly currentContext: Context.Context<never>
    getFiberRefs(): import("effect/FiberRefs").FiberRefs
  },
  runtimeFlags: RuntimeFlags.RuntimeFlags = Runtime.defaultRuntimeFlags
): Runtime.Runtime<R> =>
  Runtime.make({ context: fiber.currentContext as Context.Context<R>, fiberRefs: fiber.getFiberRefs(), runtimeFlags })
