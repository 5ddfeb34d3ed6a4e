import { CallEvent, LanguageModel, LlmError } from "@effect-llm/core"
import * as Fallback from "@effect-llm/core/Fallback"
import * as Retry from "@effect-llm/core/Retry"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { invalidRequest, prompt, rateLimited, scripted, serverError } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

const collect = () => {
  const events: Array<CallEvent.CallEvent> = []
  return { events, listen: CallEvent.listen((event) => Effect.sync(() => events.push(event))) }
}
const trail = (attempts: ReadonlyArray<{ provider: string; model: string; outcome: string }>) =>
  attempts.map((a) => `${a.provider}/${a.model}:${a.outcome}`)

/** `f` throws `InvalidOptions` naming `Fallback` and `option`. */
const refuses = refusesFor("Fallback")

describe("Fallback", () => {
  it.effect("moves on to the next model and records the trail", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }])
      const backup = scripted([{ text: "from backup" }], { provider: "other", model: "b-1" })
      const { events, listen } = collect()
      const result = yield* listen(primary.model.pipe(Fallback.to(backup.model)).generate(prompt))
      assert.strictEqual(result.text, "from backup")
      assert.deepStrictEqual(trail(result.attempts), ["fake/fake-1:ServerError", "other/b-1:success"])
      assert.deepStrictEqual(events, [{
        _tag: "FallbackTriggered",
        from: { provider: "fake", model: "fake-1" },
        to: { provider: "other", model: "b-1" },
        reason: "ServerError"
      }])
    }))

  it.effect("never moves on after InvalidRequest (default policy)", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: invalidRequest() }])
      const backup = scripted([{ text: "no" }], { provider: "other" })
      const error = yield* Effect.flip(primary.model.pipe(Fallback.to(backup.model)).generate(prompt))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(backup.calls.length, 0)
    }))

  it.effect("which tags move on is a policy", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }, { fail: rateLimited() }])
      const backup = scripted([{ text: "b" }], { provider: "other" })
      const model = primary.model.pipe(Fallback.to(backup.model, { when: (e) => e._tag === "RateLimited" }))
      assert.strictEqual((yield* Effect.flip(model.generate(prompt)))._tag, "ServerError")
      assert.strictEqual((yield* model.generate(prompt)).text, "b")
    }))

  it.effect("a chain tries each model in order; the last error reaches the caller with the whole trail", () =>
    Effect.gen(function*() {
      const a = scripted([{ fail: rateLimited() }, { fail: rateLimited() }], { provider: "pa", model: "a" })
      const b = scripted([{ fail: new LlmError.Overloaded({ provider: "pb", model: "b", status: 529 }) }, {
        fail: serverError()
      }], { provider: "pb", model: "b" })
      const c = scripted([{ text: "c answered" }, { fail: serverError() }], { provider: "pc", model: "c" })
      const model = Fallback.chain([a.model, b.model, c.model])
      const ok = yield* model.generate(prompt)
      assert.strictEqual(ok.text, "c answered")
      assert.deepStrictEqual(trail(ok.attempts), ["pa/a:RateLimited", "pb/b:Overloaded", "pc/c:success"])
      const error = yield* Effect.flip(model.generate(prompt))
      assert.strictEqual(error._tag, "ServerError")
      assert.deepStrictEqual([a.calls.length, b.calls.length, c.calls.length], [2, 2, 2])
    }))

  it.effect("the trail includes the retries each model made", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }, { fail: serverError() }, { fail: serverError() }])
      const backup = scripted([{ text: "b" }], { provider: "other", model: "b-1" })
      const model = primary.model.pipe(
        Retry.withPolicy({ schedule: Retry.backoff({ jitter: "none" }), budget: false }),
        Fallback.to(backup.model)
      )
      const fiber = yield* Effect.fork(model.generate(prompt))
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(trail(result.attempts), [
        "fake/fake-1:ServerError",
        "fake/fake-1:ServerError",
        "fake/fake-1:ServerError",
        "other/b-1:success"
      ])
    }))

  it.effect("the next model is asked for its own model, not the primary's", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }])
      const backup = scripted([{}], { provider: "other", model: "b-1" })
      const result = yield* primary.model.pipe(Fallback.to(backup.model)).generate({ ...prompt, model: "fake-2" })
      assert.strictEqual(primary.requests[0]!.model, "fake-2")
      assert.strictEqual(backup.requests[0]!.model, undefined)
      assert.strictEqual(result.model, "b-1")
    }))

  for (const api of apis) {
    it.effect(`streams fall back before their first token (${api})`, () =>
      Effect.gen(function*() {
        const primary = scripted([{ fail: serverError() }])
        const backup = scripted([{ chunks: ["x", "y"] }], { provider: "other", model: "b-1" })
        const events = yield* runEvents(primary.model.pipe(Fallback.to(backup.model)), prompt, api)
        assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "TextDelta", "Finish"])
        const finish = events[2]!
        assert.deepStrictEqual(
          finish._tag === "Finish" ? trail(finish.completion.attempts) : [],
          ["fake/fake-1:ServerError", "other/b-1:success"]
        )
      }))

    it.effect(`streams never fall back after their first token (${api})`, () =>
      Effect.gen(function*() {
        // any error moves on by this policy: only the first event reaching the caller stops it
        const primary = scripted([{ chunks: ["a"], failAfterChunks: serverError() }])
        const backup = scripted([{ chunks: ["x"] }], { provider: "other" })
        const model = primary.model.pipe(Fallback.to(backup.model, { when: () => true }))
        const seen: Array<string> = []
        const error = yield* Effect.flip(
          runEvents(model, prompt, api, (event) => Effect.sync(() => seen.push(event._tag)))
        )
        assert.strictEqual(error._tag, "ServerError")
        assert.deepStrictEqual(seen, ["TextDelta"])
        assert.strictEqual(backup.calls.length, 0)
      }))

    it.effect(`a chain of streams records the whole trail (${api})`, () =>
      Effect.gen(function*() {
        const a = scripted([{ fail: rateLimited() }], { provider: "pa", model: "a" })
        const b = scripted([{ fail: serverError() }], { provider: "pb", model: "b" })
        const c = scripted([{ chunks: ["c"] }], { provider: "pc", model: "c" })
        const events = yield* runEvents(Fallback.chain([a.model, b.model, c.model]), prompt, api)
        const finish = events[events.length - 1]!
        assert.deepStrictEqual(
          finish._tag === "Finish" ? trail(finish.completion.attempts) : [],
          ["pa/a:RateLimited", "pb/b:ServerError", "pc/c:success"]
        )
      }))
  }

  it.effect("Fallback.layer falls back from the LanguageModel below it", () =>
    Effect.gen(function*() {
      const primary = scripted([{ fail: serverError() }])
      const backup = scripted([{ text: "layered" }], { provider: "other" })
      const layer = Fallback.layer([backup.model]).pipe(Layer.provide(LanguageModel.layer(primary.model)))
      const result = yield* LanguageModel.generate(prompt).pipe(Effect.provide(layer))
      assert.strictEqual(result.text, "layered")
    }))

  it("the result's error type is the union of the chain's", () => {
    const a = scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError | LlmError.InvalidRequest, "A">
    const b = scripted([]).model as unknown as LanguageModel.With<LlmError.Overloaded, "B">
    expectTypeOf(a.pipe(Fallback.to(b))).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.InvalidRequest | LlmError.Overloaded, "A" | "B">
    >()
    expectTypeOf(Fallback.chain([a, b])).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.InvalidRequest | LlmError.Overloaded, "A" | "B">
    >()
  })
})

describe("Fallback options", () => {
  type Model = LanguageModel.With<LlmError.LlmError, never>
  const model = (): Model => scripted([]).model

  it("chain: at least one model, each a model", () => {
    const empty = [] as unknown as readonly [Model]
    assert.include(refuses("models", () => Fallback.chain(empty)).message, "must hold at least 1 model")
    refuses("models[1]", () => Fallback.chain([model(), { generate: () => Effect.never } as unknown as Model]))
    const only = model()
    assert.strictEqual(Fallback.chain([only]), only)
  })

  it("when: a function", () => {
    const when = ["RateLimited"] as unknown as (error: LlmError.LlmError) => boolean
    refuses("when", () => Fallback.to(model(), model(), { when }))
    refuses("when", () => model().pipe(Fallback.to(model(), { when })))
    refuses("when", () => Fallback.chain([model(), model()], { when }))
    refuses("when", () => Fallback.layer([model()], { when }))
    Fallback.to(model(), model(), { when: () => true })
  })

  it("layer: the fallbacks are models (none is the model below as it is), checked when called", () => {
    refuses("others[0]", () => Fallback.layer([undefined as unknown as Model]))
    Fallback.layer([])
  })
})
