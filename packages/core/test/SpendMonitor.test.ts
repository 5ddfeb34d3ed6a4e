import * as AlertSink from "@effect-llm/core/AlertSink"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import * as SpendMonitor from "@effect-llm/core/SpendMonitor"
import * as UsageLedger from "@effect-llm/core/UsageLedger"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Layer, Stream, TestClock } from "effect"
import { refusesFor } from "./invalidOptionsFixtures.js"

const entry = (costUsd: number, user = "u1", feature = "chat") =>
  Effect.map(Clock.currentTimeMillis, (at): UsageLedger.Entry => ({
    at,
    provider: "openai",
    model: "gpt-5-mini",
    user,
    feature,
    usage: { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 10, reasoningTokens: 0 },
    costUsd,
    latencyMillis: 1,
    outcome: "success"
  }))

describe("SpendMonitor", () => {
  it.effect("spend rate over a threshold alerts once per episode and re-arms when it clears", () =>
    Effect.gen(function*() {
      const sink = AlertSink.makeMemory()
      const monitor = SpendMonitor.make({ rate: { window: "1 minute", thresholdUsd: 1 } })
      const observe = (usd: number) =>
        Effect.flatMap(entry(usd), monitor.observe).pipe(Effect.provideService(AlertSink.AlertSink, sink))
      yield* observe(0.6)
      yield* TestClock.adjust("10 seconds")
      yield* observe(0.3)
      assert.strictEqual((yield* sink.alerts).length, 0)
      yield* observe(0.2) // 1.1 in the last minute
      yield* observe(0.5)
      yield* observe(0.5)
      const alerts = yield* sink.alerts
      assert.strictEqual(alerts.length, 1)
      assert.strictEqual(alerts[0]!.kind, "spend-rate")
      assert.closeTo(alerts[0]!.value, 1.1, 1e-12)
      // the window slides past everything: the condition clears on the next check
      yield* TestClock.adjust("1 minute")
      yield* monitor.check.pipe(Effect.provideService(AlertSink.AlertSink, sink))
      yield* observe(0.5)
      assert.strictEqual((yield* sink.alerts).length, 1)
      yield* observe(0.6)
      assert.strictEqual((yield* sink.alerts).length, 2)
    }))

  it.effect("a user's spend far above its EWMA baseline is a spike (once per episode)", () =>
    Effect.gen(function*() {
      const sink = AlertSink.makeMemory()
      const monitor = SpendMonitor.make({
        spike: { by: ["user", "feature"], bucket: "1 hour", zScore: 3, minBuckets: 3, minSpendUsd: 0.05 }
      })
      const observe = (usd: number, user = "alice", feature = "chat") =>
        Effect.flatMap(entry(usd, user, feature), monitor.observe).pipe(
          Effect.provideService(AlertSink.AlertSink, sink)
        )
      // five quiet hours: ~$0.01-0.012 an hour for alice, and bob likewise
      for (const usd of [0.01, 0.012, 0.011, 0.01, 0.012]) {
        yield* observe(usd)
        yield* observe(usd, "bob", "search")
        yield* TestClock.adjust("1 hour")
      }
      assert.strictEqual((yield* sink.alerts).length, 0)
      // alice spends 10x in this hour, in small calls
      for (let i = 0; i < 10; i++) yield* observe(0.012)
      yield* observe(0.011, "bob", "search")
      const alerts = yield* sink.alerts
      assert.deepStrictEqual(alerts.map((a) => `${a.kind}:${a.key}`), [
        "spend-spike:user:alice",
        "spend-spike:feature:chat"
      ])
      assert.isAbove(alerts[0]!.value, 3)
      // more in the same hour: no new alert
      for (let i = 0; i < 5; i++) yield* observe(0.02)
      assert.strictEqual((yield* sink.alerts).length, 2)
      // next hour, back to normal: re-armed; then a new spike alerts again
      yield* TestClock.adjust("1 hour")
      yield* observe(0.01)
      assert.strictEqual((yield* sink.alerts).length, 2)
      yield* TestClock.adjust("1 hour")
      for (let i = 0; i < 40; i++) yield* observe(0.05)
      assert.strictEqual((yield* sink.alerts).filter((a) => a.key === "user:alice").length, 2)
    }))

  it.effect("a key idle for `forgetAfter` buckets starts afresh (no spike judged before it has history again)", () =>
    Effect.gen(function*() {
      const sink = AlertSink.makeMemory()
      const monitor = SpendMonitor.make({
        spike: { by: ["user"], bucket: "1 hour", zScore: 3, minBuckets: 3, minSpendUsd: 0.05, forgetAfter: 24 }
      })
      const observe = (usd: number, user: string) =>
        Effect.flatMap(entry(usd, user), monitor.observe).pipe(Effect.provideService(AlertSink.AlertSink, sink))
      // alice and carol: the same five quiet hours
      for (const usd of [0.01, 0.012, 0.011, 0.01, 0.012]) {
        yield* observe(usd, "alice")
        yield* observe(usd, "carol")
        yield* TestClock.adjust("1 hour")
      }
      // alice comes back after 23 hours without spend: her (decayed) baseline still judges her
      yield* TestClock.adjust("23 hours")
      for (let i = 0; i < 10; i++) yield* observe(0.012, "alice")
      assert.deepStrictEqual((yield* sink.alerts).map((a) => a.key), ["user:alice"])
      // carol after 24 hours without spend: forgotten, a new key with no history
      yield* TestClock.adjust("1 hour")
      for (let i = 0; i < 10; i++) yield* observe(0.012, "carol")
      assert.deepStrictEqual((yield* sink.alerts).map((a) => a.key), ["user:alice"])
    }))

  it.effect("layerLedger feeds every ledger record to the monitor; the default sink is the logger", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger.UsageLedger
      const sink = AlertSink.makeMemory()
      yield* Effect.flatMap(entry(5), ledger.record).pipe(Effect.provideService(AlertSink.AlertSink, sink))
      assert.strictEqual((yield* sink.alerts).length, 1)
      assert.strictEqual((yield* ledger.totals()).calls, 1)
      // no sink in context: goes to the logger, does not fail
      yield* TestClock.adjust("2 minutes")
      yield* Effect.flatMap(entry(5), ledger.record)
    }).pipe(
      Effect.provide(
        SpendMonitor.layerLedger.pipe(
          Layer.provide(UsageLedger.layerMemory()),
          Layer.provide(SpendMonitor.layer({ rate: { window: "1 minute", thresholdUsd: 1 } }))
        )
      )
    ))
})

