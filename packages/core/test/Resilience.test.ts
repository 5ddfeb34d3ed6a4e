import { CallEvent, LanguageModel, type LlmError } from "@effect-llm/core"
import * as BreakerStore from "@effect-llm/core/BreakerStore"
import * as CircuitBreaker from "@effect-llm/core/CircuitBreaker"
import * as Resilience from "@effect-llm/core/Resilience"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Random, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { prompt, rateLimited, scripted, serverError } from "./resilienceFixtures.js"
import { type Api, apis, runEvents } from "./streamApis.js"

const listen = () => {
  const events: Array<string> = []
  return { events, listen: CallEvent.listen((e) => Effect.sync(() => events.push(e._tag))) }
}
const outcomes = (attempts: ReadonlyArray<{ model: string; outcome: string }>) =>
  attempts.map((a) => `${a.model}:${a.outcome}`)

describe("Resilience options", () => {
  it("Resilience.layer refuses options a policy cannot work with when it is called, before it is built", () => {
    const cases: ReadonlyArray<[Resilience.Options<[]>, string, string]> = [
      [{ retry: { maxRetries: -1 } }, "Retry", "maxRetries"],
      [{ breaker: { failureRateThreshold: 50 } }, "CircuitBreaker", "failureRateThreshold"],
      [{ timeout: { total: -5 } }, "Timeout", "total"],
      [{ rateLimit: { limits: { requestsPerMinute: 0 } } }, "RateLimit", "limits.requestsPerMinute"]
    ]
    for (const [options, module, option] of cases) {
      refusesFor(module)(option, () => Resilience.layer(options))
    }
    // the defaults and sensible options pass
    Resilience.layer()
    Resilience.layer({ retry: { maxRetries: 0 }, breaker: { failureRateThreshold: 1 }, timeout: false })
  })
})

