import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * `Effect.onExit` for a policy whose bookkeeping is plain code: `f` runs on every exit of `self`
 * (success, failure, interruption) and returns an effect to run after it, or `undefined` when there
 * is nothing to run (then no effect is run for it: two Effect operations fewer per call than
 * `onExit` with `Effect.void`). A defect of that effect is added to `self`'s failure, as `onExit` does.
 *
 * @internal
 */
export const afterExit = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  f: (exit: Exit.Exit<A, E>) => Effect.Effect<void> | undefined
): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.matchCauseEffect(restore(self), {
      onFailure: (cause) => {
        const after = f(Exit.failCause(cause))
        return after === undefined ? Effect.failCause(cause) : Effect.matchCauseEffect(after, {
          onFailure: (second) => Effect.failCause(Cause.sequential(cause, second)),
          onSuccess: () => Effect.failCause(cause)
        })
      },
      onSuccess: (value) => {
        const after = f(Exit.succeed(value))
        return after === undefined ? Effect.succeed(value) : Effect.as(after, value)
      }
    })
  )
