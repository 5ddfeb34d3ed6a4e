import { CallEvent, LanguageModel, type LlmError } from "@effect-llm/core"
import * as BreakerStore from "@effect-llm/core/BreakerStore"
import * as CircuitBreaker from "@effect-llm/core/CircuitBreaker"
import type { Completion } from "@effect-llm/core/Completion"
import * as Fallback from "@effect-llm/core/Fallback"
import * as Resilience from "@effect-llm/core/Resilience"
import type * as StreamEvent from "@effect-llm/core/StreamEvent"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { invalidRequest, prompt, scripted, serverError } from "./resilienceFixtures.js"
import { apis, runEvents, takeEvents } from "./streamApis.js"

const collect = () => {
  const events: Array<string> = []
  return {
    events,
    listen: CallEvent.listen((e) =>
      Effect.sync(() => {
        if (e._tag === "CircuitStateChanged") events.push(`${e.from}->${e.to}`)
      })
    )
  }
}
const options: CircuitBreaker.Options = { minimumCalls: 4, failureRateThreshold: 0.5, cooldown: "30 seconds" }
/** `f` throws `InvalidOptions` naming `CircuitBreaker` and `option`. */
const refuses = refusesFor("CircuitBreaker")
const failures = (n: number) => Array.from({ length: n }, () => ({ fail: serverError() }))

describe("BreakerStore.conformance (memory)", () => {
  for (const check of BreakerStore.conformance) {
    it.effect(check.name, () => check.run.pipe(Effect.provide(BreakerStore.layerMemory)))
  }
})

// the memory store decides and records through its synchronous face; a store that talks to a server
// has none, and the breaker goes through its effects: both make the same transitions
const storeLayers: ReadonlyArray<readonly [string, Layer.Layer<BreakerStore.BreakerStore>]> = [
  ["memory store (synchronous face)", BreakerStore.layerMemory],
  [
    "a store with effects only",
    Layer.sync(BreakerStore.BreakerStore, () => {
      const { sync: _, ...store } = BreakerStore.makeMemory()
      return store
    })
  ]
]

for (const [storeName, layer] of storeLayers) {
  describe(`CircuitBreaker over ${storeName}`, () => {
    it.effect("opens on the failure rate, then rejects without calling the provider", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted(failures(10))
        const { events, listen } = collect()
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 4; i++) {
          assert.strictEqual((yield* Effect.flip(listen(guarded.generate(prompt))))._tag, "ServerError")
        }
        assert.deepStrictEqual(events, ["closed->open"])
        const error = yield* Effect.flip(guarded.generate(prompt))
        assert.strictEqual(error._tag, "CircuitOpen")
        assert.strictEqual(calls.length, 4)
        assert.strictEqual(
          error._tag === "CircuitOpen" ? DateTime.toEpochMillis(error.retryAt) : 0,
          1000 + 30_000
        )
        assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "open")
      }).pipe(Effect.provide(layer)))

    it.effect("half-open after the cooldown; a successful probe closes it", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([...failures(4), { text: "probe ok" }])
        const { events, listen } = collect()
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        for (let i = 0; i < 4; i++) yield* Effect.flip(listen(guarded.generate(prompt)))
        yield* TestClock.adjust("29999 millis")
        assert.strictEqual((yield* Effect.flip(guarded.generate(prompt)))._tag, "CircuitOpen")
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "half-open")
        assert.strictEqual((yield* listen(guarded.generate(prompt))).text, "probe ok")
        assert.strictEqual(calls.length, 5)
        assert.deepStrictEqual(events, ["closed->open", "open->half-open", "half-open->closed"])
        assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "closed")
      }).pipe(Effect.provide(layer)))

    it.effect("a failed probe opens it again for another cooldown", () =>
      Effect.gen(function*() {
        const { model } = scripted(failures(5))
        const { events, listen } = collect()
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        for (let i = 0; i < 4; i++) yield* Effect.flip(listen(guarded.generate(prompt)))
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual((yield* Effect.flip(listen(guarded.generate(prompt))))._tag, "ServerError")
        assert.deepStrictEqual(events, ["closed->open", "open->half-open", "half-open->open"])
        const error = yield* Effect.flip(guarded.generate(prompt))
        assert.strictEqual(error._tag === "CircuitOpen" ? DateTime.toEpochMillis(error.retryAt) : 0, 60_000)
      }).pipe(Effect.provide(layer)))

    it.effect("half-open lets only the configured number of probes through", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([...failures(4), { delay: "5 seconds", text: "slow probe" }])
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        for (let i = 0; i < 4; i++) yield* Effect.flip(guarded.generate(prompt))
        yield* TestClock.adjust("30 seconds")
        const probe = yield* Effect.fork(guarded.generate(prompt))
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Effect.flip(guarded.generate(prompt)))._tag, "CircuitOpen")
        yield* TestClock.adjust("4 seconds")
        assert.strictEqual((yield* Fiber.join(probe)).text, "slow probe")
        assert.strictEqual(calls.length, 5)
      }).pipe(Effect.provide(layer)))
  })
}

