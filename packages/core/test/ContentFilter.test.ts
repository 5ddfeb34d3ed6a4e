import { CallEvent, LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import * as ContentFilter from "@effect-llm/core/ContentFilter"
import * as Retry from "@effect-llm/core/Retry"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Stream } from "effect"
import { expectTypeOf } from "vitest"
import { prompt, scripted } from "./resilienceFixtures.js"

const filtered = new LlmError.ContentFiltered({
  provider: "fake",
  model: "fake-1",
  stage: "output",
  category: "violence"
})

const captureLogs = () => {
  const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
  const logger = Logger.make(({ annotations, message }) => {
    const record: Record<string, unknown> = {}
    for (const [k, v] of annotations) record[k] = v
    lines.push({ message, annotations: record })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("ContentFilter", () => {
  it.effect("turns ContentFiltered into the graceful answer, logs without the prompt and emits an event", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ fail: filtered }])
      const { layer, lines } = captureLogs()
      const events: Array<CallEvent.CallEvent> = []
      const result = yield* model.pipe(ContentFilter.handle(ContentFilter.reply("Sorry, I can't help with that.")))
        .generate({ messages: [{ role: "user", content: "secret prompt" }] }).pipe(
          CallEvent.listen((e) => Effect.sync(() => events.push(e))),
          Effect.provide(layer)
        )
      assert.strictEqual(result.text, "Sorry, I can't help with that.")
      assert.strictEqual(result.finishReason, "content-filter")
      assert.deepStrictEqual(events, [{
        _tag: "ContentFiltered",
        provider: "fake",
        model: "fake-1",
        stage: "output",
        category: "violence"
      }])
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(lines[0]!.annotations.category, "violence")
      assert.isFalse(JSON.stringify(lines).includes("secret prompt"))
    }))

  it.effect("logs the prompt only when opted in", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ fail: filtered }])
      const { layer, lines } = captureLogs()
      yield* model.pipe(ContentFilter.handle(ContentFilter.reply("no"), { logPrompt: true }))
        .generate({ messages: [{ role: "user", content: "secret prompt" }] }).pipe(Effect.provide(layer))
      assert.include(String(lines[0]!.annotations.prompt), "secret prompt")
    }))

  it.effect("the caller's answer may be an effect and see the error; it is marked content-filter", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ fail: filtered }])
      const result = yield* model.pipe(
        ContentFilter.handle((error) =>
          Effect.succeed<Completion>({
            ...(ContentFilter.reply(`blocked at ${error.stage}`)(error, prompt) as Completion),
            finishReason: "stop"
          })
        )
      ).generate(prompt)
      assert.strictEqual(result.text, "blocked at output")
      assert.strictEqual(result.finishReason, "content-filter")
    }))

  it.effect("is never retried", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: filtered }, { text: "would be a retry" }])
      const result = yield* model.pipe(
        Retry.withPolicy(Retry.standard),
        ContentFilter.handle(ContentFilter.reply("no"))
      )
        .generate(prompt)
      assert.strictEqual(result.text, "no")
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("streams: the graceful answer is streamed when nothing was, else only its Finish", () =>
    Effect.gen(function*() {
      const before = scripted([{ fail: filtered }])
      const events1 = Array.from(
        yield* Stream.runCollect(before.model.pipe(ContentFilter.handle(ContentFilter.reply("no"))).stream(prompt))
      )
      assert.deepStrictEqual(events1.map((e) => e._tag === "TextDelta" ? e.text : e._tag), ["no", "Finish"])
      const after = scripted([{ chunks: ["partial"], failAfterChunks: filtered }])
      const events2 = Array.from(
        yield* Stream.runCollect(after.model.pipe(ContentFilter.handle(ContentFilter.reply("no"))).stream(prompt))
      )
      assert.deepStrictEqual(events2.map((e) => e._tag === "TextDelta" ? e.text : e._tag), ["partial", "Finish"])
    }))

  it.effect("other errors pass through", () =>
    Effect.gen(function*() {
      const { model } = scripted([{
        fail: new LlmError.InvalidRequest({ provider: "fake", model: "fake-1", status: 400 })
      }])
      const error = yield* Effect.flip(model.pipe(ContentFilter.handle(ContentFilter.reply("no"))).generate(prompt))
      assert.strictEqual(error._tag, "InvalidRequest")
    }))

  it.effect("ContentFilter.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ fail: filtered }])
      const layer = ContentFilter.layer(ContentFilter.reply("layered"), { log: false }).pipe(
        Layer.provide(LanguageModel.layer(model))
      )
      assert.strictEqual((yield* LanguageModel.generate(prompt).pipe(Effect.provide(layer))).text, "layered")
    }))

  it("removes ContentFiltered from the error type", () => {
    const model = scripted([]).model as unknown as LanguageModel.With<
      LlmError.ContentFiltered | LlmError.ServerError,
      "R"
    >
    const handled = model.pipe(ContentFilter.handle(ContentFilter.reply("no")))
    expectTypeOf(handled).toEqualTypeOf<LanguageModel.With<LlmError.ServerError, "R">>()
    // @ts-expect-error ContentFiltered can no longer happen
    const program = handled.generate(prompt).pipe(Effect.catchTag("ContentFiltered", () => Effect.void))
    assert.isDefined(program)
  })
})
