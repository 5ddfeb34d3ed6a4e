/**
 * Deadlines enforced by the provider adapters (`ProviderCall.deadlinesIn`): `Timeout` hands its
 * deadlines to a model that enforces them (no fiber, one timer per wait), for both providers, with
 * the real SDKs against the emulator and `TestClock` driving every timer. Every deadline of a
 * streamed call is checked through `stream` and through `streamEach` (no Effect `Stream`), and every
 * deadline of a whole call through `generate` and through `streamEach`.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import {
  Cache,
  CallEvent,
  Fallback,
  LanguageModel,
  type LlmError,
  RateLimit,
  Resilience,
  Retry,
  Timeout
} from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Redacted, Stream, TestClock } from "effect"

interface Setup {
  readonly name: "openai" | "anthropic"
  readonly model: string
  readonly make: (emulator: Emulator.Service) => Effect.Effect<LanguageModel.With<LlmError.ProviderError>, unknown, any>
}

const setups: ReadonlyArray<Setup> = [
  {
    name: "openai",
    model: "gpt-5-mini",
    make: (emulator) =>
      Effect.map(
        Layer.build(OpenAiClient.layer({ apiKey: Redacted.make("sk-test"), baseUrl: emulator.openAiBaseUrl })),
        (context) => OpenAiLanguageModel.make("gpt-5-mini").pipe(LanguageModel.provideContext(context))
      )
  },
  {
    name: "anthropic",
    model: "claude-haiku-4-5",
    make: (emulator) =>
      Effect.map(
        Layer.build(AnthropicClient.layer({ apiKey: Redacted.make("sk-test"), baseUrl: emulator.anthropicBaseUrl })),
        (context) => AnthropicLanguageModel.make("claude-haiku-4-5").pipe(LanguageModel.provideContext(context))
      )
  }
]

const request = { messages: [{ role: "user" as const, content: "hi" }] }

type Model = LanguageModel.With<LlmError.LlmError>

/** The two ways of making a streamed call: an Effect `Stream`, or `streamEach` with no `Stream`. */
const streamedCalls: ReadonlyArray<{
  readonly kind: "stream" | "streamEach"
  readonly call: (model: Model, onEvent: LanguageModel.OnEvent) => Effect.Effect<unknown, LlmError.LlmError>
}> = [
  { kind: "stream", call: (model, onEvent) => Stream.runForEach(model.stream(request), onEvent) },
  { kind: "streamEach", call: (model, onEvent) => model.streamEach(request, onEvent) }
]

/** The two ways of making a call whose deadline is the whole call's: `generate`, or `streamEach`. */
const wholeCalls: ReadonlyArray<{
  readonly kind: "generate" | "streamEach"
  readonly call: (model: Model) => Effect.Effect<Completion, LlmError.LlmError>
}> = [
  { kind: "generate", call: (model) => model.generate(request) },
  { kind: "streamEach", call: (model) => model.streamEach(request, () => Effect.void) }
]

const expectTimeout = (exit: Exit.Exit<unknown, unknown>, phase: LlmError.Timeout["phase"], millis: number) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error as LlmError.LlmError : undefined
  assert.strictEqual(error?._tag, "Timeout", `expected Timeout, got ${JSON.stringify(exit)}`)
  const timeout = error as LlmError.Timeout
  assert.strictEqual(timeout.phase, phase)
  assert.strictEqual(Duration.toMillis(timeout.after), millis)
}

/** Moves the TestClock on by `step` until `fiber` is done (its timer may be armed a moment after a chunk). */
const advanceUntilDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput, max = 50) =>
  Effect.gen(function*() {
    for (let i = 0; i < max; i++) {
      const done = yield* fiber.poll
      if (done._tag === "Some") return done.value
      yield* TestClock.adjust(step)
      yield* Effect.yieldNow()
    }
    return yield* Fiber.await(fiber)
  })

