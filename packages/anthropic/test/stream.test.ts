import type { StreamEvent } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Stream } from "effect"
import { expectTag, httpRows, MODEL, prompt, waitFor, withEmulator } from "./fixtures.js"

const deltas = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.flatMap((event) => (event._tag === "TextDelta" ? [event.text] : []))

describe("AnthropicLanguageModel.stream", () => {
  it.live("streams text deltas, then one Finish with usage, request id, rate limits and served model", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{
          _tag: "Reply",
          chunks: ["Hel", "lo ", "there"],
          usage: { input: 90, output: 3, cachedInput: 40, cacheWrite: 10 },
          model: "claude-haiku-4-5-20251001"
        }])
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream(prompt("Say hello"))))
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

  it.live("the default streamed answer is split into several deltas", () =>
    withEmulator(({ model }) =>
      Effect.gen(function*() {
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream(prompt("Tell me a story"))))
        const text = deltas(events)
        assert.isAbove(text.length, 1)
        const finish = events[events.length - 1] as StreamEvent.Finish
        assert.strictEqual(text.join(""), finish.completion.text)
        assert.match(finish.completion.text, /^Echo: Tell me a story/)
      })
    ))

  it.live("the events of one network read come as one chunk, events sent apart come apart", () =>
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

  for (const [name, step, check] of httpRows) {
    it.live(`maps ${name} before the first token`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([step])
          const error = yield* Effect.flip(Stream.runDrain(model.stream(prompt("hi"))))
          check(error)
          const [request] = yield* emulator.requests
          if (step._tag !== "Reset") assert.strictEqual(error.requestId, request!.id)
        })
      ))
  }

  it.live("an SSE error event before the first token → its own tag (overloaded_error → Overloaded)", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "StreamError", afterChunks: 0 }])
        const error = yield* Effect.flip(Stream.runDrain(model.stream(prompt("hi"))))
        expectTag(error, "Overloaded")
        assert.strictEqual(error.requestId, (yield* emulator.requests)[0]!.id)
      })
    ))

  it.live("an SSE error event after the first token → StreamInterrupted with the partial text", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "StreamError", afterChunks: 2 }])
        const seen: Array<string> = []
        const error = yield* Effect.flip(Stream.runForEach(
          model.stream(prompt("Tell me a story")),
          (event) => Effect.sync(() => event._tag === "TextDelta" && seen.push(event.text))
        ))
        const interrupted = expectTag(error, "StreamInterrupted")
        assert.strictEqual(seen.length, 2)
        assert.strictEqual(interrupted.partialText, seen.join(""))
        assert.match(interrupted.detail, /Overloaded/)
        assert.strictEqual(interrupted.requestId, (yield* emulator.requests)[0]!.id)
      })
    ))

  it.live("a cut after the first token → StreamInterrupted with the partial text", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Cut", afterChunks: 2 }])
        const seen: Array<string> = []
        const error = yield* Effect.flip(Stream.runForEach(
          model.stream(prompt("Tell me a story")),
          (event) => Effect.sync(() => event._tag === "TextDelta" && seen.push(event.text))
        ))
        const interrupted = expectTag(error, "StreamInterrupted")
        assert.strictEqual(seen.length, 2)
        assert.strictEqual(interrupted.partialText, seen.join(""))
        assert.match(interrupted.detail, /^ConnectionError/)
        assert.strictEqual(interrupted.requestId, (yield* emulator.requests)[0]!.id)
      })
    ))

  it.live("a cut before the first token → ConnectionError", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Cut", afterChunks: 0 }])
        const error = yield* Effect.flip(Stream.runDrain(model.stream(prompt("hi"))))
        expectTag(error, "ConnectionError")
      })
    ))

  it.live("garbage SSE data → MalformedResponse", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Malformed" }])
        const error = yield* Effect.flip(Stream.runDrain(model.stream(prompt("hi"))))
        expectTag(error, "MalformedResponse")
      })
    ))

  it.live("refusal in a stream → ContentFiltered with the refusal text", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Refusal", text: "I won't do that." }])
        const error = yield* Effect.flip(Stream.runDrain(model.stream(prompt("something bad"))))
        const filtered = expectTag(error, "ContentFiltered")
        assert.strictEqual(filtered.stage, "output")
        assert.strictEqual(filtered.refusal, "I won't do that.")
      })
    ))

  it.live("max_tokens in a stream → Finish with finish reason length", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Reply", chunks: ["a", "b"], finishReason: "length" }])
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream(prompt("hi"))))
        assert.strictEqual((events[events.length - 1] as StreamEvent.Finish).completion.finishReason, "length")
      })
    ))

  it.live("interrupting a stream aborts the HTTP request (the emulator sees a disconnect)", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Stall", afterChunks: 1 }])
        const first = yield* Deferred.make<string>()
        const fiber = yield* Effect.fork(Stream.runForEach(
          model.stream(prompt("hi")),
          (event) => event._tag === "TextDelta" ? Deferred.succeed(first, event.text) : Effect.void
        ))
        assert.isNotEmpty(yield* Deferred.await(first))
        yield* Fiber.interrupt(fiber)
        const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
        assert.isTrue(request!.disconnected)
        assert.isFalse(request!.completed)
      })
    ))

  it.live("interrupting a stream before its headers arrive aborts the request", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
        const fiber = yield* Effect.fork(Stream.runDrain(model.stream(prompt("hi"))))
        yield* waitFor(emulator.requests, (requests) => requests.length === 1)
        yield* Fiber.interrupt(fiber)
        const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
        assert.isTrue(request!.disconnected)
      })
    ))

  it.live("taking fewer events than the answer has closes the request", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Stall", afterChunks: 2 }])
        const taken = yield* Stream.runCollect(Stream.take(model.stream(prompt("hi")), 1))
        assert.strictEqual(Chunk.size(taken), 1)
        const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
        assert.isTrue(request!.disconnected)
      })
    ))
})
