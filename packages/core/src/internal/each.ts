import * as Effect from "effect/Effect"
import type { Completion } from "../Completion.js"
import type { OnEvent } from "../LanguageModel.js"
import * as StreamEvent from "../StreamEvent.js"

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

/** @internal */
export const always = (): boolean => true