describe.each(setups)("deadlines enforced by $name", (setup) => {
  const run = <A, E>(
    f: (
      env: { emulator: Emulator.Service; model: LanguageModel.With<LlmError.ProviderError> }
    ) => Effect.Effect<A, E, any>
  ) =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const model = yield* setup.make(emulator)
      return yield* f({ emulator, model })
    }).pipe(Effect.scoped, Effect.provide(Emulator.layer()))

  it.effect("the adapter enforces deadlines; policies that add no blind wait keep the mark, others drop it", () =>
    run(({ model }) =>
      Effect.sync(() => {
        assert.isTrue(model.enforcesDeadlines)
        assert.isTrue(Resilience.standard()(model).enforcesDeadlines)
        assert.isTrue(model.pipe(Retry.withPolicy(), RateLimit.withLimits()).enforcesDeadlines)
        const mock = LanguageModel.make({
          provider: "mock",
          model: "mock",
          generate: () => Effect.die("not called"),
          stream: () => Stream.die("not called")
        })
        assert.notStrictEqual(Fallback.to(model, mock).enforcesDeadlines, true)
        assert.notStrictEqual(Cache.withCache(model).enforcesDeadlines, true)
      })
    ))

  for (const { call, kind } of wholeCalls) {
    it.effect(`${kind}: the total deadline aborts the request on the TestClock, with no fiber of Timeout's own`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 600_000 }])
          const fiber = yield* Effect.fork(call(model.pipe(Timeout.withTimeouts({ total: "5 seconds" }))))
          yield* emulator.awaitRequest(() => true)
          yield* TestClock.adjust("4999 millis")
          assert.isTrue((yield* fiber.poll)._tag === "None", "not before the deadline")
          yield* TestClock.adjust("1 millis")
          expectTimeout(yield* Fiber.await(fiber), "total", 5000)
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))
  }

  for (const { call, kind } of streamedCalls) {
    it.effect(`${kind}: first-token deadline → Timeout first-token, request aborted`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 600_000 }])
          const seen: Array<StreamEvent> = []
          const timed = model.pipe(Timeout.withTimeouts({ firstToken: "2 seconds", total: "1 minute" }))
          const fiber = yield* Effect.fork(call(timed, (event) => Effect.sync(() => seen.push(event))))
          yield* emulator.awaitRequest(() => true)
          yield* TestClock.adjust("1999 millis")
          assert.isTrue((yield* fiber.poll)._tag === "None", "not before the deadline")
          yield* TestClock.adjust("1 millis")
          expectTimeout(yield* Fiber.await(fiber), "first-token", 2000)
          assert.deepStrictEqual(seen, [])
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))

    it.effect(`${kind}: a stall after two chunks → Timeout idle; the FirstToken event is emitted once`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Stall", afterChunks: 2 }])
          const events: Array<CallEvent.CallEvent> = []
          const seen: Array<StreamEvent> = []
          const timed = model.pipe(Timeout.withTimeouts({ firstToken: "30 seconds", idle: "1 second" }))
          const fiber = yield* Effect.fork(
            call(timed, (event) => Effect.sync(() => seen.push(event))).pipe(
              CallEvent.listen((event) => Effect.sync(() => events.push(event)))
            )
          )
          expectTimeout(yield* advanceUntilDone(fiber, "1 second"), "idle", 1000)
          assert.strictEqual(seen.filter((e) => e._tag === "TextDelta").length, 2)
          assert.deepStrictEqual(seen.map((e) => e._tag), ["TextDelta", "TextDelta"])
          assert.deepStrictEqual(events.map((e) => e._tag), ["FirstToken"])
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))

    it.effect(`${kind} through the preset: the whole call's deadline (outside retry) ends a stalled stream`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Stall", afterChunks: 1 }])
          const preset = Resilience.standard({ timeout: { total: "3 seconds", idle: "1 minute" } })(model)
          assert.isTrue(preset.enforcesDeadlines)
          const seen: Array<StreamEvent> = []
          const fiber = yield* Effect.fork(call(preset, (event) => Effect.sync(() => seen.push(event))))
          expectTimeout(yield* advanceUntilDone(fiber, "1 second"), "total", 3000)
          assert.deepStrictEqual(seen.map((e) => e._tag), ["TextDelta"])
          yield* emulator.awaitRequest((r) => r.disconnected)
          assert.strictEqual((yield* emulator.requests).length, 1)
        })
      ))

    it.effect(`${kind}: deadlines that do not fire: a whole call, one FirstToken event, nothing after it`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          const events: Array<CallEvent.CallEvent> = []
          const seen: Array<StreamEvent> = []
          const timed = model.pipe(
            Timeout.withTimeouts({ firstToken: "2 seconds", idle: "1 second", total: "5 seconds" })
          )
          const exit = yield* call(timed, (event) => Effect.sync(() => seen.push(event))).pipe(
            CallEvent.listen((event) => Effect.sync(() => events.push(event))),
            Effect.exit
          )
          assert.isTrue(Exit.isSuccess(exit), `expected a success, got ${JSON.stringify(exit)}`)
          const finish = seen[seen.length - 1]
          assert(finish?._tag === "Finish")
          assert.isAbove(seen.length, 1)
          assert.strictEqual(
            seen.flatMap((e) => e._tag === "TextDelta" ? [e.text] : []).join(""),
            finish.completion.text
          )
          // `streamEach` succeeds with the completion of the Finish it handed to `onEvent`
          if (kind === "streamEach" && Exit.isSuccess(exit)) assert.strictEqual(exit.value, finish.completion)
          assert.deepStrictEqual(events.map((e) => e._tag), ["FirstToken"])
          // past every deadline: nothing fires once the call is over
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual(events.map((e) => e._tag), ["FirstToken"])
          const [recorded] = yield* emulator.requests
          assert.isTrue(recorded?.completed)
          assert.isFalse(recorded?.disconnected)
        })
      ))
  }

  for (const { call, kind } of wholeCalls) {
    it.effect(`${kind}: a retry's backoff ends at the deadline: Timeout total, no second request`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "RateLimited", retryAfterSeconds: 20 }, { _tag: "Reply", text: "late" }])
          const timed = model.pipe(Retry.withPolicy(), Timeout.withTimeouts({ total: "10 seconds" }))
          const fiber = yield* Effect.fork(call(timed))
          yield* emulator.awaitRequest((r) => r.completed)
          yield* TestClock.adjust("9999 millis")
          assert.isTrue((yield* fiber.poll)._tag === "None", "not before the deadline")
          yield* TestClock.adjust("1 millis")
          expectTimeout(yield* Fiber.await(fiber), "total", 10_000)
          assert.strictEqual((yield* emulator.requests).length, 1)
        })
      ))

    it.effect(`${kind}: a rate-limit wait ends at the deadline: Timeout total, the second call never sent`, () =>
      run(({ emulator, model }) =>
        Effect.gen(function*() {
          const limited = model.pipe(
            RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, learn: false }),
            Timeout.withTimeouts({ total: "5 seconds" })
          )
          yield* call(limited)
          const fiber = yield* Effect.fork(call(limited))
          yield* advanceUntilDone(fiber, "1 second")
          expectTimeout(yield* Fiber.await(fiber), "total", 5000)
          assert.strictEqual((yield* emulator.requests).length, 1)
        })
      ))
  }
})
