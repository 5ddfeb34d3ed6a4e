import * as Effect from "effect/Effect"
import type { Attempt, Completion } from "../Completion.js"
import type { OnEvent } from "../LanguageModel.js"
import * as StreamEvent from "../StreamEvent.js"
import { prependTrail } from "./resilienceTrail.js"

const skipFinish = (onEvent: OnEvent): OnEvent => (event) => event._tag === "Finish" ? Effect.void : onEvent(event)

/**
 * A `streamEach` call whose completion a policy rewrites: the `Finish` of the call below is held
 * back, and the rewritten completion's `Finish` is given to `onEvent` once `f` has run (a `Finish` is
 * always the last event, so the order of events is kept).
 *
 * @internal
 */
export const mapFinish = <E, R, E2, R2>(
  call: (onEvent: OnEvent) => Effect.Effect<Completion, E, R>,
  onEvent: OnEvent,
  f: (completion: Completion) => Effect.Effect<Completion, E2, R2>
): Effect.Effect<Completion, E | E2, R | R2> =>
  Effect.flatMap(
    call(skipFinish(onEvent)),
    (completion) => Effect.flatMap(f(completion), (mapped) => Effect.as(onEvent(StreamEvent.finish(mapped)), mapped))
  )

/**
 * A `streamEach` call of a retry or a fallback after earlier attempts: its `Finish` and its result
 * carry their trail (as `prependTrail` does for `generate`).
 *
 * @internal
 */
export const withTrail = <E, R>(
  call: (onEvent: OnEvent) => Effect.Effect<Completion, E, R>,
  onEvent: OnEvent,
  trail: ReadonlyArray<Attempt>
): Effect.Effect<Completion, E, R> =>
  mapFinish(call, onEvent, (completion) => Effect.succeed(prependTrail(completion, trail)))

/**
 * The caller's `onEvent`, and whether no event has reached it yet: a streamed call is retried or
 * falls back only until then.
 *
 * @internal
 */
export const beforeFirstEvent = (
  onEvent: OnEvent
): { readonly onEvent: OnEvent; readonly before: () => boolean } => {
  let emitted = false
  return {
    onEvent: (event) => {
      emitted = true
      return onEvent(event)
    },
    before: () => !emitted
  }
}

/** @internal */
export const always = (): boolean => true
