import { LanguageModel } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { drain, MODEL, prompt, streamApis, withEmulator } from "./fixtures.js"

interface Body {
  readonly model: string
  readonly max_tokens: number
  readonly system?: string
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>
  readonly stop_sequences?: ReadonlyArray<string>
  readonly output_config?: { readonly format?: { readonly type: string; readonly schema: Record<string, unknown> } }
  readonly stream?: boolean
}

const lastBody = (requests: ReadonlyArray<{ readonly body: unknown }>) => requests[requests.length - 1]!.body as Body

describe("request mapping (as the emulator received it)", () => {
  it.live("system messages go to `system`, consecutive turns of one role are merged, stop → stop_sequences", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* model.generate({
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "First question." },
            { role: "user", content: [{ type: "text", text: "Second part." }] },
            { role: "assistant", content: "An answer." },
            { role: "system", content: "Use English." },
            { role: "user", content: "Follow-up." }
          ],
          stop: ["END"],
          temperature: 0.3,
          topP: 0.9,
          seed: 7,
          user: "user-1",
          feature: "faq"
        })
        const body = lastBody(yield* emulator.requests)
        assert.strictEqual(body.system, "Be brief.\n\nUse English.")
        assert.deepStrictEqual(body.messages, [
          {
            role: "user",
            content: [{ type: "text", text: "First question." }, { type: "text", text: "Second part." }]
          },
          { role: "assistant", content: "An answer." },
          { role: "user", content: "Follow-up." }
        ])
        assert.deepStrictEqual(body.stop_sequences, ["END"])
        // not sent: sampling parameters (gone from the Messages API of SDK 1.x), seed, user, feature
        for (const key of ["temperature", "top_p", "seed", "user", "feature", "metadata"]) {
          assert.isFalse(key in body, `${key} must not be sent`)
        }
      })
    ))

  it.live("max_tokens: maxOutputTokens, else the maxTokens option, else the per-model default", () =>
    Effect.gen(function*() {
      yield* withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* model.generate({ ...prompt("a"), maxOutputTokens: 321 })
          assert.strictEqual(lastBody(yield* emulator.requests).max_tokens, 321)
          yield* model.generate(prompt("b"))
          assert.strictEqual(lastBody(yield* emulator.requests).max_tokens, 16384)
          yield* model.generate({ ...prompt("c"), model: "claude-3-5-haiku-latest" })
          const body = lastBody(yield* emulator.requests)
          assert.strictEqual(body.model, "claude-3-5-haiku-latest")
          assert.strictEqual(body.max_tokens, 8192)
        })
      )
      yield* withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* model.generate(prompt("d"))
          assert.strictEqual(lastBody(yield* emulator.requests).max_tokens, 2048)
        }), { model: { maxTokens: 2048 } })
    }))

  it.live("the request's model overrides the model's own, in the body and in the completion", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        const completion = yield* model.generate({ ...prompt("x"), model: "claude-sonnet-4-6" })
        assert.strictEqual(lastBody(yield* emulator.requests).model, "claude-sonnet-4-6")
        assert.strictEqual(completion.model, "claude-sonnet-4-6")
        assert.isTrue(completion.servedModel.startsWith("claude-sonnet-4-6"))
      })
    ))

  it.live("images: data URLs become base64 blocks, other URLs url blocks", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* model.generate({
          messages: [{
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" },
              { type: "image", url: "https://example.com/cat.jpg" }
            ]
          }]
        })
        assert.deepStrictEqual(lastBody(yield* emulator.requests).messages[0]!.content, [
          { type: "text", text: "What is this?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
        ])
      })
    ))

  const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

  it.live("generateObject with an object schema uses structured output (output_config.format)", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Reply", text: "{\"name\":\"Ada\",\"age\":36}" }])
        const result = yield* LanguageModel.generateObjectWith(model, { ...prompt("a person"), schema: Person })
        assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
        const body = lastBody(yield* emulator.requests)
        assert.strictEqual(body.output_config?.format?.type, "json_schema")
        const schema = body.output_config!.format!.schema
        assert.strictEqual(schema["type"], "object")
        assert.strictEqual(schema["additionalProperties"], false)
        assert.deepStrictEqual(schema["required"], ["name", "age"])
        assert.isFalse("$schema" in schema)
        assert.isUndefined(body.system)
      })
    ))

  it.live("structuredOutput: \"prompt\" and JSON without a schema ask for JSON in the system prompt", () =>
    Effect.gen(function*() {
      yield* withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Reply", text: "{\"name\":\"Ada\",\"age\":36}" }])
          yield* LanguageModel.generateObjectWith(model, {
            messages: [{ role: "system", content: "You invent people." }, { role: "user", content: "one" }],
            schema: Person
          })
          const body = lastBody(yield* emulator.requests)
          assert.isUndefined(body.output_config)
          assert.match(body.system ?? "", /^You invent people\.\n\nAnswer with one JSON value only/)
          assert.include(body.system ?? "", "\"required\":[\"name\",\"age\"]")
        }), { model: { structuredOutput: "prompt" } })
      for (const via of streamApis) {
        yield* withEmulator(({ emulator, model }) =>
          Effect.gen(function*() {
            yield* drain(model, { ...prompt("json please"), responseFormat: { type: "json" } }, via)
            const body = lastBody(yield* emulator.requests)
            assert.isTrue(body.stream, via)
            assert.isUndefined(body.output_config)
            assert.match(body.system ?? "", /JSON/)
          })
        )
      }
    }))

  for (const via of streamApis) {
    it.live(`${via}: the request carries stream: true and the same mapping`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* drain(model, {
            messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }],
            maxOutputTokens: 77
          }, via)
          const body = lastBody(yield* emulator.requests)
          assert.isTrue(body.stream)
          assert.strictEqual(body.system, "S")
          assert.strictEqual(body.max_tokens, 77)
          assert.strictEqual(body.model, MODEL)
        })
      ))
  }
})