describe("SpendMonitor with the ledger policy", () => {
  it.effect("calls recorded by UsageLedger.track over layerLedger reach the monitor (no plain record bypasses it)", () =>
    Effect.gen(function*() {
      const sink = AlertSink.makeMemory()
      const model = LanguageModel.make({
        provider: "openai",
        model: "gpt-5-mini",
        generate: () =>
          Effect.succeed({
            text: "ok",
            finishReason: "stop",
            usage: {
              inputTokens: 10,
              cachedInputTokens: 0,
              cacheWriteInputTokens: 0,
              outputTokens: 10,
              reasoningTokens: 0
            },
            costUsd: 5,
            provider: "openai",
            model: "gpt-5-mini",
            servedModel: "gpt-5-mini",
            attempts: []
          }),
        stream: () => Stream.die("not streamed")
      }).pipe(UsageLedger.track())
      yield* model.generate({ messages: [{ role: "user", content: "hi" }] }).pipe(
        Effect.provideService(AlertSink.AlertSink, sink)
      )
      assert.strictEqual((yield* (yield* UsageLedger.UsageLedger).totals()).calls, 1)
      assert.strictEqual((yield* sink.alerts).length, 1)
    }).pipe(
      Effect.provide(
        SpendMonitor.layerLedger.pipe(
          Layer.provide(UsageLedger.layerMemory()),
          Layer.provide(SpendMonitor.layer({ rate: { window: "1 minute", thresholdUsd: 1 } }))
        )
      )
    ))
})

const refuses = (f: () => unknown, option: string) => refusesFor("SpendMonitor")(option, f)

describe("SpendMonitor options", () => {
  it("make and layer refuse options the monitor cannot work with", () => {
    const rate = { window: "1 minute", thresholdUsd: 1 } as const
    const cases: ReadonlyArray<readonly [SpendMonitor.Options, string]> = [
      [{ rate: { ...rate, window: 0 } }, "rate.window"],
      [{ rate: { ...rate, window: "-5 minutes" } }, "rate.window"],
      [{ rate: { ...rate, window: Duration.infinity } }, "rate.window"],
      [{ rate: { thresholdUsd: 1 } } as unknown as SpendMonitor.Options, "rate.window"],
      [{ rate: { ...rate, thresholdUsd: -0.01 } }, "rate.thresholdUsd"],
      [{ rate: { ...rate, thresholdUsd: Number.POSITIVE_INFINITY } }, "rate.thresholdUsd"],
      [{ rate: { window: "1 minute" } } as unknown as SpendMonitor.Options, "rate.thresholdUsd"],
      [{ spike: { by: [] } }, "spike.by"],
      [{ spike: { by: ["team" as "user"] } }, "spike.by"],
      // a dimension listed twice would count every entry twice in its baseline
      [{ spike: { by: ["user", "user"] } }, "spike.by"],
      [{ spike: { bucket: 0 } }, "spike.bucket"],
      [{ spike: { bucket: Duration.infinity } }, "spike.bucket"],
      [{ spike: { alpha: 0 } }, "spike.alpha"],
      [{ spike: { alpha: 1.5 } }, "spike.alpha"],
      [{ spike: { zScore: 0 } }, "spike.zScore"],
      [{ spike: { zScore: -2 } }, "spike.zScore"],
      [{ spike: { minBuckets: -1 } }, "spike.minBuckets"],
      [{ spike: { minBuckets: 2.5 } }, "spike.minBuckets"],
      [{ spike: { minSpendUsd: -0.01 } }, "spike.minSpendUsd"],
      [{ spike: { forgetAfter: 0 } }, "spike.forgetAfter"],
      [{ spike: { forgetAfter: 1.5 } }, "spike.forgetAfter"]
    ]
    for (const [options, option] of cases) {
      refuses(() => SpendMonitor.make(options), option)
      // the layer checks when it is called, not when it is built
      refuses(() => SpendMonitor.layer(options), option)
    }
  })

  it("accepts the defaults and the boundary values", () => {
    SpendMonitor.make({})
    SpendMonitor.make({ rate: { window: "1 millis", thresholdUsd: 0 }, spike: {} })
    SpendMonitor.make({
      spike: {
        by: ["feature", "user"],
        bucket: "1 millis",
        alpha: 1,
        zScore: 0.001,
        minBuckets: 0,
        minSpendUsd: 0,
        forgetAfter: 1
      }
    })
    SpendMonitor.layer({ spike: { by: ["feature"], alpha: 0.001 } })
  })
})