describe("CircuitBreaker", () => {
  it.effect("does not open below the minimum number of calls, nor on caller-side errors", () =>
    Effect.gen(function*() {
      const { model } = scripted([...failures(3), ...Array.from({ length: 10 }, () => ({ fail: invalidRequest() }))])
      const guarded = model.pipe(CircuitBreaker.withBreaker(options))
      for (let i = 0; i < 13; i++) yield* Effect.flip(guarded.generate(prompt))
      assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "closed")
    }).pipe(Effect.provide(BreakerStore.layerMemory)))

  it.effect("breakers are per provider and model", () =>
    Effect.gen(function*() {
      const { model } = scripted([...failures(4), { text: "other model" }])
      const guarded = model.pipe(CircuitBreaker.withBreaker(options))
      for (let i = 0; i < 4; i++) yield* Effect.flip(guarded.generate(prompt))
      assert.strictEqual((yield* guarded.generate({ ...prompt, model: "fake-2" })).text, "other model")
    }).pipe(Effect.provide(BreakerStore.layerMemory)))

  for (const api of apis) {
    it.effect(`streams are counted (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted(failures(4))
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        for (let i = 0; i < 4; i++) yield* Effect.flip(runEvents(guarded, prompt, api))
        assert.strictEqual((yield* Effect.flip(runEvents(guarded, prompt, api)))._tag, "CircuitOpen")
        assert.strictEqual(calls.length, 4)
      }).pipe(Effect.provide(BreakerStore.layerMemory)))
  }

  describe("streamEach", () => {
    it.effect("its failures count; an open breaker fails it with CircuitOpen without calling the model", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted(failures(4))
        const { events, listen } = collect()
        const guarded = model.pipe(CircuitBreaker.withBreaker(options))
        const seen: Array<string> = []
        const onEvent = (event: StreamEvent.StreamEvent) => Effect.sync(() => seen.push(event._tag))
        for (let i = 0; i < 4; i++) {
          assert.strictEqual((yield* Effect.flip(listen(guarded.streamEach(prompt, onEvent))))._tag, "ServerError")
        }
        assert.deepStrictEqual(events, ["closed->open"])
        assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "open")
        const error = yield* Effect.flip(guarded.streamEach(prompt, onEvent))
        assert.strictEqual(error._tag, "CircuitOpen")
        assert.strictEqual(error._tag === "CircuitOpen" ? DateTime.toEpochMillis(error.retryAt) : 0, 30_000)
        assert.strictEqual(calls.length, 4)
        assert.deepStrictEqual(seen, [])
      }).pipe(Effect.provide(BreakerStore.layerMemory)))

    /** A breaker opened by four failures, half-open after its cooldown; its next call is the probe. */
    const halfOpen = Effect.gen(function*() {
      const { calls, model } = scripted([...failures(4), { chunks: ["a", "b"] }])
      const { events, listen } = collect()
      const guarded = model.pipe(CircuitBreaker.withBreaker(options))
      for (let i = 0; i < 4; i++) yield* Effect.flip(listen(guarded.streamEach(prompt, () => Effect.void)))
      yield* TestClock.adjust("30 seconds")
      const closed = Effect.gen(function*() {
        assert.strictEqual(calls.length, 5)
        assert.deepStrictEqual(events, ["closed->open", "open->half-open", "half-open->closed"])
        assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1", options), "closed")
      })
      return { guarded, listen, closed }
    })

    it.effect("a probe that streams to its Finish closes a half-open breaker", () =>
      Effect.gen(function*() {
        const { closed, guarded, listen } = yield* halfOpen
        const completion = yield* listen(guarded.streamEach(prompt, () => Effect.void))
        assert.strictEqual(completion.text, "ab")
        yield* closed
      }).pipe(Effect.provide(BreakerStore.layerMemory)))

    for (const api of apis) {
      it.effect(`a probe whose caller stops after its first event closes a half-open breaker (${api})`, () =>
        Effect.gen(function*() {
          const { closed, guarded, listen } = yield* halfOpen
          // the provider answered: the caller leaving early says nothing against its health
          const taken = yield* listen(takeEvents(guarded, prompt, api, 1))
          assert.deepStrictEqual(taken, [{ _tag: "TextDelta", text: "a" }])
          yield* closed
        }).pipe(Effect.provide(BreakerStore.layerMemory)))
    }
  })

  it.effect("a fallback skips a model whose breaker is open", () =>
    Effect.gen(function*() {
      const primary = scripted(failures(4))
      const backup = scripted([{}, {}, {}, {}, { text: "backup" }], { provider: "other", model: "b-1" })
      const model = primary.model.pipe(CircuitBreaker.withBreaker(options), Fallback.to(backup.model))
      for (let i = 0; i < 4; i++) yield* model.generate(prompt)
      const result = yield* model.generate(prompt)
      assert.strictEqual(result.text, "backup")
      assert.deepStrictEqual(result.attempts.map((a) => a.outcome), ["CircuitOpen", "success"])
      assert.strictEqual(primary.calls.length, 4)
    }).pipe(Effect.provide(BreakerStore.layerMemory)))

  it.effect("CircuitBreaker.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted(failures(5))
      const layer = CircuitBreaker.layer(options).pipe(
        Layer.provide(LanguageModel.layer(model)),
        Layer.provide(BreakerStore.layerMemory)
      )
      const tags = yield* Effect.gen(function*() {
        const out: Array<string> = []
        for (let i = 0; i < 5; i++) out.push((yield* Effect.flip(LanguageModel.generate(prompt)))._tag)
        return out
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(tags, ["ServerError", "ServerError", "ServerError", "ServerError", "CircuitOpen"])
      assert.strictEqual(calls.length, 4)
    }))

  it("adds CircuitOpen to the errors and BreakerStore to the requirements", () => {
    const model = scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError, "R">
    expectTypeOf(model.pipe(CircuitBreaker.withBreaker())).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.CircuitOpen, "R" | BreakerStore.BreakerStore>
    >()
  })

  it("streamEach has generate's error and requirement types (CircuitOpen and BreakerStore added to both)", () => {
    const guarded = (scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError, "R">).pipe(
      CircuitBreaker.withBreaker()
    )
    type Generated = ReturnType<typeof guarded.generate>
    type Streamed = ReturnType<typeof guarded.streamEach>
    expectTypeOf<Effect.Effect.Error<Streamed>>().toEqualTypeOf<Effect.Effect.Error<Generated>>()
    expectTypeOf<Effect.Effect.Error<Streamed>>().toEqualTypeOf<LlmError.ServerError | LlmError.CircuitOpen>()
    expectTypeOf<Effect.Effect.Context<Streamed>>().toEqualTypeOf<Effect.Effect.Context<Generated>>()
    expectTypeOf(guarded.streamEach).returns.toEqualTypeOf<
      Effect.Effect<Completion, LlmError.ServerError | LlmError.CircuitOpen, "R" | BreakerStore.BreakerStore>
    >()
  })
})

describe("CircuitBreaker options", () => {
  it("the defaults pass", () => {
    assert.deepStrictEqual(CircuitBreaker.config(), BreakerStore.defaultConfig)
    assert.deepStrictEqual(CircuitBreaker.config({}), BreakerStore.defaultConfig)
  })

  it("failureRateThreshold: a share in (0, 1]", () => {
    assert.strictEqual(
      refuses("failureRateThreshold", () => CircuitBreaker.config({ failureRateThreshold: 50 })).message,
      "effect-llm CircuitBreaker: option `failureRateThreshold` must be in (0, 1], got 50"
    )
    refuses("failureRateThreshold", () => CircuitBreaker.config({ failureRateThreshold: 0 }))
    refuses("failureRateThreshold", () => CircuitBreaker.config({ failureRateThreshold: Number.NaN }))
    assert.strictEqual(CircuitBreaker.config({ failureRateThreshold: 1 }).failureRateThreshold, 1)
  })

  it("minimumCalls: an integer of at least 1", () => {
    refuses("minimumCalls", () => CircuitBreaker.config({ minimumCalls: 0 }))
    refuses("minimumCalls", () => CircuitBreaker.config({ minimumCalls: 2.5 }))
    assert.strictEqual(CircuitBreaker.config({ minimumCalls: 1 }).minimumCalls, 1)
  })

  it("window: a finite duration longer than zero", () => {
    refuses("window", () => CircuitBreaker.config({ window: 0 }))
    refuses("window", () => CircuitBreaker.config({ window: "-1 minute" }))
    refuses("window", () => CircuitBreaker.config({ window: Duration.infinity }))
    assert.strictEqual(CircuitBreaker.config({ window: "1 millis" }).windowMillis, 1)
  })

  it("cooldown: a finite duration of at least zero", () => {
    refuses("cooldown", () => CircuitBreaker.config({ cooldown: -1 }))
    refuses("cooldown", () => CircuitBreaker.config({ cooldown: Duration.infinity }))
    refuses("cooldown", () => CircuitBreaker.config({ cooldown: "a while" as Duration.DurationInput }))
    assert.strictEqual(CircuitBreaker.config({ cooldown: 0 }).cooldownMillis, 0)
  })

  it("halfOpenProbes: an integer of at least 1", () => {
    refuses("halfOpenProbes", () => CircuitBreaker.config({ halfOpenProbes: 0 }))
    refuses("halfOpenProbes", () => CircuitBreaker.config({ halfOpenProbes: 1.5 }))
    assert.strictEqual(CircuitBreaker.config({ halfOpenProbes: 1 }).halfOpenProbes, 1)
  })

  it("is checked once, when the breaker is built: every entry point, the layer when called", () => {
    const model = scripted([]).model
    const bad = { minimumCalls: 0 }
    refuses("minimumCalls", () => CircuitBreaker.withBreaker(model, bad))
    refuses("minimumCalls", () => model.pipe(CircuitBreaker.withBreaker(bad)))
    refuses("minimumCalls", () => CircuitBreaker.withStore(model, BreakerStore.makeMemory(), bad))
    refuses("minimumCalls", () => CircuitBreaker.layer(bad))
    refuses("minimumCalls", () => CircuitBreaker.state("fake", "fake-1", bad))
    // the preset checks through withStore, when it is applied
    refuses("minimumCalls", () => Resilience.standard({ breaker: bad })(model))
  })
})
