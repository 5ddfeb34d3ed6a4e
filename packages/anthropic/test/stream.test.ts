import type { StreamEvent } from "@effect-llm/core"
import { StreamCalls } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Stream } from "effect"
import {
  drain,
  eventsOf,
  expectTag,
  failureOf,
  failureThrough,
  forEachEvent,
  httpRows,
  MODEL,
  prompt,
  runStreamed,
  streamApis,
  takeFirst,
  waitFor,
  withEmulator
} from "./fixtures.js"

const deltas = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.flatMap((event) => (event._tag === "TextDelta" ? [event.text] : []))

describe("AnthropicLanguageModel.stream and streamEach", () => {
  for (const via of streamApis) {
    it.live(`${via}: text deltas, then one Finish with usage, request id, rate limits and served model`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{
            _tag: "Reply",
            chunks: ["Hel", "lo ", "there"],
            usage: { input: 90, output: 3, cachedInput: 40, cacheWrite: 10 },
            model: "claude-haiku-4-5-20251001"
          }])
          const events = yield* eventsOf(model, prompt("Say hello"), via)
          const [request] = yield* emulator.requests
          assert.deepStrictEqual(deltas(events), ["Hel", "lo ", "there"])
          assert.strictEqual(events.filter((event) => event._tag === "Finish").length, 1)
          const last = events[events.length - 1]!
          assert.strictEqual(last._tag, "Finish")
          const completion = (last as StreamEvent.Finish).completion
          assert.strictEqual(completion.text, "Hello there")
          assert.strictEqual(completion.finishReason, "stop")
          assert.deepStrictEqual(completion.usage, {
            inputTokens: 90,
            cachedInputTokens: 40,
            cacheWriteInputTokens: 10,
            outputTokens: 3,
            reasoningTokens: 0
          })
          assert.strictEqual(completion.model, MODEL)
          assert.strictEqual(completion.servedModel, "claude-haiku-4-5-20251001")
          assert.strictEqual(completion.requestId, request!.id)
          assert.match(completion.responseId ?? "", /^msg_/)
          assert.isAbove(completion.rateLimit?.limitRequests ?? 0, 0)
          assert.isTrue(request!.stream)
          assert.isTrue(request!.completed)
        })
      ))

    it.live(`${via}: the default streamed answer is split into several deltas`, () =>
      withEmulator(({ model }) =>
        Effect.gen(function*() {
          const events = yield* eventsOf(model, prompt("Tell me a story"), via)
          const text = deltas(events)
          assert.isAbove(text.length, 1)
          const finish = events[events.length - 1] as StreamEvent.Finish
          assert.strictEqual(text.join(""), finish.completion.text)
          assert.match(finish.completion.text, /^Echo: Tell me a story/)
        })
      ))
  }

  it.live("stream: the events of one network read come as one chunk, events sent apart come apart", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        const textsPerChunk = Effect.suspend(() => Stream.runCollect(Stream.chunks(model.stream(prompt("hi"))))).pipe(
          Effect.map((chunks) =>
            Chunk.toReadonlyArray(chunks).map((chunk) => Chunk.filter(chunk, (e) => e._tag === "TextDelta").length)
          )
        )
        // the emulator writes a whole answer at once: its deltas and the Finish share a chunk
        yield* emulator.script([{ _tag: "Reply", chunks: ["Hel", "lo ", "there"] }])
        assert.deepStrictEqual(yield* textsPerChunk, [3])
        // 30 ms between the deltas: one chunk each
        yield* emulator.script([{ _tag: "ChunkDelay", delayMs: 30, text: "a b c" }])
        assert.deepStrictEqual((yield* textsPerChunk).filter((n) => n > 0), [1, 1, 1])
      })
    ))

  it.live("streamEach: the events of one network read come in turn, in order, before the next macrotask", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        const groups = Effect.map(
          StreamCalls.macrotaskGroups(model, prompt("hi"), "streamEach"),
          ({ exit, groups }) => {
            assert.isTrue(Exit.isSuccess(exit), String(exit))
            return groups
          }
        )
        // the emulator writes a whole answer at once: its deltas and the Finish come together
        yield* emulator.script([{ _tag: "Reply", chunks: ["Hel", "lo ", "there"] }])
        assert.deepStrictEqual(yield* groups, [["Hel", "lo ", "there", "Finish"]])
        // 30 ms between the deltas: one group each
        yield* emulator.script([{ _tag: "ChunkDelay", delayMs: 30, text: "a b c" }])
        const apart = yield* groups
        assert.deepStrictEqual(apart.flat(), ["a", " b", " c", "Finish"])
        const perGroup = apart.map((group) => group.filter((event) => event !== "Finish").length)
        assert.deepStrictEqual(perGroup.filter((n) => n > 0), [1, 1, 1])
      })
    ))

  for (const via of streamApis) {
    for (const [name, step, check] of httpRows) {
      it.live(`${via}: maps ${name} before the first token`, () =>
        withEmulator(({ emulator, model }) =>
          Effect.gen(function*() {
            yield* emulator.script([step])
            const error = yield* failureThrough(model, via)
            check(error)
            const [request] = yield* emulator.requests
            if (step._tag !== "Reset") assert.strictEqual(error.requestId, request!.id)
          })
        ))
    }

    it.live(`${via}: an SSE error event before the first token → its own tag (overloaded_error → Overloaded)`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "StreamError", afterChunks: 0 }])
          const error = yield* failureThrough(model, via)
          expectTag(error, "Overloaded")
          assert.strictEqual(error.requestId, (yield* emulator.requests)[0]!.id)
        })
      ))

    it.live(`${via}: an SSE error event after the first token → StreamInterrupted with the partial text`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "StreamError", afterChunks: 2 }])
          const { events, exit } = yield* runStreamed(model, prompt("Tell me a story"), via)
          const seen = deltas(events)
          const interrupted = expectTag(failureOf(exit), "StreamInterrupted")
          assert.strictEqual(seen.length, 2)
          assert.strictEqual(interrupted.partialText, seen.join(""))
          assert.match(interrupted.detail, /Overloaded/)
          assert.strictEqual(interrupted.requestId, (yield* emulator.requests)[0]!.id)
        })
      ))

    it.live(`${via}: a cut after the first token → StreamInterrupted with the partial text`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Cut", afterChunks: 2 }])
          const { events, exit } = yield* runStreamed(model, prompt("Tell me a story"), via)
          const seen = deltas(events)
          const interrupted = expectTag(failureOf(exit), "StreamInterrupted")
          assert.strictEqual(seen.length, 2)
          assert.strictEqual(interrupted.partialText, seen.join(""))
          assert.match(interrupted.detail, /^ConnectionError/)
          assert.strictEqual(interrupted.requestId, (yield* emulator.requests)[0]!.id)
        })
      ))

    it.live(`${via}: a cut before the first token → ConnectionError`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Cut", afterChunks: 0 }])
          const error = yield* failureThrough(model, via)
          expectTag(error, "ConnectionError")
        })
      ))

    it.live(`${via}: garbage SSE data → MalformedResponse`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Malformed" }])
          const error = yield* failureThrough(model, via)
          expectTag(error, "MalformedResponse")
        })
      ))

    it.live(`${via}: refusal in a stream → ContentFiltered with the refusal text`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Refusal", text: "I won't do that." }])
          const error = yield* failureThrough(model, via, prompt("something bad"))
          const filtered = expectTag(error, "ContentFiltered")
          assert.strictEqual(filtered.stage, "output")
          assert.strictEqual(filtered.refusal, "I won't do that.")
        })
      ))

    it.live(`${via}: max_tokens in a stream → Finish with finish reason length`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Reply", chunks: ["a", "b"], finishReason: "length" }])
          const events = yield* eventsOf(model, prompt("hi"), via)
          assert.strictEqual((events[events.length - 1] as StreamEvent.Finish).completion.finishReason, "length")
        })
      ))

    it.live(`${via}: interrupting it aborts the HTTP request (the emulator sees a disconnect)`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Stall", afterChunks: 1 }])
          const first = yield* Deferred.make<string>()
          const fiber = yield* Effect.fork(forEachEvent(
            model,
            prompt("hi"),
            via,
            (event) => event._tag === "TextDelta" ? Deferred.succeed(first, event.text) : Effect.void
          ))
          assert.isNotEmpty(yield* Deferred.await(first))
          yield* Fiber.interrupt(fiber)
          const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
          assert.isTrue(request!.disconnected)
          assert.isFalse(request!.completed)
        })
      ))

    it.live(`${via}: interrupting it before its headers arrive aborts the request`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
          const fiber = yield* Effect.fork(drain(model, prompt("hi"), via))
          yield* waitFor(emulator.requests, (requests) => requests.length === 1)
          yield* Fiber.interrupt(fiber)
          const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
          assert.isTrue(request!.disconnected)
        })
      ))

    it.live(`${via}: leaving after fewer events than the answer has closes the request`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Stall", afterChunks: 2 }])
          const taken = yield* takeFirst(model, prompt("hi"), via)
          assert.strictEqual(taken.length, 1)
          const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
          assert.isTrue(request!.disconnected)
        })
      ))
  }
})
