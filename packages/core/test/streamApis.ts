/**
 * The two ways to make a streamed call — `stream` (an Effect `Stream`) and `streamEach` (an event
 * callback and the completion as result) — behind one function, so that a policy's stream tests run
 * through both.
 */
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as LanguageModel from "@effect-llm/core/LanguageModel"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { assert } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Stream } from "effect"

export type Api = "stream" | "streamEach"

export const apis: ReadonlyArray<Api> = ["stream", "streamEach"]

/**
 * Runs a streamed call through `api`, handing each event to `onEvent` (default: nothing), and
 * succeeds with the events. Through `streamEach`, it also checks that the call's result is the
 * completion of its last event, a `Finish`.
 */
export const runEvents = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api,
  onEvent: (event: StreamEvent) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<ReadonlyArray<StreamEvent>, E, R> =>
  Effect.suspend(() => {
    const events: Array<StreamEvent> = []
    const each = (event: StreamEvent) =>
      Effect.zipRight(
        Effect.sync(() => {
          events.push(event)
        }),
        onEvent(event)
      )
    if (api === "stream") return Effect.as(Stream.runForEach(model.stream(request), each), events)
    return Effect.map(model.streamEach(request, each), (completion) => {
      const last = events[events.length - 1]
      assert.strictEqual(last?._tag, "Finish", "streamEach's last event is its Finish")
      assert.deepStrictEqual(last._tag === "Finish" ? last.completion : undefined, completion)
      return events
    })
  })

/** The events of a streamed call through `api`, stopped (interrupted) after `n` events. */
export const takeEvents = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api,
  n: number
): Effect.Effect<ReadonlyArray<StreamEvent>, E, R> => {
  if (api === "stream") {
    return Effect.map(Stream.runCollect(Stream.take(model.stream(request), n)), Chunk.toReadonlyArray)
  }
  // a caller leaving a `streamEach` call early interrupts its fiber
  return Effect.gen(function*() {
    const events: Array<StreamEvent> = []
    const enough = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(model.streamEach(request, (event) => {
      events.push(event)
      return events.length >= n ? Effect.zipRight(Deferred.succeed(enough, undefined), Effect.never) : Effect.void
    }))
    yield* Effect.raceFirst(Deferred.await(enough), Effect.asVoid(Fiber.join(fiber)))
    yield* Fiber.interrupt(fiber)
    return events
  })
}
