import { LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema, Stream } from "effect"

const completion = (text: string): Completion => ({
  text,
  finishReason: "stop",
  usage: { inputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 5, reasoningTokens: 0 },
  provider: "fake",
  model: "fake-1",
  servedModel: "fake-1-2026",
  attempts: [{ provider: "fake", model: "fake-1", outcome: "success" }]
})

const scripted = (answers: Array<string>) => {
  const seen: Array<unknown> = []
  const model = LanguageModel.make({
    provider: "fake",
    model: "fake-1",
    generate: (request) =>
      Effect.sync(() => {
        seen.push(request)
        return completion(answers.shift() ?? "")
      }),
    stream: () => Stream.empty
  })
  return { model, seen }
}

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

describe("LanguageModel.generateObject", () => {
  it.effect("decodes JSON (also inside a fenced block) with the caller's schema", () =>
    Effect.gen(function*() {
      const { model, seen } = scripted(["```json\n{\"name\":\"Ada\",\"age\":36}\n```"])
      const result = yield* LanguageModel.generateObjectWith(model, {
        messages: [{ role: "user", content: "a person" }],
        schema: Person
      })
      assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
      const request = seen[0] as { responseFormat: { type: string; schema: { required: Array<string> } } }
      assert.strictEqual(request.responseFormat.type, "json")
      assert.deepStrictEqual(request.responseFormat.schema.required, ["name", "age"])
    }))

  it.effect("fails with MalformedOutput carrying the raw text", () =>
    Effect.gen(function*() {
      const { model } = scripted(["{\"name\":\"Ada\"}"])
      const exit = yield* Effect.exit(
        LanguageModel.generateObjectWith(model, { messages: [{ role: "user", content: "x" }], schema: Person })
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        LanguageModel.generateObjectWith(scripted(["not json"]).model, {
          messages: [{ role: "user", content: "x" }],
          schema: Person
        })
      )
      assert.strictEqual(error._tag, "MalformedOutput")
      assert.strictEqual(error.raw, "not json")
      assert.isTrue(LlmError.isLlmError(error))
    }))

  it.effect("repairs once when asked, showing the model its answer and the issue", () =>
    Effect.gen(function*() {
      const { model, seen } = scripted(["{\"name\":\"Ada\"}", "{\"name\":\"Ada\",\"age\":36}"])
      const result = yield* LanguageModel.generateObjectWith(model, {
        messages: [{ role: "user", content: "x" }],
        schema: Person,
        repair: true
      })
      assert.strictEqual(result.value.age, 36)
      assert.strictEqual(seen.length, 2)
      const second = seen[1] as { messages: Array<{ role: string; content: string }> }
      assert.strictEqual(second.messages[1]!.content, "{\"name\":\"Ada\"}")
      assert.include(second.messages[2]!.content, "age")
    }))
})

describe("LanguageModel.layer", () => {
  it.effect("serves a model under the tag", () =>
    Effect.gen(function*() {
      const text = yield* LanguageModel.generate({ messages: [{ role: "user", content: "hi" }] }).pipe(
        Effect.map((c) => c.text),
        Effect.provide(LanguageModel.layer(scripted(["hello"]).model))
      )
      assert.strictEqual(text, "hello")
    }))
})
