import { LanguageModel, LlmError } from "@effect-llm/core"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { MockLanguageModel } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"

/** The failure of a scripted stream cut after its chunks "a" and "b". */
const interrupted = new LlmError.StreamInterrupted({
  provider: "mock",
  model: "mock-model",
  partialText: "ab",
  detail: "cut"
})

const request = (content: string) => ({ messages: [{ role: "user" as const, content }] })

const overloaded = new LlmError.Overloaded({ provider: "mock", model: "mock-model", status: 529 })

/**
 * Runs a streamed call on the TestClock, moving it on by 100 millis at a time: each event with the
 * millis it arrived at (from the call's start), and how the call ended.
 */
const timed = <A>(call: (onEvent: LanguageModel.OnEvent) => Effect.Effect<A, LlmError.LlmError>) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const seen: Array<readonly [number, StreamEvent]> = []
    const fiber = yield* Effect.fork(
      call((event) => Effect.map(Clock.currentTimeMillis, (now) => void seen.push([now - started, event])))
    )
    for (let i = 0; i < 100 && Option.isNone(yield* Fiber.poll(fiber)); i++) yield* TestClock.adjust("100 millis")
    return { seen, exit: yield* Fiber.await(fiber) }
  })

/** The same scripted step through `stream` and through the mock's (derived) `streamEach`. */
const bothWays = (step: MockLanguageModel.Step) =>
  Effect.gen(function*() {
    const mock = yield* MockLanguageModel.make({ script: [step, step] })
    const streamed = yield* timed((onEvent) => Stream.runForEach(mock.model.stream(request("x")), onEvent))
    const each = yield* timed((onEvent) => mock.model.streamEach(request("x"), onEvent))
    assert.strictEqual((yield* mock.calls).length, 2)
    return { streamed, each }
  })

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

  it.effect("streamEach: the chunks with their timing, then the Finish, whose completion it succeeds with", () =>
    Effect.gen(function*() {
      const { each, streamed } = yield* bothWays({
        chunks: ["Hel", "lo", "!"],
        delay: "1 second",
        chunkDelay: "100 millis",
        usage: { inputTokens: 9 }
      })
      assert.deepStrictEqual(
        each.seen.map(([at, event]) => [at, event._tag === "TextDelta" ? event.text : event._tag]),
        [[1000, "Hel"], [1100, "lo"], [1200, "!"], [1200, "Finish"]]
      )
      assert.deepStrictEqual(each.seen, streamed.seen)
      const finish = each.seen[each.seen.length - 1]![1]
      assert(finish._tag === "Finish")
      assert(Exit.isSuccess(each.exit))
      assert.strictEqual(each.exit.value, finish.completion)
      assert.strictEqual(each.exit.value.text, "Hello!")
      assert.strictEqual(each.exit.value.usage.inputTokens, 9)
      assert.strictEqual(each.exit.value.attempts[0]?.durationMillis, 1200)
    }))

  it.effect("streamEach: a text answer, an empty answer and an echo as stream gives them", () =>
    Effect.gen(function*() {
      for (
        const step of [{ text: "whole" }, { text: "" }, { delay: "300 millis" }] satisfies Array<MockLanguageModel.Step>
      ) {
        const { each, streamed } = yield* bothWays(step)
        assert.deepStrictEqual(each.seen, streamed.seen)
        assert(Exit.isSuccess(each.exit))
        const finish = each.seen[each.seen.length - 1]![1]
        assert(finish._tag === "Finish")
        assert.strictEqual(each.exit.value, finish.completion)
      }
      const { each } = yield* bothWays({ text: "" })
      assert.deepStrictEqual(each.seen.map(([, e]) => e._tag), ["Finish"])
    }))

  it.effect("streamEach: failAfter fails after the same chunks; a delayed failure fails after its delay", () =>
    Effect.gen(function*() {
      const cut = yield* bothWays({
        chunks: ["a", "b", "c"],
        chunkDelay: "1 second",
        failAfter: { chunks: 2, error: interrupted }
      })
      assert.deepStrictEqual(cut.each.seen, cut.streamed.seen)
      assert.deepStrictEqual(cut.each.seen.map(([at, e]) => [at, e._tag === "TextDelta" ? e.text : e._tag]), [
        [0, "a"],
        [1000, "b"]
      ])
      assert.deepStrictEqual(cut.each.exit, Exit.fail(interrupted))
      const failed = yield* bothWays({ fail: overloaded, delay: "5 seconds" })
      assert.deepStrictEqual(failed.each.seen, [])
      assert.deepStrictEqual(failed.each.exit, Exit.fail(overloaded))
      assert.deepStrictEqual(failed.streamed.exit, Exit.fail(overloaded))
    }))

  it.effect("streamEach: the layer serves it through the LanguageModel.streamEach accessor", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const completion = yield* LanguageModel.streamEach(
        request("hi"),
        (event) => Effect.sync(() => seen.push(event._tag === "TextDelta" ? event.text : event._tag))
      )
      assert.deepStrictEqual(seen, ["x", "y", "Finish"])
      assert.strictEqual(completion.text, "xy")
      const mock = yield* MockLanguageModel.MockLanguageModel
      assert.deepStrictEqual((yield* mock.calls).map((r) => r.messages[0]?.content), ["hi"])
    }).pipe(Effect.provide(MockLanguageModel.layerWithMock({ script: [{ chunks: ["x", "y"] }] }))))

  it.effect("streamEach: interrupting a delayed call stops it", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ chunks: ["a", "b"], chunkDelay: "1 minute" }] })
      const seen: Array<string> = []
      const fiber = yield* Effect.fork(
        mock.model.streamEach(request("x"), (event) => Effect.sync(() => seen.push(event._tag)))
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(seen, ["TextDelta"])
    }))
})

const GenerateRequestText = (req: { readonly messages: ReadonlyArray<{ readonly content: unknown }> }) =>
  String(req.messages[req.messages.length - 1]?.content ?? "")
