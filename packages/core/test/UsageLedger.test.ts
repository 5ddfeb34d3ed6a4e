import type { Completion } from "@effect-llm/core/Completion"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import { ServerError } from "@effect-llm/core/LlmError"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import * as UsageLedger from "@effect-llm/core/UsageLedger"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, MetricState, Stream, TestClock } from "effect"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { apis, runEvents, takeEvents } from "./streamApis.js"

const completion = (model: string, cached = 0): Completion => ({
  text: "ok",
  finishReason: "stop",
  usage: {
    inputTokens: 1_000,
    cachedInputTokens: cached,
    cacheWriteInputTokens: 0,
    outputTokens: 100,
    reasoningTokens: 0
  },
  provider: "openai",
  model,
  servedModel: `${model}-2026-08-07`,
  attempts: [],
  cache: "miss"
})

let mode: "ok" | "fail" | "hang" = "ok"
const base = (model: string) =>
  LanguageModel.make({
    provider: "openai",
    model,
    generate: (request) =>
      mode === "fail"
        ? Effect.fail(new ServerError({ provider: "openai", model, status: 500 }))
        : mode === "hang"
        ? Effect.never
        : Effect.as(
          Effect.sleep("250 millis"),
          completion(request.model ?? model, request.feature === "cached" ? 600 : 0)
        ),
    stream: (request) =>
      Stream.make(
        { _tag: "TextDelta" as const, text: "o" },
        { _tag: "Finish" as const, completion: completion(request.model ?? model) }
      )
  })

const deps = Layer.mergeAll(UsageLedger.layerMemory(), ModelCatalog.layer)

