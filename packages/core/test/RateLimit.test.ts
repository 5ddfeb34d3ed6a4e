import { CallEvent, LanguageModel, type LlmError } from "@effect-llm/core"
import * as InvalidOptions from "@effect-llm/core/InvalidOptions"
import * as RateLimit from "@effect-llm/core/RateLimit"
import * as Resilience from "@effect-llm/core/Resilience"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { prompt, rateLimited, scripted } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

const collect = () => {
  const waits: Array<string> = []
  return {
    waits,
    listen: CallEvent.listen((e) =>
      Effect.sync(() => {
        if (e._tag === "RateLimitWait") waits.push(`${e.limit}:${e.delayMillis}`)
      })
    )
  }
}

/** `f` throws `InvalidOptions` naming `RateLimit` and `option`. */
const refuses = refusesFor("RateLimit")

describe("RateLimit", () => {
  it.effect("paces requests per minute: a burst up to the limit, then one slot per 60/rpm s", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([])
      const { listen, waits } = collect()
      const limited = model.pipe(RateLimit.withLimits({ limits: { requestsPerMinute: 2 }, learn: false }))
      const fiber = yield* Effect.fork(
        listen(Effect.forEach([1, 2, 3, 4], () => limited.generate(prompt), { concurrency: "unbounded" }))
      )
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(calls, [0, 0])
      yield* TestClock.adjust("29999 millis")
      assert.deepStrictEqual(calls, [0, 0, 30000])
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 0, 30000, 60000])
      assert.deepStrictEqual(waits, ["requests:30000", "requests:60000"])
    }))

  it.effect("paces tokens per minute with the estimate", () =>
    Effect.gen(function*() {
      // usage reported = 10 input + 590 output = the estimate, so nothing is given back
      const { calls, model } = scripted([{ outputTokens: 590 }, { outputTokens: 590 }])
      const { listen, waits } = collect()
      const limited = model.pipe(
        RateLimit.withLimits({ limits: { tokensPerMinute: 1000 }, learn: false, estimateTokens: () => 600 })
      )
      yield* limited.generate(prompt)
      const fiber = yield* Effect.fork(listen(limited.generate(prompt)))
      // 1000 - 600 - 600 = -200 tokens: 200 / (1000 / 60 s) = 12 s
      yield* TestClock.adjust("11999 millis")
      assert.deepStrictEqual(calls, [0])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 12000])
      assert.deepStrictEqual(waits, ["tokens:12000"])
    }))

  it.effect("reconciles the estimate to the real usage", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ outputTokens: 5 }])
      const limited = model.pipe(
        RateLimit.withLimits({ limits: { tokensPerMinute: 1000 }, learn: false, estimateTokens: () => 600 })
      )
      yield* limited.generate(prompt) // 600 reserved, 15 used: 585 given back
      yield* limited.generate(prompt)
      assert.deepStrictEqual(calls, [0, 0])
    }))

  it.effect("fails with RateLimited instead of waiting when the policy says fail", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([])
      const limited = model.pipe(RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, onLimit: "fail" }))
      yield* limited.generate(prompt)
      const error = yield* Effect.flip(limited.generate(prompt))
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(
        error._tag === "RateLimited" && error.retryAfter ? Duration.toMillis(error.retryAfter) : 0,
        60000
      )
      assert.strictEqual(calls.length, 1)
      // the refused call did not keep its reservation
      yield* TestClock.adjust("60 seconds")
      yield* limited.generate(prompt)
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("fails when the wait would exceed maxWait", () =>
    Effect.gen(function*() {
      const { model } = scripted([])
      const limited = model.pipe(RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, maxWait: "10 seconds" }))
      yield* limited.generate(prompt)
      assert.strictEqual((yield* Effect.flip(limited.generate(prompt)))._tag, "RateLimited")
    }))

  it.effect("learns remaining/reset from the answers and waits for the reset when they run out", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ rateLimit: { remainingRequests: 1, resetRequestsMillis: 5000 } }])
      const { listen, waits } = collect()
      const limited = model.pipe(RateLimit.withLimits())
      yield* limited.generate(prompt)
      yield* limited.generate(prompt) // spends the last one the provider announced
      const fiber = yield* Effect.fork(listen(limited.generate(prompt)))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(calls.length, 2)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 0, 5000])
      assert.deepStrictEqual(waits, ["requests:5000"])
    }))

  it.effect("learns remaining tokens", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ rateLimit: { remainingTokens: 100, resetTokensMillis: 2000 } }])
      const limited = model.pipe(RateLimit.withLimits({ estimateTokens: () => 80 }))
      yield* limited.generate(prompt)
      yield* limited.generate(prompt) // 100 - 80 = 20 left
      const fiber = yield* Effect.fork(limited.generate(prompt))
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(calls.length, 2)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls.length, 3)
    }))

  it.effect("a RateLimited with retry-after holds the following calls until then", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: rateLimited("3 seconds") }])
      const limited = model.pipe(RateLimit.withLimits())
      assert.strictEqual((yield* Effect.flip(limited.generate(prompt)))._tag, "RateLimited")
      const fiber = yield* Effect.fork(limited.generate(prompt))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(calls.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 3000])
    }))

  it.effect("adopts the provider's announced limit when none is configured", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ rateLimit: { limitRequests: 60 } }])
      const limited = model.pipe(RateLimit.withLimits())
      yield* limited.generate(prompt)
      // a fresh bucket of 60/min: 60 calls go at once, the 61st waits 1 s
      const fiber = yield* Effect.fork(Effect.forEach(Array.from({ length: 61 }), () => limited.generate(prompt), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(calls.length, 61)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls.length, 62)
    }))

  for (const api of apis) {
    it.effect(`streams wait for their slot and learn from the Finish event (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{
          chunks: ["a"],
          rateLimit: { remainingRequests: 0, resetRequestsMillis: 1000 }
        }])
        const limited = model.pipe(RateLimit.withLimits())
        yield* runEvents(limited, prompt, api)
        const fiber = yield* Effect.fork(runEvents(limited, prompt, api))
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(calls.length, 1)
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(fiber)
        assert.strictEqual(calls.length, 2)
      }))

    it.effect(`streams are paced by the configured limits, with a RateLimitWait (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([])
        const { listen, waits } = collect()
        const limited = model.pipe(RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, learn: false }))
        yield* runEvents(limited, prompt, api)
        const seen: Array<number> = []
        const stamp = () => Effect.flatMap(TestClock.currentTimeMillis, (now) => Effect.sync(() => seen.push(now)))
        const fiber = yield* Effect.fork(listen(runEvents(limited, prompt, api, stamp)))
        yield* TestClock.adjust("59999 millis")
        assert.deepStrictEqual(calls, [0])
        assert.deepStrictEqual(seen, [])
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(calls, [0, 60_000])
        assert.deepStrictEqual(seen, [60_000, 60_000])
        assert.deepStrictEqual(waits, ["requests:60000"])
      }))

    it.effect(`streams reconcile the estimate to the usage of their Finish (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ outputTokens: 5 }])
        const limited = model.pipe(
          RateLimit.withLimits({ limits: { tokensPerMinute: 1000 }, learn: false, estimateTokens: () => 600 })
        )
        yield* runEvents(limited, prompt, api) // 600 reserved, 15 used: 585 given back
        const fiber = yield* Effect.fork(runEvents(limited, prompt, api))
        yield* TestClock.adjust("1 millis")
        // not reconciled, the second call would wait 12 s for its 600 tokens
        assert.deepStrictEqual(calls, [0, 0])
        yield* Fiber.join(fiber)
      }))

    it.effect(`a stream failing with RateLimited and retry-after holds the following calls (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: rateLimited("3 seconds") }])
        const limited = model.pipe(RateLimit.withLimits())
        assert.strictEqual((yield* Effect.flip(runEvents(limited, prompt, api)))._tag, "RateLimited")
        const fiber = yield* Effect.fork(runEvents(limited, prompt, api))
        yield* TestClock.adjust("2999 millis")
        assert.strictEqual(calls.length, 1)
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(calls, [0, 3000])
      }))
  }

  it.effect("RateLimit.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([])
      const layer = RateLimit.layer({ limits: { requestsPerMinute: 1 }, onLimit: "fail" }).pipe(
        Layer.provide(LanguageModel.layer(model))
      )
      const tags = yield* Effect.gen(function*() {
        yield* LanguageModel.generate(prompt)
        return (yield* Effect.flip(LanguageModel.generate(prompt)))._tag
      }).pipe(Effect.provide(layer))
      assert.strictEqual(tags, "RateLimited")
      assert.strictEqual(calls.length, 1)
    }))

  it("adds RateLimited to the errors", () => {
    const model = scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError, "R">
    expectTypeOf(model.pipe(RateLimit.withLimits())).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.RateLimited, "R">
    >()

    const limited = model.pipe(RateLimit.withLimits())
    // streamEach fails as generate does
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof limited.streamEach>>>().toEqualTypeOf<
      Effect.Effect.Error<ReturnType<typeof limited.generate>>
    >()
  })
})

