import { LanguageModel, LlmError } from "@effect-llm/core"
import { MockLanguageModel } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"

const request = (content: string) => ({ messages: [{ role: "user" as const, content }] })

const overloaded = new LlmError.Overloaded({ provider: "mock", model: "mock-model", status: 529 })

describe("MockLanguageModel", () => {
  it.effect("answers scripted steps in order, then echoes", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ text: "first" }, { text: "second" }] })
      const a = yield* mock.model.generate(request("one"))
      const b = yield* mock.model.generate(request("two"))
      const c = yield* mock.model.generate(request("three"))
      assert.deepStrictEqual([a.text, b.text, c.text], ["first", "second", "Echo: three"])
      assert.strictEqual(a.provider, "mock")
      assert.strictEqual(a.model, "mock-model")
      assert.strictEqual(a.finishReason, "stop")
      assert.deepStrictEqual(a.attempts, [{
        provider: "mock",
        model: "mock-model",
        outcome: "success",
        durationMillis: 0
      }])
      const calls = yield* mock.calls
      assert.deepStrictEqual(calls.map((r) => r.messages[0]?.content), ["one", "two", "three"])
    }))

  it.effect("estimates usage when not given, keeps it when given", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        script: [
          { text: "12345678" },
          { text: "x", usage: { inputTokens: 100, cachedInputTokens: 40, outputTokens: 7, reasoningTokens: 3 } }
        ]
      })
      const a = yield* mock.model.generate(request("abcdefghi"))
      assert.deepStrictEqual(a.usage, {
        inputTokens: 3,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        outputTokens: 2,
        reasoningTokens: 0
      })
      const b = yield* mock.model.generate(request("abc"))
      assert.deepStrictEqual(b.usage, {
        inputTokens: 100,
        cachedInputTokens: 40,
        cacheWriteInputTokens: 0,
        outputTokens: 7,
        reasoningTokens: 3
      })
    }))

  it.effect("provider, model and requested model are configurable", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        provider: "acme",
        model: "acme-1",
        script: [{ text: "a" }, { text: "b", servedModel: "acme-2-2026" }]
      })
      assert.strictEqual(mock.model.provider, "acme")
      assert.strictEqual(mock.model.model, "acme-1")
      const a = yield* mock.model.generate(request("x"))
      const b = yield* mock.model.generate({ ...request("x"), model: "acme-2" })
      assert.deepStrictEqual([a.provider, a.model, a.servedModel], ["acme", "acme-1", "acme-1"])
      assert.deepStrictEqual([b.model, b.servedModel], ["acme-2", "acme-2-2026"])
    }))

  it.effect("fails with any taxonomy error", () =>
    Effect.gen(function*() {
      const limited = new LlmError.RateLimited({
        provider: "mock",
        model: "mock-model",
        retryAfter: Duration.seconds(2)
      })
      const mock = yield* MockLanguageModel.make({ script: [{ fail: overloaded }, { fail: limited }] })
      const a = yield* Effect.flip(mock.model.generate(request("x")))
      const b = yield* Effect.flip(mock.model.generate(request("x")))
      assert.strictEqual(a, overloaded)
      assert.strictEqual(b._tag, "RateLimited")
      assert.isTrue(LlmError.isRetryable(b))
    }))

  it.effect("delays follow the TestClock", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ text: "late", delay: "10 seconds" }] })
      const fiber = yield* Effect.fork(mock.model.generate(request("x")))
      yield* TestClock.adjust("9 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      const completion = yield* Fiber.join(fiber)
      assert.strictEqual(completion.text, "late")
      assert.strictEqual(completion.attempts[0]?.durationMillis, 10_000)
    }))

  it.effect("a delay-only step echoes after the delay; a failure can be delayed too", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        script: [{ delay: "1 second" }, { fail: overloaded, delay: "2 seconds" }]
      })
      const first = yield* Effect.fork(mock.model.generate(request("ping")))
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(first)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(first)).text, "Echo: ping")
      const second = yield* Effect.fork(mock.model.generate(request("x")))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(second)
      assert.deepStrictEqual(exit, Exit.fail(overloaded))
    }))

  it.effect("streams chunks with their timing and ends with a Finish", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        script: [{ chunks: ["Hel", "lo", "!"], delay: "1 second", chunkDelay: "100 millis" }]
      })
      const seen: Array<string> = []
      const fiber = yield* mock.model.stream(request("x")).pipe(
        Stream.tap((event) => Effect.sync(() => seen.push(event._tag === "TextDelta" ? event.text : "<finish>"))),
        Stream.runCollect,
        Effect.fork
      )
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(seen, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(seen, ["Hel"])
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(seen, ["Hel", "lo"])
      yield* TestClock.adjust("100 millis")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(seen, ["Hel", "lo", "!", "<finish>"])
      const finish = events[events.length - 1]
      assert(finish?._tag === "Finish")
      assert.strictEqual(finish.completion.text, "Hello!")
      assert.strictEqual(finish.completion.attempts[0]?.durationMillis, 1200)
      assert.strictEqual(finish.completion.usage.outputTokens, 2)
    }))

  it.effect("a stream fails after N chunks with failAfter", () =>
    Effect.gen(function*() {
      const interrupted = new LlmError.StreamInterrupted({
        provider: "mock",
        model: "mock-model",
        partialText: "ab",
        detail: "cut"
      })
      const mock = yield* MockLanguageModel.make({
        script: [
          { chunks: ["a", "b", "c"], failAfter: { chunks: 2, error: interrupted } },
          { chunks: ["a", "b", "c"], chunkDelay: "1 second", failAfter: { chunks: 2, error: interrupted } }
        ]
      })
      const seen: Array<string> = []
      const exit = yield* mock.model.stream(request("x")).pipe(
        Stream.runForEach((event) =>
          Effect.sync(() => seen.push(event._tag === "TextDelta" ? event.text : "<finish>"))
        ),
        Effect.exit
      )
      assert.deepStrictEqual(seen, ["a", "b"])
      assert.deepStrictEqual(exit, Exit.fail(interrupted))
      // through generate the error comes when the stream would have failed
      const fiber = yield* Effect.fork(mock.model.generate(request("x")))
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(interrupted))
    }))

  it.effect("a delayed failure also fails a stream after the delay", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ fail: overloaded, delay: "5 seconds" }] })
      const fiber = yield* Effect.fork(Stream.runCollect(mock.model.stream(request("x"))))
      yield* TestClock.adjust("4 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(overloaded))
    }))

  it.effect("a text answer streams as one delta; generate of a chunks step waits for the last chunk", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        script: [{ text: "whole" }, { chunks: ["a", "b", "c"], chunkDelay: "1 second" }]
      })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(mock.model.stream(request("x"))))
      assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "Finish"])
      const fiber = yield* Effect.fork(mock.model.generate(request("x")))
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(fiber)).text, "abc")
    }))

  it.effect("a responder decides from the request once the script is used up", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({
        script: [{ text: "scripted" }],
        respond: (req, index) =>
          GenerateRequestText(req) === "fail" ? { fail: overloaded } : { text: `#${index} ${GenerateRequestText(req)}` }
      })
      assert.strictEqual((yield* mock.model.generate(request("a"))).text, "scripted")
      assert.strictEqual((yield* mock.model.generate(request("b"))).text, "#1 b")
      assert.strictEqual(yield* Effect.flip(mock.model.generate(request("fail"))), overloaded)
      yield* mock.script([{ text: "appended" }])
      assert.strictEqual((yield* mock.model.generate(request("c"))).text, "appended")
    }))

  it.effect("layer serves the mock under the LanguageModel tag", () =>
    Effect.gen(function*() {
      const completion = yield* LanguageModel.generate(request("hi"))
      assert.strictEqual(completion.text, "from the layer")
      const streamed = yield* LanguageModel.stream(request("hi")).pipe(Stream.runCollect)
      assert.strictEqual(Chunk.size(streamed), 2)
    }).pipe(Effect.provide(MockLanguageModel.layer({ script: [{ text: "from the layer" }, { chunks: ["x"] }] }))))

  it.effect("layerWithMock exposes the calls", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generate(request("hi"))
      const mock = yield* MockLanguageModel.MockLanguageModel
      assert.strictEqual((yield* mock.calls).length, 1)
    }).pipe(Effect.provide(MockLanguageModel.layerWithMock())))

  it.effect("interrupting a delayed stream stops it", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ chunks: ["a", "b"], chunkDelay: "1 minute" }] })
      const seen: Array<string> = []
      const fiber = yield* mock.model.stream(request("x")).pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event._tag))),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(seen, ["TextDelta"])
    }))
})

const GenerateRequestText = (req: { readonly messages: ReadonlyArray<{ readonly content: unknown }> }) =>
  String(req.messages[req.messages.length - 1]?.content ?? "")
