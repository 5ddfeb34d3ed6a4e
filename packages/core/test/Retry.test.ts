import { CallEvent, LanguageModel, type LlmError } from "@effect-llm/core"
import * as Resilience from "@effect-llm/core/Resilience"
import * as Retry from "@effect-llm/core/Retry"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Random, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { invalidRequest, prompt, rateLimited, scripted, serverError } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

const collect = () => {
  const events: Array<CallEvent.CallEvent> = []
  return { events, listen: CallEvent.listen((event) => Effect.sync(() => events.push(event))) }
}
const delaysOf = (events: ReadonlyArray<CallEvent.CallEvent>) =>
  events.flatMap((e) => (e._tag === "RetryScheduled" ? [e.delayMillis] : []))

const noJitter = (options?: Retry.BackoffOptions) => Retry.backoff({ jitter: "none", ...options })

/** `f` throws `InvalidOptions` naming `Retry` and `option`. */
const refuses = refusesFor("Retry")
const model = () => scripted([]).model

describe("Retry", () => {
  it.effect("waits the exact exponential delays and records the trail", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: serverError() }, { fail: serverError() }, { text: "third" }])
      const { events, listen } = collect()
      const retried = model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false }))
      const fiber = yield* Effect.fork(listen(retried.generate(prompt)))
      yield* TestClock.adjust("499 millis")
      assert.deepStrictEqual(calls, [0])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(calls, [0, 500])
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(calls.length, 2)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 500, 1500])
      assert.strictEqual(result.text, "third")
      assert.deepStrictEqual(delaysOf(events), [500, 1000])
      assert.deepStrictEqual(result.attempts.map((a) => a.outcome), ["ServerError", "ServerError", "success"])
      assert.deepStrictEqual(result.attempts.map((a) => a.durationMillis), [0, 0, undefined])
      const scheduled = events.filter((e) => e._tag === "RetryScheduled")
      assert.deepStrictEqual(scheduled.map((e) => e._tag === "RetryScheduled" && e.attempt), [2, 3])
    }))

  it.effect("full jitter draws each delay from the seeded Random in [0, capped exponential)", () =>
    Effect.gen(function*() {
      const seed = 42
      const expected: Array<number> = []
      const random = Random.make(seed)
      for (const base of [500, 1000, 2000, 4000]) expected.push(Math.floor(base * (yield* random.next)))
      const { model } = scripted([
        { fail: serverError() },
        { fail: rateLimited() },
        { fail: rateLimited() },
        { fail: serverError() },
        { text: "ok" }
      ])
      const { events, listen } = collect()
      const retried = model.pipe(Retry.withPolicy({ budget: false }))
      const fiber = yield* Effect.fork(listen(retried.generate(prompt)).pipe(Effect.withRandom(Random.make(seed))))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.text, "ok")
      assert.deepStrictEqual(delaysOf(events), expected)
      for (const [i, d] of delaysOf(events).entries()) assert.isTrue(d < 500 * 2 ** i)
    }))

  it.effect("caps each delay", () =>
    Effect.gen(function*() {
      const { model } = scripted(Array.from({ length: 4 }, () => ({ fail: rateLimited() })))
      const { events, listen } = collect()
      const retried = model.pipe(
        Retry.withPolicy({ schedule: noJitter({ base: "1 second", factor: 10, cap: "5 seconds" }), budget: false })
      )
      const fiber = yield* Effect.fork(listen(retried.generate(prompt)))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(delaysOf(events), [1000, 5000, 5000, 5000])
    }))

  it.effect("honours retry-after when it is longer than the backoff", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: rateLimited("3 seconds") }, { text: "ok" }])
      const { events, listen } = collect()
      const fiber = yield* Effect.fork(
        listen(model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false })).generate(prompt))
      )
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(calls.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0, 3000])
      assert.deepStrictEqual(delaysOf(events), [3000])
    }))

  it.effect("fails at once when retry-after is longer than maxRetryAfter", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: rateLimited("2 minutes") }, { text: "ok" }])
      const { events, listen } = collect()
      const error = yield* Effect.flip(
        listen(model.pipe(Retry.withPolicy({ maxRetryAfter: "1 minute", budget: false })).generate(prompt))
      )
      assert.strictEqual(error._tag, "RateLimited")
      assert.deepStrictEqual(calls, [0])
      assert.strictEqual(events.length, 0)
    }))

  it.effect("never retries InvalidRequest; retries ServerError twice by default", () =>
    Effect.gen(function*() {
      const invalid = scripted([{ fail: invalidRequest() }, { text: "ok" }])
      const e1 = yield* Effect.flip(invalid.model.pipe(Retry.withPolicy({ budget: false })).generate(prompt))
      assert.strictEqual(e1._tag, "InvalidRequest")
      assert.strictEqual(invalid.calls.length, 1)

      const failing = scripted(Array.from({ length: 5 }, () => ({ fail: serverError() })))
      const fiber = yield* Effect.fork(
        failing.model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false })).generate(prompt)
      )
      yield* TestClock.adjust("1 minute")
      const e2 = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(e2._tag, "ServerError")
      assert.strictEqual(failing.calls.length, 3)
    }))

  it.effect("a per-tag policy and maxRetries bound the retries", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted(Array.from({ length: 10 }, () => ({ fail: rateLimited() })))
      const fiber = yield* Effect.fork(
        model.pipe(
          Retry.withPolicy({ schedule: noJitter(), retries: { RateLimited: 9 }, maxRetries: 6, budget: false })
        ).generate(prompt)
      )
      yield* TestClock.adjust("10 minutes")
      yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(calls.length, 7)
    }))

  it.effect("the retry budget allows at most its share of calls in the sliding window", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted(Array.from({ length: 100 }, () => ({ fail: serverError() })))
      const budget = Retry.makeBudget({ ratio: 0.5, minRetries: 1, window: "10 seconds" })
      const retried = model.pipe(
        Retry.withPolicy({ schedule: noJitter({ base: "10 millis" }), retries: { ServerError: 1 }, budget })
      )
      const once = Effect.gen(function*() {
        const fiber = yield* Effect.fork(retried.generate(prompt))
        yield* TestClock.adjust("10 millis")
        yield* Effect.flip(Fiber.join(fiber))
      })
      const counts: Array<number> = []
      for (let i = 0; i < 4; i++) {
        const before = calls.length
        yield* once
        counts.push(calls.length - before)
      }
      // retries < max(1, 0.5 * calls): call 1 retries, 2 not, 3 retries, 4 not
      assert.deepStrictEqual(counts, [2, 1, 2, 1])
      assert.deepStrictEqual(budget.usage("fake", yield* TestClock.currentTimeMillis), { calls: 4, retries: 2 })
      yield* TestClock.adjust("11 seconds")
      const before = calls.length
      yield* once
      assert.strictEqual(calls.length - before, 2)
    }))

  for (const api of apis) {
    it.effect(`streams are retried before their first token (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: serverError() }, { chunks: ["a", "b"] }])
        const fiber = yield* Effect.fork(
          runEvents(model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false })), prompt, api)
        )
        yield* TestClock.adjust("1 second")
        const events = yield* Fiber.join(fiber)
        assert.deepStrictEqual(calls, [0, 500])
        assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "TextDelta", "Finish"])
        const finish = events[2]!
        assert.deepStrictEqual(
          finish._tag === "Finish" ? finish.completion.attempts.map((a) => a.outcome) : [],
          ["ServerError", "success"]
        )
      }))

    it.effect(`streams are never restarted after their first token (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ chunks: ["a"], failAfterChunks: serverError() }, { text: "ok" }])
        const seen: Array<string> = []
        const onEvent = (e: StreamEvent.StreamEvent) => Effect.sync(() => seen.push(e._tag))
        const fiber = yield* Effect.fork(
          Effect.flip(runEvents(model.pipe(Retry.withPolicy({ budget: false })), prompt, api, onEvent))
        )
        // time enough for a retry, had there been one
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "ServerError")
        assert.deepStrictEqual(seen, ["TextDelta"])
        assert.strictEqual(calls.length, 1)
      }))

    it.effect(`a retried stream that fails after its first token is not retried again (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([
          { fail: serverError() },
          { chunks: ["a"], failAfterChunks: serverError() },
          { text: "never" }
        ])
        const seen: Array<string> = []
        const fiber = yield* Effect.fork(Effect.flip(
          runEvents(
            model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false })),
            prompt,
            api,
            (e) => Effect.sync(() => seen.push(e._tag === "TextDelta" ? e.text : e._tag))
          )
        ))
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "ServerError")
        assert.deepStrictEqual(seen, ["a"])
        assert.deepStrictEqual(calls, [0, 500])
      }))
  }

  describe("streamEach", () => {
    const retried = (model: LanguageModel.With<LlmError.LlmError>) =>
      model.pipe(Retry.withPolicy({ schedule: noJitter(), budget: false }))

    it.effect("a retried call's completion and its Finish event both carry the trail", () =>
      Effect.gen(function*() {
        const { model } = scripted([{ fail: serverError() }, { chunks: ["a", "b"] }])
        const events: Array<StreamEvent.StreamEvent> = []
        const fiber = yield* Effect.fork(
          retried(model).streamEach(prompt, (event) => Effect.sync(() => events.push(event)))
        )
        yield* TestClock.adjust("1 second")
        const completion = yield* Fiber.join(fiber)
        assert.strictEqual(completion.text, "ab")
        assert.deepStrictEqual(completion.attempts.map((a) => a.outcome), ["ServerError", "success"])
        assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "TextDelta", "Finish"])
        const finish = events[2]!
        assert.deepStrictEqual(
          finish._tag === "Finish" ? finish.completion.attempts.map((a) => a.outcome) : [],
          ["ServerError", "success"]
        )
        assert.deepStrictEqual(finish._tag === "Finish" ? finish.completion : undefined, completion)
      }))

    it.effect("onEvent is never called for a failed attempt that emitted nothing", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([
          { delay: "100 millis", fail: serverError() },
          { delay: "100 millis", fail: serverError() },
          { delay: "100 millis", chunks: ["a", "b"] }
        ])
        const seen: Array<string> = []
        const onEvent = (event: StreamEvent.StreamEvent) =>
          Effect.flatMap(TestClock.currentTimeMillis, (now) =>
            Effect.sync(() => seen.push(`${now}:${event._tag === "TextDelta" ? event.text : event._tag}`)))
        const fiber = yield* Effect.fork(retried(model).streamEach(prompt, onEvent))
        yield* TestClock.adjust("1 minute")
        const completion = yield* Fiber.join(fiber)
        // attempts at 0, 600 (100 + 500) and 1700 (700 + 1000); only the last one's events, once each
        assert.deepStrictEqual(calls, [0, 600, 1700])
        assert.deepStrictEqual(seen, ["1800:a", "1800:b", "1800:Finish"])
        const outcomes = completion.attempts.map((a) =>
          a.outcome
        )
        assert.deepStrictEqual(outcomes, ["ServerError", "ServerError", "success"])
      }))
  })

  it.effect("Retry.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: serverError() }, { text: "via layer" }])
      const layer = Retry.layer({ schedule: noJitter(), budget: false }).pipe(
        Layer.provide(LanguageModel.layer(model))
      )
      const fiber = yield* Effect.fork(LanguageModel.generate(prompt).pipe(Effect.provide(layer)))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.text, "via layer")
      assert.strictEqual(calls.length, 2)
    }))

  it("keeps the model's types", () => {
    const model = scripted([]).model as LanguageModel.With<LlmError.ServerError | LlmError.RateLimited, "R">
    const retried = model.pipe(Retry.withPolicy(Retry.standard))
    expectTypeOf(retried).toEqualTypeOf<LanguageModel.With<LlmError.ServerError | LlmError.RateLimited, "R">>()
    expectTypeOf(Retry.layer()).toEqualTypeOf<
      Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel>
    >()
    assert.strictEqual(Duration.toMillis(Duration.decode(Retry.standard.maxRetryAfter!)), 30000)
  })
})

describe("Retry options", () => {
  it("the defaults pass", () => {
    Retry.backoff()
    Retry.makeBudget()
    Retry.withPolicy(model())
    Retry.withPolicy(model(), Retry.standard)
    Retry.withPolicy(model(), { budget: false })
    Retry.layer()
  })

  it("backoff: base is a finite duration longer than zero", () => {
    refuses("base", () => Retry.backoff({ base: 0 }))
    refuses("base", () => Retry.backoff({ base: "-1 second" }))
    refuses("base", () => Retry.backoff({ base: Duration.infinity }))
    refuses("base", () => Retry.backoff({ base: "soon" as Duration.DurationInput }))
    Retry.backoff({ base: "1 millis" })
  })

  it("backoff: factor is finite and at least 1", () => {
    assert.include(refuses("factor", () => Retry.backoff({ factor: 0.5 })).message, "at least 1, got 0.5")
    refuses("factor", () => Retry.backoff({ factor: Number.NaN }))
    refuses("factor", () => Retry.backoff({ factor: Number.POSITIVE_INFINITY }))
    Retry.backoff({ factor: 1 })
  })

  it.effect("backoff: factor 1 keeps the delay constant", () =>
    Effect.gen(function*() {
      const { model } = scripted(Array.from({ length: 4 }, () => ({ fail: rateLimited() })))
      const { events, listen } = collect()
      const retried = model.pipe(Retry.withPolicy({ schedule: noJitter({ factor: 1 }), budget: false }))
      const fiber = yield* Effect.fork(listen(retried.generate(prompt)))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(delaysOf(events), [500, 500, 500, 500])
    }))

  it("backoff: cap is longer than zero and not shorter than base", () => {
    refuses("cap", () => Retry.backoff({ cap: 0 }))
    refuses("cap", () => Retry.backoff({ cap: -5 }))
    assert.include(
      refuses("cap", () => Retry.backoff({ base: "2 seconds", cap: "1 second" })).message,
      "must not be shorter than `base` (2s)"
    )
    Retry.backoff({ base: "2 seconds", cap: "2 seconds" })
    Retry.backoff({ cap: "100 millis" }) // shorter than the default base: a constant delay, as asked
  })

  it.effect("backoff: an infinite cap is no cap", () =>
    Effect.gen(function*() {
      const { model } = scripted(Array.from({ length: 4 }, () => ({ fail: rateLimited() })))
      const { events, listen } = collect()
      const schedule = noJitter({ base: "10 seconds", factor: 10, cap: Duration.infinity })
      const fiber = yield* Effect.fork(
        listen(model.pipe(Retry.withPolicy({ schedule, budget: false })).generate(prompt))
      )
      yield* TestClock.adjust("1 day")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(delaysOf(events), [10_000, 100_000, 1_000_000, 10_000_000])
    }))

  it("backoff: jitter is full or none", () => {
    refuses("jitter", () => Retry.backoff({ jitter: "half" as "full" }))
    Retry.backoff({ jitter: "none" })
    Retry.backoff({ jitter: "full" })
  })

  it("makeBudget: ratio is finite and at least 0", () => {
    refuses("ratio", () => Retry.makeBudget({ ratio: -0.1 }))
    refuses("ratio", () => Retry.makeBudget({ ratio: Number.POSITIVE_INFINITY }))
    Retry.makeBudget({ ratio: 0 })
  })

  it("makeBudget: minRetries is an integer of at least 0", () => {
    refuses("minRetries", () => Retry.makeBudget({ minRetries: -1 }))
    refuses("minRetries", () => Retry.makeBudget({ minRetries: 1.5 }))
    Retry.makeBudget({ minRetries: 0 })
  })

  it("makeBudget: window is a finite duration longer than zero", () => {
    refuses("window", () => Retry.makeBudget({ window: 0 }))
    refuses("window", () => Retry.makeBudget({ window: Duration.infinity }))
    Retry.makeBudget({ window: "1 millis" })
  })

  it("budget options given to the policy are checked under `budget.`", () => {
    refuses("budget.ratio", () => Retry.withPolicy(model(), { budget: { ratio: -1 } }))
    refuses("budget.minRetries", () => Retry.withPolicy(model(), { budget: { minRetries: 0.5 } }))
    refuses("budget.window", () => Retry.layer({ budget: { window: "-1 second" } }))
  })

  it("retries: an integer of at least 0 per LlmError tag", () => {
    refuses("retries.RateLimited", () => Retry.withPolicy(model(), { retries: { RateLimited: -1 } }))
    refuses("retries.ServerError", () => Retry.withPolicy(model(), { retries: { ServerError: 1.5 } }))
    const typo = refuses("retries.RateLimted", () => Retry.withPolicy(model(), { retries: { RateLimted: 2 } as {} }))
    assert.include(typo.message, "is not an LlmError tag")
    Retry.withPolicy(model(), { retries: { RateLimited: 0, ServerError: 0 } })
  })

  it("maxRetries: an integer of at least 0", () => {
    refuses("maxRetries", () => Retry.withPolicy(model(), { maxRetries: -1 }))
    refuses("maxRetries", () => Retry.withPolicy(model(), { maxRetries: 2.5 }))
    Retry.withPolicy(model(), { maxRetries: 0 })
  })

  it("maxRetryAfter: a duration of at least 0, infinite allowed", () => {
    refuses("maxRetryAfter", () => Retry.withPolicy(model(), { maxRetryAfter: -1 }))
    refuses("maxRetryAfter", () => Retry.withPolicy(model(), { maxRetryAfter: "-1 second" }))
    refuses("maxRetryAfter", () => Retry.withPolicy(model(), { maxRetryAfter: "later" as Duration.DurationInput }))
    Retry.withPolicy(model(), { maxRetryAfter: 0 })
  })

  it.effect("maxRetryAfter: infinite waits whatever retry-after asks", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: rateLimited("2 hours") }, { text: "ok" }])
      const retried = model.pipe(Retry.withPolicy({ maxRetryAfter: Duration.infinity, budget: false }))
      const fiber = yield* Effect.fork(retried.generate(prompt))
      yield* TestClock.adjust("2 hours")
      assert.strictEqual((yield* Fiber.join(fiber)).text, "ok")
      assert.deepStrictEqual(calls, [0, 7_200_000])
    }))

  it("is checked once, when the policy is built: data-last on application, the layer when called", () => {
    const policy = Retry.withPolicy({ maxRetries: -1 })
    refuses("maxRetries", () => model().pipe(policy))
    refuses("maxRetries", () => Retry.layer({ maxRetries: -1 }))
    // the preset checks through withPolicy, when it is applied
    refuses("maxRetries", () => Resilience.standard({ retry: { maxRetries: -1 } })(model()))
  })
})