describe("UsageLedger", () => {
  it.effect("records every call with tokens, cost, latency, cache status and outcome; totals by user, feature, model and window", () =>
    Effect.gen(function*() {
      mode = "ok"
      const model = base("gpt-5-mini").pipe(UsageLedger.track())
      expectTypeOf(model).toEqualTypeOf<LanguageModel.With<ServerError, UsageLedger.UsageLedger>>()
      const run = (request: Parameters<typeof model.generate>[0]) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(model.generate(request))
          yield* TestClock.adjust("250 millis")
          return yield* Fiber.join(fiber)
        })
      yield* run({ messages: [], user: "alice", feature: "chat" })
      yield* run({ messages: [], user: "alice", feature: "cached" })
      yield* run({ messages: [], user: "bob", feature: "chat", model: "gpt-5" })
      yield* TestClock.adjust("2 hours")
      mode = "fail"
      yield* Effect.flip(model.generate({ messages: [], user: "bob", feature: "chat" }))
      mode = "hang"
      const hung = yield* Effect.fork(model.generate({ messages: [], user: "carol" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(hung)

      const ledger = yield* UsageLedger.UsageLedger
      const entries = yield* ledger.entries()
      assert.deepStrictEqual(entries.map((e) => e.outcome), [
        "success",
        "success",
        "success",
        "ServerError",
        "interrupted"
      ])
      const first = entries[0]!
      assert.strictEqual(first.provider, "openai")
      assert.strictEqual(first.model, "gpt-5-mini")
      assert.strictEqual(first.user, "alice")
      assert.strictEqual(first.feature, "chat")
      assert.strictEqual(first.latencyMillis, 250)
      assert.strictEqual(first.cache, "miss")
      const mini = (1_000 * 0.25 + 100 * 2) / 1e6
      const miniCached = (400 * 0.25 + 600 * 0.025 + 100 * 2) / 1e6
      const full = (1_000 * 1.25 + 100 * 10) / 1e6
      assert.closeTo(first.costUsd!, mini, 1e-15)
      assert.strictEqual(entries[1]!.usage.cachedInputTokens, 600)
      assert.strictEqual(entries[1]!.cache, "miss")
      assert.strictEqual(entries[4]!.latencyMillis, 1_000)

      const byUser = yield* ledger.totalsBy("user")
      assert.closeTo(byUser.get("alice")!.costUsd, mini + miniCached, 1e-15)
      assert.strictEqual(byUser.get("alice")!.cachedInputTokens, 600)
      assert.strictEqual(byUser.get("alice")!.cacheHits, 0)
      assert.strictEqual(byUser.get("bob")!.calls, 2)
      assert.strictEqual(byUser.get("bob")!.failures, 1)
      const byModel = yield* ledger.totalsBy("model")
      assert.closeTo(byModel.get("gpt-5")!.costUsd, full, 1e-15)
      const byFeature = yield* ledger.totalsBy("feature", { user: "alice" })
      assert.deepStrictEqual(Array.from(byFeature.keys()).sort(), ["cached", "chat"])
      // the last hour only has the failure and the interruption
      const recent = yield* ledger.totals({ window: "1 hour" })
      assert.strictEqual(recent.calls, 2)
      assert.strictEqual(recent.costUsd, 0)
      const all = yield* ledger.totals()
      assert.strictEqual(all.calls, 5)
      assert.strictEqual(all.inputTokens, 3_000)
      assert.strictEqual(all.outputTokens, 300)
    }).pipe(Effect.provide(deps)))

  it.effect("records a response-cache hit at zero cost and no tokens, and counts what it saved", () =>
    Effect.gen(function*() {
      const stored = completion("gpt-5-mini")
      const hitCost = 0.0004
      const model = LanguageModel.make({
        provider: "openai",
        model: "gpt-5-mini",
        generate: () => Effect.succeed({ ...stored, cache: "hit" as const, costUsd: hitCost }),
        stream: () => Stream.empty
      }).pipe(UsageLedger.track())
      yield* model.generate({ messages: [], user: "dana" })
      const ledger = yield* UsageLedger.UsageLedger
      const [entry] = yield* ledger.entries()
      assert.strictEqual(entry!.cache, "hit")
      assert.strictEqual(entry!.costUsd, 0)
      assert.strictEqual(entry!.usage.inputTokens, 0)
      assert.strictEqual(entry!.usage.outputTokens, 0)
      const totals = yield* ledger.totals()
      assert.strictEqual(totals.cacheHits, 1)
      assert.strictEqual(totals.costUsd, 0)
      assert.closeTo(totals.savedUsd, hitCost, 1e-15)
    }).pipe(Effect.provide(deps)))

  for (const api of apis) {
    it.effect(`updates Effect metrics (${api})`, () =>
      Effect.gen(function*() {
        mode = "ok"
        const model = base("gpt-4o-mini").pipe(UsageLedger.track())
        const calls = Metric.tagged(
          Metric.tagged(Metric.tagged(UsageLedger.metrics.calls, "provider", "openai"), "model", "gpt-4o-mini"),
          "outcome",
          "success"
        )
        const before = (yield* Metric.value(calls)) as MetricState.MetricState.Counter<number>
        yield* runEvents(model, { messages: [] }, api)
        yield* runEvents(model, { messages: [] }, api)
        const after = (yield* Metric.value(calls)) as MetricState.MetricState.Counter<number>
        assert.strictEqual(after.count - before.count, 2)
        const output = Metric.tagged(
          Metric.tagged(Metric.tagged(UsageLedger.metrics.tokens, "provider", "openai"), "model", "gpt-4o-mini"),
          "type",
          "output"
        )
        assert.isAtLeast(((yield* Metric.value(output)) as MetricState.MetricState.Counter<number>).count, 200)
        const ledger = yield* UsageLedger.UsageLedger
        assert.strictEqual((yield* ledger.totals({ model: "gpt-4o-mini" })).calls, 2)
      }).pipe(Effect.provide(deps)))

    it.effect(`records streamed calls: success, failure, interruption, and a call left after its Finish (${api})`, () =>
      Effect.gen(function*() {
        let streamMode: "ok" | "fail" | "hang" = "ok"
        const text = { _tag: "TextDelta" as const, text: "o" }
        const model = LanguageModel.make({
          provider: "openai",
          model: "gpt-5-mini",
          generate: () => Effect.succeed(completion("gpt-5-mini")),
          stream: () =>
            streamMode === "fail"
              ? Stream.concat(
                Stream.make(text),
                Stream.fail(new ServerError({ provider: "openai", model: "gpt-5-mini", status: 502 }))
              )
              : streamMode === "hang"
              ? Stream.concat(Stream.make(text), Stream.never)
              : Stream.concat(
                Stream.fromEffect(Effect.as(Effect.sleep("300 millis"), text)),
                Stream.make({ _tag: "Finish" as const, completion: completion("gpt-5-mini") })
              )
        }).pipe(UsageLedger.track())
        const request = { messages: [], user: "ann" }
        const ok = yield* Effect.fork(runEvents(model, request, api))
        yield* TestClock.adjust("300 millis")
        const events = yield* Fiber.join(ok)
        assert.strictEqual(events.length, 2)
        streamMode = "fail"
        const error = yield* Effect.flip(runEvents(model, request, api))
        assert.strictEqual(error._tag, "ServerError")
        streamMode = "hang"
        const hung = yield* Effect.fork(runEvents(model, request, api))
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(hung)
        // the caller leaves after the text (interrupted), or after the Finish (an answered call)
        assert.strictEqual((yield* takeEvents(model, request, api, 1)).length, 1)
        streamMode = "ok"
        const left = yield* Effect.fork(takeEvents(model, request, api, 2))
        yield* TestClock.adjust("300 millis")
        assert.deepStrictEqual((yield* Fiber.join(left)).map((event) => event._tag), ["TextDelta", "Finish"])

        const entries = yield* (yield* UsageLedger.UsageLedger).entries()
        assert.deepStrictEqual(entries.map((e) => e.outcome), [
          "success",
          "ServerError",
          "interrupted",
          "interrupted",
          "success"
        ])
        assert.deepStrictEqual(entries.map((e) => e.latencyMillis), [300, 0, 1_000, 0, 300])
        assert.deepStrictEqual(entries.map((e) => e.usage.outputTokens), [100, 0, 0, 0, 100])
        const mini = (1_000 * 0.25 + 100 * 2) / 1e6
        assert.closeTo(entries[0]!.costUsd!, mini, 1e-15)
        assert.closeTo(entries[4]!.costUsd!, mini, 1e-15)
        for (const entry of entries.slice(1, 4)) assert.isUndefined(entry.costUsd)
        assert.isTrue(entries.every((e) => e.user === "ann" && e.model === "gpt-5-mini"))
        const totals = yield* (yield* UsageLedger.UsageLedger).totals()
        assert.strictEqual(totals.calls, 5)
        assert.strictEqual(totals.failures, 3)
      }).pipe(Effect.provide(deps)))
  }

  it.effect("without a catalog, unpriced calls stay unpriced (never zero-priced)", () =>
    Effect.gen(function*() {
      mode = "ok"
      const model = base("mystery").pipe(UsageLedger.track())
      const fiber = yield* Effect.fork(model.generate({ messages: [] }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const ledger = yield* UsageLedger.UsageLedger
      const [entry] = yield* ledger.entries()
      assert.isUndefined(entry!.costUsd)
      assert.strictEqual((yield* ledger.totals()).unpriced, 1)
    }).pipe(Effect.provide(UsageLedger.layerMemory())))

  it.effect("UsageLedger.layer wraps the LanguageModel in context", () =>
    Effect.gen(function*() {
      mode = "ok"
      const fiber = yield* Effect.fork(LanguageModel.generate({ messages: [], user: "zed" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const ledger = yield* UsageLedger.UsageLedger
      const totals = yield* ledger.totals({ user: "zed" })
      assert.strictEqual(totals.calls, 1)
      assert.isAbove(totals.costUsd, 0)
    }).pipe(
      Effect.provide(
        UsageLedger.layer().pipe(Layer.provide(LanguageModel.layer(base("gpt-5-nano"))), Layer.provideMerge(deps))
      )
    ))
})

const refuses = (f: () => unknown, option: string) => refusesFor("UsageLedger")(option, f)

describe("UsageLedger memory options", () => {
  it("makeMemory and layerMemory refuse a maxEntries they cannot keep", () => {
    for (const maxEntries of [0, -1, 10.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      refuses(() => UsageLedger.makeMemory({ maxEntries }), "maxEntries")
      refuses(() => UsageLedger.layerMemory({ maxEntries }), "maxEntries")
    }
  })

  it.effect("accepts the default and a ledger of one entry", () =>
    Effect.gen(function*() {
      UsageLedger.makeMemory()
      UsageLedger.layerMemory({})
      const ledger = UsageLedger.makeMemory({ maxEntries: 1 })
      const entry = (at: number): UsageLedger.Entry => ({
        at,
        provider: "openai",
        model: "gpt-5-mini",
        usage: completion("gpt-5-mini").usage,
        latencyMillis: 1,
        outcome: "success"
      })
      yield* ledger.record(entry(1))
      yield* ledger.record(entry(2))
      assert.deepStrictEqual((yield* ledger.entries()).map((e) => e.at), [2])
    }))
})