describe("RateLimit options", () => {
  const model = () => scripted([]).model
  const limited = (options: RateLimit.Options) => RateLimit.withLimits(model(), options)

  it("the defaults pass", () => {
    RateLimit.withLimits(model())
    limited({})
    RateLimit.layer()
  })

  for (const limit of ["requestsPerMinute", "tokensPerMinute"] as const) {
    it(`limits.${limit}: a finite number greater than zero`, () => {
      refuses(`limits.${limit}`, () => limited({ limits: { [limit]: 0 } }))
      refuses(`limits.${limit}`, () => limited({ limits: { [limit]: -100 } }))
      refuses(`limits.${limit}`, () => limited({ limits: { [limit]: Number.POSITIVE_INFINITY } }))
      refuses(`limits.${limit}`, () => limited({ limits: { [limit]: Number.NaN } }))
      limited({ limits: { [limit]: 0.5 } })
    })
  }

  it.effect("limits from a function are checked at the first call of each model, which dies", () =>
    Effect.gen(function*() {
      const asked: Array<string> = []
      const { calls, model } = scripted([])
      const limits = (_: string, name: string) => {
        asked.push(name)
        return name === "bad" ? { tokensPerMinute: 0 } : { requestsPerMinute: 10 }
      }
      const policy = model.pipe(RateLimit.withLimits({ limits }))
      assert.deepStrictEqual(asked, [])
      yield* policy.generate(prompt)
      const exit = yield* Effect.exit(policy.generate({ ...prompt, model: "bad" }))
      assert.isTrue(Exit.isFailure(exit))
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(defect))
      assert.instanceOf(Option.getOrThrow(defect), InvalidOptions.InvalidOptions)
      assert.strictEqual((Option.getOrThrow(defect) as InvalidOptions.InvalidOptions).option, "limits.tokensPerMinute")
      assert.strictEqual(calls.length, 1)
    }))

  it("onLimit: wait or fail", () => {
    refuses("onLimit", () => limited({ onLimit: "block" as "wait" }))
    limited({ onLimit: "wait" })
    limited({ onLimit: "fail" })
  })

  it("maxWait: a duration of at least zero, infinite allowed", () => {
    refuses("maxWait", () => limited({ maxWait: -1 }))
    refuses("maxWait", () => limited({ maxWait: "-10 seconds" }))
    refuses("maxWait", () => limited({ maxWait: "forever" as Duration.DurationInput }))
    limited({ maxWait: 0 })
  })

  it.effect("maxWait: infinite waits however long the slot takes", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([])
      const policy = model.pipe(
        RateLimit.withLimits({ limits: { requestsPerMinute: 1 }, maxWait: Duration.infinity, learn: false })
      )
      yield* policy.generate(prompt)
      // the third call's slot is 2 minutes away: longer than the default maxWait
      const fiber = yield* Effect.fork(
        Effect.all([policy.generate(prompt), policy.generate(prompt)], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 60_000, 120_000])
    }))

  it("is checked once, when the limiter is built: data-last on application, the layer when called", () => {
    const policy = RateLimit.withLimits({ maxWait: -1 })
    refuses("maxWait", () => model().pipe(policy))
    refuses("limits.requestsPerMinute", () => RateLimit.layer({ limits: { requestsPerMinute: 0 } }))
    // the preset checks through withLimits, when it is applied
    refuses("onLimit", () => Resilience.standard({ rateLimit: { onLimit: "block" as "wait" } })(model()))
  })
})
