/**
 * A streamed call through either of a model's two streaming operations — `stream` (an Effect
 * `Stream`) and `streamEach` (a callback per event, the `Completion` as result) — behind one
 * function, so that a test runs through both and checks they behave alike.
 *
 * @example
 * ```ts
 * import type { LanguageModel } from "@effect-llm/core"
 * import { StreamCalls } from "@effect-llm/testing"
 * import { Effect } from "effect"
 *
 * declare const model: LanguageModel.Service
 *
 * const both = Effect.forEach(StreamCalls.apis, (api) =>
 *   Effect.map(
 *     StreamCalls.run(model, { messages: [{ role: "user", content: "hi" }] }, api),
 *     ({ events }) => events.length
 *   ))
 * ```
 *
 * @since 0.1.0
 */
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as LanguageModel from "@effect-llm/core/LanguageModel"
import type * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"

/**
 * @since 0.1.0
 * @category models
 */
export type Api = "stream" | "streamEach"

/**
 * @since 0.1.0
 * @category constants
 */
export const apis: ReadonlyArray<Api> = ["stream", "streamEach"]

/**
 * A streamed call through `api` that hands each event to `f`: `Stream.runForEach` of the stream, or
 * `streamEach` (its result, the completion, dropped: see {@link run} for the checks).
 *
 * @since 0.1.0
 * @category running
 */
export const forEach = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api,
  f: (event: StreamEvent.StreamEvent) => Effect.Effect<unknown>
): Effect.Effect<void, E, R> =>
  api === "stream"
    ? Stream.runForEach(model.stream(request), f)
    : Effect.asVoid(model.streamEach(request, (event) => Effect.asVoid(f(event))))

/**
 * A streamed call through `api` whose events are dropped.
 *
 * @since 0.1.0
 * @category running
 */
export const drain = <E, R>(model: LanguageModel.With<E, R>, request: GenerateRequest, api: Api) =>
  forEach(model, request, api, () => Effect.void)

const sameCompletion = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

/**
 * Runs a streamed call through `api`, keeping every event that arrived before it ended (and handing
 * each to `observe` as it arrives), with its exit. A `streamEach` call that succeeds must end with
 * exactly one `Finish`, whose completion is its result: otherwise the effect dies, which fails the
 * test.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api,
  observe: (event: StreamEvent.StreamEvent) => void = () => {}
): Effect.Effect<
  { readonly events: ReadonlyArray<StreamEvent.StreamEvent>; readonly exit: Exit.Exit<void, E> },
  never,
  R
> =>
  Effect.gen(function*() {
    const events: Array<StreamEvent.StreamEvent> = []
    const onEvent = (event: StreamEvent.StreamEvent) =>
      Effect.sync(() => {
        events.push(event)
        observe(event)
      })
    if (api === "stream") {
      const exit = yield* Effect.exit(Stream.runForEach(model.stream(request), onEvent))
      return { events, exit }
    }
    const exit = yield* Effect.exit(model.streamEach(request, onEvent))
    if (Exit.isSuccess(exit)) {
      const last = events[events.length - 1]
      const finishes = events.filter((event) => event._tag === "Finish").length
      if (last?._tag !== "Finish" || finishes !== 1 || !sameCompletion(exit.value, last.completion)) {
        return yield* Effect.dieMessage(
          `streamEach: expected one Finish, last, carrying the call's result (${finishes} Finish events)`
        )
      }
    }
    return { events, exit: Exit.asVoid(exit) }
  })

/**
 * A streamed call through `api` left after its first event: `Stream.take(1)`, or for `streamEach`
 * interrupting the call's fiber from outside once its first event arrived (its `onEvent` waits from
 * then on: the other events of the same network read would otherwise come in turn before the
 * interruption; a call that ends otherwise dies). Succeeds with the events seen.
 *
 * @since 0.1.0
 * @category running
 */
export const takeFirst = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api
): Effect.Effect<ReadonlyArray<StreamEvent.StreamEvent>, E, R> =>
  api === "stream"
    ? Effect.map(Stream.runCollect(Stream.take(model.stream(request), 1)), Chunk.toReadonlyArray)
    : Effect.gen(function*() {
      const events: Array<StreamEvent.StreamEvent> = []
      const first = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(forEach(model, request, api, (event) => {
        events.push(event)
        return Effect.zipRight(Deferred.succeed(first, undefined), Effect.never)
      }))
      yield* Deferred.await(first)
      const exit = yield* Fiber.interrupt(fiber)
      if (!Exit.isInterrupted(exit)) {
        return yield* Effect.dieMessage(`streamEach: expected an interruption, got ${String(exit)}`)
      }
      return events
    })

/**
 * A streamed call through `api`, its events grouped by the macrotask they reached the caller in
 * (no timer: a group ends with the `setImmediate` its first event scheduled), each event as its text
 * (a delta) or its tag. Shows which events were delivered together (those of one network read).
 *
 * @since 0.1.0
 * @category running
 */
export const macrotaskGroups = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: Api
): Effect.Effect<
  { readonly groups: ReadonlyArray<ReadonlyArray<string>>; readonly exit: Exit.Exit<void, E> },
  never,
  R
> =>
  Effect.suspend(() => {
    const groups: Array<Array<string>> = []
    let open = false
    const observe = (event: StreamEvent.StreamEvent) => {
      if (!open) {
        open = true
        groups.push([])
        setImmediate(() => {
          open = false
        })
      }
      groups[groups.length - 1]!.push(event._tag === "TextDelta" ? event.text : event._tag)
    }
    return Effect.map(run(model, request, api, observe), ({ exit }) => ({ groups, exit }))
  })
