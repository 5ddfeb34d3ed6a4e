import type { LlmError, StreamEvent } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as LanguageModel from "@effect-llm/core/LanguageModel"
import { Emulator } from "@effect-llm/testing"
import { assert } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Layer, Redacted, Stream } from "effect"
import * as OpenAiClient from "../src/OpenAiClient.js"

/** A fake key that must never show up in an error, a log or a recorded header. */
export const apiKey = "sk-test-Zq9xKEYnever-leaks-4242"

/** The client pointed at the emulator in context. */
export const clientLayer = (options?: Partial<OpenAiClient.Options>) =>
  Layer.unwrapEffect(
    Effect.map(Emulator.Emulator, (emulator) =>
      OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseUrl: emulator.openAiBaseUrl, ...options }))
  )

/** The emulator plus a client pointed at it. */
export const TestLayer = clientLayer().pipe(Layer.provideMerge(Emulator.layer()))

/** Resets the emulator and queues the given steps. */
export const script = (steps: ReadonlyArray<Emulator.Step>) =>
  Effect.flatMap(Emulator.Emulator, (emulator) => Effect.zipRight(emulator.reset, emulator.script(steps)))

export const requests = Effect.flatMap(Emulator.Emulator, (emulator) => emulator.requests)

/** The only request received since the last `script`. */
export const lastRequest = Effect.map(requests, (all) => {
  if (all.length !== 1) throw new Error(`expected exactly one request, got ${all.length}`)
  return all[0]!
})

/** Waits (real time) until the emulator's records satisfy `predicate`. */
export const waitForRequests = (predicate: (all: ReadonlyArray<Emulator.RecordedRequest>) => boolean) => {
  const loop: Effect.Effect<ReadonlyArray<Emulator.RecordedRequest>, never, Emulator.Emulator> = Effect.flatMap(
    requests,
    (all) =>
      predicate(all) ? Effect.succeed(all) : Effect.zipRight(Effect.sleep("10 millis"), Effect.suspend(() => loop))
  )
  return loop.pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the emulator never saw it") })
  )
}

/** The failure of an exit (fails the test when it succeeded or died). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

/** The two ways to make a streamed call: an Effect `Stream`, or `streamEach` (a callback per event). */
export type StreamApi = "stream" | "streamEach"

export const streamApis: ReadonlyArray<StreamApi> = ["stream", "streamEach"]

/**
 * Runs a streamed call through `api`, keeping every event that arrived before it ended (and handing
 * each to `observe` as it arrives). Through `streamEach`, a success must be the completion of the
 * last event, its `Finish`.
 */
export const runStreamed = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  api: StreamApi,
  observe: (event: StreamEvent.StreamEvent) => void = () => {}
) =>
  Effect.gen(function*() {
    const events: Array<StreamEvent.StreamEvent> = []
    const onEvent = (event: StreamEvent.StreamEvent) =>
      Effect.sync(() => {
        events.push(event)
        observe(event)
      })
    if (api === "stream") {
      const exit = yield* Effect.exit(Stream.runForEach(model.stream(request), onEvent))
      return { events, exit: Exit.asVoid(exit) }
    }
    const exit = yield* Effect.exit(model.streamEach(request, onEvent))
    if (Exit.isSuccess(exit)) {
      const last = events[events.length - 1]
      assert.strictEqual(last?._tag, "Finish", "streamEach: the last event is a Finish")
      assert.strictEqual(events.filter((event) => event._tag === "Finish").length, 1)
      assert.deepStrictEqual(exit.value, (last as StreamEvent.Finish).completion)
    }
    return { events, exit: Exit.asVoid(exit) }
  })

/**
 * A streamed call through `api` left after its first event: `Stream.take(1)`, or for `streamEach`
 * interrupting the call's fiber from outside once its first event arrived (its `onEvent` waits
 * from then on: the other events of the same network read would otherwise come in turn before the
 * interruption). Succeeds with the events seen.
 */
export const takeFirst = <E, R>(model: LanguageModel.With<E, R>, request: GenerateRequest, api: StreamApi) =>
  api === "stream"
    ? Effect.map(Stream.runCollect(Stream.take(model.stream(request), 1)), Chunk.toReadonlyArray)
    : Effect.gen(function*() {
      const events: Array<StreamEvent.StreamEvent> = []
      const first = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        model.streamEach(
          request,
          (event) =>
            Effect.zipRight(
              Effect.sync(() => events.push(event)),
              Effect.zipRight(Deferred.succeed(first, undefined), Effect.never)
            )
        )
      )
      yield* Deferred.await(first)
      const exit = yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(exit), `streamEach: expected an interruption, got ${String(exit)}`)
      return events
    })

/** A streamed call through `api` whose events are dropped: `Stream.runDrain`, or `streamEach` doing nothing per event. */
export const drain = <E, R>(model: LanguageModel.With<E, R>, request: GenerateRequest, api: StreamApi) =>
  api === "stream"
    ? Stream.runDrain(model.stream(request))
    : Effect.asVoid(model.streamEach(request, () => Effect.void))

/** The text of the deltas among some events. */
export const deltaText = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.map((event) => (event._tag === "TextDelta" ? event.text : "")).join("")

/** A way to make a call: `generate`, or a streamed call through one of the two APIs. */
export type Mode = "generate" | StreamApi

export const modes: ReadonlyArray<Mode> = ["generate", "stream", "streamEach"]

/** The error of a call, through `generate`, `stream` or `streamEach` (the same mapping must hold for all). */
export const errorOf = (
  model: LanguageModel.With<LlmError.ProviderError, OpenAiClient.OpenAiClient>,
  mode: Mode
) =>
(request: Parameters<typeof model.generate>[0]) =>
  mode === "generate"
    ? Effect.map(Effect.exit(model.generate(request)), failureOf)
    : Effect.map(runStreamed(model, request, mode), ({ exit }) => failureOf(exit))

export const hello = { messages: [{ role: "user" as const, content: "Hello there" }] }
