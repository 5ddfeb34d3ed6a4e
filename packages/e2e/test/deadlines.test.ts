/**
 * Deadlines enforced by the provider adapters (`ProviderCall.deadlinesIn`): `Timeout` hands its
 * deadlines to a model that enforces them (no fiber, one timer per wait), for both providers, with
 * the real SDKs against the emulator and `TestClock` driving every timer.
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

  it.effect("generate: the total deadline aborts the request on the TestClock, with no fiber of Timeout's own", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 600_000 }])
        const fiber = yield* Effect.fork(model.pipe(Timeout.withTimeouts({ total: "5 seconds" })).generate(request))
        yield* emulator.awaitRequest(() => true)
        yield* TestClock.adjust("4999 millis")
        assert.isTrue((yield* fiber.poll)._tag === "None", "not before the deadline")
        yield* TestClock.adjust("1 millis")
        expectTimeout(yield* Fiber.await(fiber), "total", 5000)
        yield* emulator.awaitRequest((r) => r.disconnected)
      })
    ))

  it.effect("stream: first-token deadline → Timeout first-token, request aborted", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 600_000 }])
        const timed = model.pipe(Timeout.withTimeouts({ firstToken: "2 seconds", total: "1 minute" }))
        const fiber = yield* Effect.fork(Stream.runDrain(timed.stream(request)))
        yield* emulator.awaitRequest(() => true)
        yield* TestClock.adjust("2 seconds")
        expectTimeout(yield* Fiber.await(fiber), "first-token", 2000)
        yield* emulator.awaitRequest((r) => r.disconnected)
      })
    ))

  it.effect("stream: a stall after two chunks → Timeout idle; the FirstToken event is emitted once", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Stall", afterChunks: 2 }])
        const events: Array<CallEvent.CallEvent> = []
        const seen: Array<StreamEvent> = []
        const timed = model.pipe(Timeout.withTimeouts({ firstToken: "30 seconds", idle: "1 second" }))
        const fiber = yield* Effect.fork(
          Stream.runForEach(timed.stream(request), (event) => Effect.sync(() => seen.push(event))).pipe(
            CallEvent.listen((event) => Effect.sync(() => events.push(event)))
          )
        )
        expectTimeout(yield* advanceUntilDone(fiber, "1 second"), "idle", 1000)
        assert.strictEqual(seen.filter((e) => e._tag === "TextDelta").length, 2)
        assert.deepStrictEqual(events.map((e) => e._tag), ["FirstToken"])
        yield* emulator.awaitRequest((r) => r.disconnected)
      })
    ))

  it.effect("stream through the preset: the whole call's deadline (outside retry) ends a stalled stream", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Stall", afterChunks: 1 }])
        const preset = Resilience.standard({ timeout: { total: "3 seconds", idle: "1 minute" } })(model)
        assert.isTrue(preset.enforcesDeadlines)
        const fiber = yield* Effect.fork(Stream.runDrain(preset.stream(request)))
        expectTimeout(yield* advanceUntilDone(fiber, "1 second"), "total", 3000)
        yield* emulator.awaitRequest((r) => r.disconnected)
      })
    ))

  it.effect("a retry's backoff ends at the deadline: Timeout total, no second request", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "RateLimited", retryAfterSeconds: 20 }, { _tag: "Reply", text: "late" }])
        const timed = model.pipe(Retry.withPolicy(), Timeout.withTimeouts({ total: "10 seconds" }))
        const fiber = yield* Effect.fork(timed.generate(request))
        yield* emulator.awaitRequest((r) => r.completed)
        yield* TestClock.adjust("10 seconds")
        expectTimeout(yield* Fiber.await(fiber), "total", 10_000)
        assert.strictEqual((yield* emulator.requests).length, 1)
      })
    ))

  it.effect("a rate-limit wait ends at the deadline: Timeout total, the second call never sent", () =>
    run(({ emulator, model }) =>
      Effect.gen(function*() {
        const limited = model.pipe(
          RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, learn: false }),
          Timeout.withTimeouts({ total: "5 seconds" })
        )
        yield* limited.generate(request)
        const fiber = yield* Effect.fork(limited.generate(request))
        yield* advanceUntilDone(fiber, "1 second")
        expectTimeout(yield* Fiber.await(fiber), "total", 5000)
        assert.strictEqual((yield* emulator.requests).length, 1)
      })
    ))
})
