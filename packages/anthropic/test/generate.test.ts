import Anthropic from "@anthropic-ai/sdk"
import { LanguageModel, type LlmError } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import * as AnthropicClient from "../src/AnthropicClient.js"
import * as AnthropicLanguageModel from "../src/AnthropicLanguageModel.js"
import { apiKey, expectTag, httpRows, MODEL, prompt, waitFor, withEmulator } from "./fixtures.js"

describe("AnthropicLanguageModel.generate", () => {
  it.live("answers with text, usage (cache read and write), request id, rate limits and served model", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{
          _tag: "Reply",
          text: "Hello from the emulator",
          usage: { input: 120, output: 4, cachedInput: 30, cacheWrite: 20 },
          model: "claude-haiku-4-5-20251001"
        }])
        const completion = yield* model.generate(prompt("Say hello"))
        const [request] = yield* emulator.requests
        assert.strictEqual(completion.text, "Hello from the emulator")
        assert.strictEqual(completion.finishReason, "stop")
        assert.deepStrictEqual(completion.usage, {
          inputTokens: 120,
          cachedInputTokens: 30,
          cacheWriteInputTokens: 20,
          outputTokens: 4,
          reasoningTokens: 0
        })
        assert.strictEqual(completion.provider, "anthropic")
        assert.strictEqual(completion.model, MODEL)
        assert.strictEqual(completion.servedModel, "claude-haiku-4-5-20251001")
        assert.strictEqual(completion.requestId, request!.id)
        assert.match(completion.responseId ?? "", /^msg_/)
        const rateLimit = completion.rateLimit!
        assert.isAbove(rateLimit.limitRequests!, 0)
        assert.isAtMost(rateLimit.remainingRequests!, rateLimit.limitRequests!)
        assert.isAbove(rateLimit.limitTokens!, 0)
        assert.isAtLeast(rateLimit.resetRequestsMillis!, 0)
        assert.isAtMost(rateLimit.resetRequestsMillis!, 120_000)
        assert.isAtLeast(rateLimit.resetTokensMillis!, 0)
        assert.strictEqual(completion.attempts.length, 1)
        assert.strictEqual(completion.attempts[0]!.outcome, "success")
        assert.strictEqual(request!.stream, false)
      })
    ))

  it.effect("rate-limit resets are measured from the Clock's now", () =>
    withEmulator(({ model }) =>
      Effect.gen(function*() {
        // the emulator writes resets as RFC 3339 times about a minute ahead of the wall clock;
        // a Clock ten minutes behind the wall clock sees them ten minutes further away
        yield* TestClock.setTime(Date.now() - 600_000)
        const completion = yield* model.generate(prompt("hi"))
        assert.isAbove(completion.rateLimit!.resetRequestsMillis!, 600_000)
        assert.isBelow(completion.rateLimit!.resetRequestsMillis!, 600_000 + 120_000)
      })
    ))

  it.live("the default answer: served model is the dated snapshot, usage is mapped", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        const completion = yield* model.generate(prompt("What is Effect?"))
        const [request] = yield* emulator.requests
        assert.match(completion.text, /^Echo: What is Effect\?/)
        assert.notStrictEqual(completion.servedModel, MODEL)
        assert.isTrue(completion.servedModel.startsWith(MODEL))
        assert.isAbove(completion.usage.inputTokens, 0)
        assert.strictEqual(completion.usage.outputTokens, completion.text.split(/\s+/).length)
        assert.strictEqual(completion.requestId, request!.id)
      })
    ))

  it.live("max_tokens → finish reason length", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Reply", text: "cut short", finishReason: "length" }])
        const completion = yield* model.generate(prompt("long story"))
        assert.strictEqual(completion.finishReason, "length")
      })
    ))

  for (const [name, step, check] of httpRows) {
    it.live(`maps ${name}`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([step])
          const error = yield* Effect.flip(model.generate(prompt("hi")))
          check(error)
          assert.strictEqual(error.provider, "anthropic")
          assert.strictEqual(error.model, MODEL)
          const [request] = yield* emulator.requests
          if (step._tag !== "Reset") assert.strictEqual(error.requestId, request!.id)
          assert.strictEqual((yield* emulator.requests).length, 1, "maxRetries: 0 - the SDK never retries")
        })
      ))
  }

  it.live("refusal → ContentFiltered at output with the refusal text", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Refusal", text: "I can't help with that." }])
        const error = yield* Effect.flip(model.generate(prompt("something bad")))
        const filtered = expectTag(error, "ContentFiltered")
        assert.strictEqual(filtered.stage, "output")
        assert.strictEqual(filtered.refusal, "I can't help with that.")
        assert.strictEqual(filtered.requestId, (yield* emulator.requests)[0]!.id)
      })
    ))

  it.live("content filter (stop_reason refusal) → ContentFiltered", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "ContentFilter" }])
        const error = yield* Effect.flip(model.generate(prompt("something bad")))
        assert.strictEqual(expectTag(error, "ContentFiltered").stage, "output")
      })
    ))

  it.live("undecodable body → MalformedResponse", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Malformed" }])
        const error = yield* Effect.flip(model.generate(prompt("hi")))
        assert.isNotEmpty(expectTag(error, "MalformedResponse").detail)
      })
    ))

  it.live("a body cut in the middle → ConnectionError with the request id", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Cut", afterChunks: 0 }])
        const error = yield* Effect.flip(model.generate(prompt("hi")))
        expectTag(error, "ConnectionError")
        assert.strictEqual(error.requestId, (yield* emulator.requests)[0]!.id)
      })
    ))

  it.live("the SDK's own timeout → Timeout phase total", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 2000 }])
        const error = yield* Effect.flip(model.generate(prompt("hi")))
        const timeout = expectTag(error, "Timeout")
        assert.strictEqual(timeout.phase, "total")
        assert.strictEqual(Duration.toMillis(timeout.after), 150)
      }), { client: { timeout: "150 millis" } }))

  it.live("interrupting generate aborts the HTTP request (the emulator sees a disconnect)", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
        const fiber = yield* Effect.fork(model.generate(prompt("hi")))
        yield* waitFor(emulator.requests, (requests) => requests.length === 1)
        yield* Fiber.interrupt(fiber)
        const [request] = yield* waitFor(emulator.requests, (requests) => requests[0]!.disconnected)
        assert.isTrue(request!.disconnected)
        assert.isFalse(request!.completed)
      })
    ))

  it.live("a large max_tokens works: generate streams under the hood and returns one Completion", () =>
    withEmulator(({ client, emulator, model }) =>
      Effect.gen(function*() {
        // the raw SDK refuses this call without streaming, before sending anything
        const raw = new Anthropic({ apiKey, baseURL: client.baseUrl, maxRetries: 0 })
        const refused = yield* Effect.flip(Effect.tryPromise(() =>
          raw.messages.create({ model: MODEL, max_tokens: 64_000, messages: [{ role: "user", content: "hi" }] })
        ))
        assert.match(String(refused.cause), /Streaming is required/)
        assert.strictEqual((yield* emulator.requests).length, 0)

        yield* emulator.script([{
          _tag: "Reply",
          chunks: ["A long ", "answer ", "in parts"],
          usage: { input: 40, output: 3, cachedInput: 10, cacheWrite: 0 }
        }])
        const completion = yield* model.generate({ ...prompt("Write a book"), maxOutputTokens: 64_000 })
        const [request] = yield* emulator.requests
        assert.strictEqual(completion.text, "A long answer in parts")
        assert.strictEqual(completion.finishReason, "stop")
        assert.deepStrictEqual(completion.usage, {
          inputTokens: 40,
          cachedInputTokens: 10,
          cacheWriteInputTokens: 0,
          outputTokens: 3,
          reasoningTokens: 0
        })
        assert.strictEqual(completion.requestId, request!.id)
        assert.isDefined(completion.rateLimit)
        assert.isTrue(request!.stream)
        assert.strictEqual((request!.body as { max_tokens: number }).max_tokens, 64_000)
      })
    ))

  it.live("a large max_tokens: failures in the hidden stream keep their own tag", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "StreamError", afterChunks: 2 }, { _tag: "Overloaded" }])
        const first = yield* Effect.flip(model.generate({ ...prompt("x"), maxOutputTokens: 64_000 }))
        expectTag(first, "Overloaded")
        assert.strictEqual(first.requestId, (yield* emulator.requests)[0]!.id)
        const second = yield* Effect.flip(model.generate({ ...prompt("x"), maxOutputTokens: 64_000 }))
        expectTag(second, "Overloaded")
      })
    ))

  it.live("make + AnthropicClient.layer, and the model layer with LanguageModel.generate", () =>
    withEmulator(({ client, emulator }) =>
      Effect.gen(function*() {
        const clientLayer = AnthropicClient.layer({ apiKey: Redacted.make(apiKey), baseUrl: client.baseUrl })
        const viaMake = yield* AnthropicLanguageModel.make(MODEL).generate(prompt("one")).pipe(
          Effect.provide(clientLayer)
        )
        const viaLayer = yield* LanguageModel.generate(prompt("two")).pipe(
          Effect.provide(AnthropicLanguageModel.model(MODEL).pipe(Layer.provide(clientLayer)))
        )
        assert.match(viaMake.text, /^Echo: one/)
        assert.match(viaLayer.text, /^Echo: two/)
        assert.strictEqual((yield* emulator.requests).length, 2)
      })
    ))

  it("the error channel of generate and streamEach is exactly LlmError.ProviderError", () => {
    const m = AnthropicLanguageModel.make(MODEL)
    expectTypeOf<LanguageModel.Error<typeof m>>().toEqualTypeOf<LlmError.ProviderError>()
    expectTypeOf<LanguageModel.Requirements<typeof m>>().toEqualTypeOf<AnthropicClient.AnthropicClient>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof m.generate>>>().toEqualTypeOf<LlmError.ProviderError>()
    // streamEach fails as generate does, and needs what it needs
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof m.streamEach>>>().toEqualTypeOf<LlmError.ProviderError>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof m.streamEach>>>().toEqualTypeOf<
      Effect.Effect.Error<ReturnType<typeof m.generate>>
    >()
    expectTypeOf<Effect.Effect.Context<ReturnType<typeof m.streamEach>>>().toEqualTypeOf<
      AnthropicClient.AnthropicClient
    >()
    expectTypeOf<Effect.Effect.Success<ReturnType<typeof m.streamEach>>>().toEqualTypeOf<
      Effect.Effect.Success<ReturnType<typeof m.generate>>
    >()
    type FromClient = ReturnType<typeof AnthropicLanguageModel.fromClient>
    expectTypeOf<Effect.Effect.Error<ReturnType<FromClient["streamEach"]>>>().toEqualTypeOf<LlmError.ProviderError>()
    expectTypeOf<Effect.Effect.Context<ReturnType<FromClient["streamEach"]>>>().toEqualTypeOf<never>()
    const layer = AnthropicLanguageModel.model(MODEL)
    expectTypeOf(layer).toEqualTypeOf<
      Layer.Layer<LanguageModel.LanguageModel, never, AnthropicClient.AnthropicClient>
    >()
  })
})