describe("Resilience.standard", () => {
  it.effect("without faults the call goes straight through", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ text: "hi" }])
      const result = yield* model.pipe(Resilience.standard()).generate(prompt)
      assert.strictEqual(result.text, "hi")
      assert.deepStrictEqual(outcomes(result.attempts), ["fake-1:success"])
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("retries, then falls back, recording the trail and the events", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }, { fail: serverError() }, { fail: serverError() }])
      const backup = scripted([{ text: "backup" }], { provider: "other", model: "b-1" })
      const { events, listen: l } = listen()
      const fiber = yield* Effect.fork(
        l(primary.model.pipe(Resilience.standard({ fallback: [backup.model] })).generate(prompt)).pipe(
          Effect.withRandom(Random.make(7))
        )
      )
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.text, "backup")
      assert.deepStrictEqual(outcomes(result.attempts), [
        "fake-1:ServerError",
        "fake-1:ServerError",
        "fake-1:ServerError",
        "b-1:success"
      ])
      assert.deepStrictEqual(events, [
        "RetryScheduled",
        "AttemptStarted",
        "RetryScheduled",
        "AttemptStarted",
        "FallbackTriggered"
      ])
    }))

  it.effect("a retry-after beyond the longest wait moves on at once", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: rateLimited("5 minutes") }])
      const backup = scripted([{ text: "now" }], { provider: "other", model: "b-1" })
      const result = yield* primary.model.pipe(Resilience.standard({ fallback: [backup.model] })).generate(prompt)
      assert.strictEqual(result.text, "now")
      assert.strictEqual(primary.calls.length, 1)
    }))

  it.effect("per-attempt response deadlines time out hung attempts; the fallback answers", () =>
    Effect.gen(function*() {
      const primary = scripted([{ delay: "1 hour" }, { delay: "1 hour" }, { delay: "1 hour" }])
      const backup = scripted([{ text: "backup" }], { provider: "other", model: "b-1" })
      const fiber = yield* Effect.fork(
        primary.model.pipe(Resilience.standard({ fallback: [backup.model] })).generate({
          ...prompt,
          maxOutputTokens: 100
        })
      )
      yield* TestClock.adjust("3 minutes")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcomes(result.attempts), [
        "fake-1:Timeout",
        "fake-1:Timeout",
        "fake-1:Timeout",
        "b-1:success"
      ])
      assert.strictEqual(primary.interrupted.count, 3)
    }))

  it.effect("no call runs past the total timeout", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ delay: "1 hour" }])
      const fiber = yield* Effect.fork(
        model.pipe(Resilience.standard({ timeout: { total: "1 minute" } })).generate(prompt)
      )
      yield* TestClock.adjust("1 minute")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual(error._tag === "Timeout" ? error.phase : "", "total")
    }))

  for (const api of apis) {
    it.effect(`streams: retried before the first token (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: serverError() }, { chunks: ["a", "b"] }])
        const fiber = yield* Effect.fork(runEvents(model.pipe(Resilience.standard()), prompt, api))
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual((yield* Fiber.join(fiber)).length, 3)
        assert.strictEqual(calls.length, 2)
      }))
  }

  // Under the default timeouts, the outer `Timeout` of a model that does not enforce deadlines runs
  // its `stream` for `streamEach`; without them, `streamEach` runs the policies' own all the way down
  for (const [name, options] of [["standard()", undefined], ["without timeouts", { timeout: false }]] as const) {
    it.effect(`streamEach retries before the first token and gives the events of stream (${name})`, () =>
      Effect.gen(function*() {
        const script = () => [{ fail: serverError() }, { fail: rateLimited() }, { chunks: ["a", "b"] }]
        const run = (api: Api) =>
          Effect.gen(function*() {
            const { calls, model } = scripted(script())
            const fiber = yield* Effect.fork(
              runEvents(model.pipe(Resilience.standard(options)), prompt, api).pipe(Effect.withRandom(Random.make(7)))
            )
            yield* TestClock.adjust("10 seconds")
            const events = yield* Fiber.join(fiber)
            // the attempts' times from the call's start
            return { calls: calls.map((at) => at - calls[0]!), events }
          })
        const streamed = yield* run("stream")
        const each = yield* run("streamEach")
        assert.strictEqual(each.calls.length, 3)
        assert.deepStrictEqual(each.calls, streamed.calls)
        assert.deepStrictEqual(each.events, streamed.events)
        const finish = each.events[each.events.length - 1]
        assert.deepStrictEqual(
          finish?._tag === "Finish" ? outcomes(finish.completion.attempts) : [],
          ["fake-1:ServerError", "fake-1:RateLimited", "fake-1:success"]
        )
      }))
  }

  it.effect("uses the BreakerStore in context when there is one", () =>
    Effect.gen(function*() {
      const { model } = scripted(Array.from({ length: 10 }, () => ({ fail: serverError() })))
      const resilient = model.pipe(Resilience.standard({ retry: false, breaker: { minimumCalls: 2 } }))
      yield* Effect.flip(resilient.generate(prompt))
      yield* Effect.flip(resilient.generate(prompt))
      assert.strictEqual(yield* CircuitBreaker.state("fake", "fake-1"), "open")
    }).pipe(Effect.provide(BreakerStore.layerMemory)))

  it.effect("Resilience.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }])
      const backup = scripted([{ text: "layer backup" }], { provider: "other" })
      const layer = Resilience.layer({ fallback: [backup.model], retry: false }).pipe(
        Layer.provide(LanguageModel.layer(primary.model))
      )
      const result = yield* LanguageModel.generate(prompt).pipe(Effect.provide(layer))
      assert.strictEqual(result.text, "layer backup")
    }))

  it("error type: the chain's errors plus Timeout, CircuitOpen and RateLimited; no new requirement", () => {
    const a = scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError, "A">
    const b = scripted([]).model as unknown as LanguageModel.With<LlmError.Overloaded, "B">
    expectTypeOf(a.pipe(Resilience.standard({ fallback: [b] }))).toEqualTypeOf<
      LanguageModel.With<
        | LlmError.ServerError
        | LlmError.Overloaded
        | LlmError.Timeout
        | LlmError.CircuitOpen
        | LlmError.RateLimited,
        "A" | "B"
      >
    >()
  })
})
