import type { Attempt, Completion } from "../Completion.js"
import type { LlmError } from "../LlmError.js"
import * as StreamEvent from "../StreamEvent.js"

/**
 * The attempts made before a call failed, keyed by the error it failed with. An error is a value,
 * so the trail travels beside it (invisible to serialisation) until a fallback or a retry that
 * succeeds later puts it into the `Completion`'s `attempts`.
 */
const trails = new WeakMap<object, ReadonlyArray<Attempt>>()

/** @internal */
export const isTaggedError = (u: unknown): u is LlmError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof (u as { _tag: unknown })._tag === "string"

/** @internal */
export const setTrail = (error: unknown, trail: ReadonlyArray<Attempt>): void => {
  if (typeof error === "object" && error !== null) trails.set(error, trail)
}

/** The attempts that led to `error`, or one attempt for `target` when nothing recorded more. */
export const trailOf = (
  error: unknown,
  target: { readonly provider: string; readonly model: string }
): ReadonlyArray<Attempt> => {
  const recorded = typeof error === "object" && error !== null ? trails.get(error) : undefined
  if (recorded !== undefined) return recorded
  return [{ provider: target.provider, model: target.model, outcome: isTaggedError(error) ? error._tag : "failure" }]
}

/** @internal */
export const prependTrail = (completion: Completion, trail: ReadonlyArray<Attempt>): Completion =>
  trail.length === 0 ? completion : { ...completion, attempts: [...trail, ...completion.attempts] }

/** @internal */
export const prependTrailEvent = (trail: ReadonlyArray<Attempt>) => (event: StreamEvent.StreamEvent) =>
  event._tag === "Finish" ? StreamEvent.finish(prependTrail(event.completion, trail)) : event
