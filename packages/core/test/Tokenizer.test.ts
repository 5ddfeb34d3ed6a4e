import * as Tokenizer from "@effect-llm/core/Tokenizer"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as o200k from "gpt-tokenizer/encoding/o200k_base"

const openai = { provider: "openai", model: "gpt-5-mini" }
const anthropic = { provider: "anthropic", model: "claude-haiku-4-5" }

describe("Tokenizer", () => {
  it.effect("counts OpenAI text with o200k_base", () =>
    Effect.gen(function*() {
      const tokenizer = yield* Tokenizer.Tokenizer
      assert.strictEqual(yield* tokenizer.countText("hello world", openai), 2)
      assert.strictEqual(yield* tokenizer.countText("", openai), 0)
      // long texts are cached: the same count again, and a different text is counted afresh
      const long = "The quick brown fox jumps over the lazy dog. ".repeat(20)
      const n = yield* tokenizer.countText(long, openai)
      assert.strictEqual(n, o200k.encode(long).length)
      assert.isAbove(n, 190)
      assert.strictEqual(yield* tokenizer.countText(long, openai), n)
      assert.strictEqual(yield* tokenizer.countText(long + "dog", openai), o200k.encode(long + "dog").length)
      // special-token text is counted as text, not rejected
      assert.isAbove(yield* tokenizer.countText("<|endoftext|>", openai), 1)
    }).pipe(Effect.provide(Tokenizer.layer)))

  it.effect("adds OpenAI's chat overhead: 3 per message + role + 3 for the reply", () =>
    Effect.gen(function*() {
      const one = yield* Tokenizer.count([{ role: "user", content: "hello world" }], openai)
      // 3 (reply) + 3 (message) + 1 ("user") + 2 ("hello world")
      assert.strictEqual(one, 9)
      const two = yield* Tokenizer.count(
        { messages: [{ role: "system", content: "hello world" }, { role: "user", content: "hello world" }] },
        openai
      )
      assert.strictEqual(two, 3 + (3 + 1 + 2) * 2)
      assert.strictEqual(Tokenizer.countLocalSync([{ role: "user", content: "hello world" }], openai), 9)
    }).pipe(Effect.provide(Tokenizer.layer)))

  it.effect("estimates Anthropic tokens as ceil(chars / 3.5 * 1.1) + overhead", () =>
    Effect.gen(function*() {
      const text = "x".repeat(350)
      assert.strictEqual(yield* Tokenizer.count([{ role: "user", content: text }], anthropic), 3 + 4 + 110)
      assert.strictEqual(Tokenizer.estimateText(text), 110)
      const parts = yield* Tokenizer.count(
        [{ role: "user", content: [{ type: "text", text }, { type: "image", url: "data:," }] }],
        anthropic
      )
      assert.strictEqual(parts, 3 + 4 + 110 + 1600)
    }).pipe(Effect.provide(Tokenizer.layer)))

  it.effect("exact mode asks the provider's counter only when asked, and falls back on failure", () =>
    Effect.gen(function*() {
      let calls = 0
      const counter: Tokenizer.TokenCounter = {
        provider: "anthropic",
        countTokens: (request, model) =>
          Effect.sync(() => {
            calls++
            assert.strictEqual(model, "claude-haiku-4-5")
            return request.messages.length * 1000
          })
      }
      const failing: Tokenizer.TokenCounter = { provider: "openai", countTokens: () => Effect.fail("down") }
      const tokenizer = Tokenizer.make({ counters: [counter, failing] })
      const messages = [{ role: "user" as const, content: "hello world" }]
      assert.notStrictEqual(yield* tokenizer.count(messages, anthropic), 1000)
      assert.strictEqual(calls, 0)
      assert.strictEqual(yield* tokenizer.count(messages, anthropic, { exact: true }), 1000)
      assert.strictEqual(calls, 1)
      assert.strictEqual(yield* tokenizer.count(messages, openai, { exact: true }), 9)
    }))
})
