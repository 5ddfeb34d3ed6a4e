import { CallEvent, LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import * as ContentFilter from "@effect-llm/core/ContentFilter"
import * as Retry from "@effect-llm/core/Retry"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Stream } from "effect"
import { expectTypeOf } from "vitest"
import { completion, prompt, scripted } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

const filtered = new LlmError.ContentFiltered({
  provider: "fake",
  model: "fake-1",
  stage: "output",
  category: "violence"
})

/** A text delta's text, or the event's tag. */
const shown = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.map((e) => e._tag === "TextDelta" ? e.text : e._tag)

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

  for (const api of apis) {
    it.effect(`streams: the graceful answer is streamed when nothing was, else only its Finish (${api})`, () =>
      Effect.gen(function*() {
        const before = scripted([{ fail: filtered }])
        const events1 = yield* runEvents(
          before.model.pipe(ContentFilter.handle(ContentFilter.reply("no"))),
          prompt,
          api
        )
        assert.deepStrictEqual(shown(events1), ["no", "Finish"])
        const after = scripted([{ chunks: ["partial"], failAfterChunks: filtered }])
        const events2 = yield* runEvents(
          after.model.pipe(ContentFilter.handle(ContentFilter.reply("no"))),
          prompt,
          api
        )
        // the graceful text is not sent after streamed text: no second delta
        assert.deepStrictEqual(shown(events2), ["partial", "Finish"])
        const finish = events2[1]!
        assert.strictEqual(finish._tag === "Finish" ? finish.completion.text : undefined, "no")
      }))

    it.effect(`streams: the graceful answer logs, emits its event and is marked content-filter (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ fail: filtered }])
        const { layer, lines } = captureLogs()
        const calls: Array<CallEvent.CallEvent> = []
        const handled = model.pipe(
          ContentFilter.handle((error) =>
            Effect.succeed<Completion>({
              ...(ContentFilter.reply(`blocked at ${error.stage}`)(error, prompt) as Completion),
              finishReason: "stop"
            })
          )
        )
        const events = yield* runEvents(handled, prompt, api).pipe(
          CallEvent.listen((e) => Effect.sync(() => calls.push(e))),
          Effect.provide(layer)
        )
        assert.deepStrictEqual(shown(events), ["blocked at output", "Finish"])
        const finish = events[1]!
        assert.strictEqual(finish._tag === "Finish" ? finish.completion.finishReason : undefined, "content-filter")
        assert.deepStrictEqual(calls.map((e) => e._tag), ["ContentFiltered"])
        assert.strictEqual(lines.length, 1)
      }))

    it.effect(`streams: an empty graceful answer sends only its Finish (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ fail: filtered }])
        const events = yield* runEvents(model.pipe(ContentFilter.handle(ContentFilter.reply(""))), prompt, api)
        assert.deepStrictEqual(shown(events), ["Finish"])
      }))

    it.effect(`streams: an unfiltered stream passes unchanged (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ chunks: ["a", "b", "c"] }])
        const events = yield* runEvents(model.pipe(ContentFilter.handle(ContentFilter.reply("no"))), prompt, api)
        assert.deepStrictEqual(shown(events), ["a", "b", "c", "Finish"])
        const finish = events[3]!
        assert.strictEqual(finish._tag === "Finish" ? finish.completion.text : undefined, "abc")
      }))

    it.effect(`streams: other errors pass through, before and after the first event (${api})`, () =>
      Effect.gen(function*() {
        const invalid = new LlmError.InvalidRequest({ provider: "fake", model: "fake-1", status: 400 })
        const { model } = scripted([{ fail: invalid }, { chunks: ["a"], failAfterChunks: invalid }])
        const handled = model.pipe(ContentFilter.handle(ContentFilter.reply("no")))
        assert.strictEqual((yield* Effect.flip(runEvents(handled, prompt, api)))._tag, "InvalidRequest")
        const seen: Array<string> = []
        const error = yield* Effect.flip(
          runEvents(handled, prompt, api, (e) => Effect.sync(() => seen.push(e._tag)))
        )
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.deepStrictEqual(seen, ["TextDelta"])
      }))

    it.effect(`streams: a filtered stream is never retried (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: filtered }, { text: "would be a retry" }])
        const handled = model.pipe(Retry.withPolicy(Retry.standard), ContentFilter.handle(ContentFilter.reply("no")))
        assert.deepStrictEqual(shown(yield* runEvents(handled, prompt, api)), ["no", "Finish"])
        assert.strictEqual(calls.length, 1)
      }))
  }

  describe("streamEach", () => {
    it.effect("runs natively: the policy's stream is never run", () =>
      Effect.gen(function*() {
        // a model whose `stream` is a defect: only a native `streamEach` all the way down succeeds
        const base = LanguageModel.make<LlmError.ContentFiltered, never>({
          provider: "fake",
          model: "fake-1",
          generate: () => Effect.fail(filtered),
          stream: () => Stream.die("the stream was run"),
          streamEach: (_, onEvent) => Effect.zipRight(onEvent(StreamEvent.textDelta("partial")), Effect.fail(filtered))
        })
        const events = yield* runEvents(
          base.pipe(ContentFilter.handle(ContentFilter.reply("no"))),
          prompt,
          "streamEach"
        )
        assert.deepStrictEqual(shown(events), ["partial", "Finish"])
        const ok = LanguageModel.make({
          provider: "fake",
          model: "fake-1",
          generate: () => Effect.die("not called"),
          stream: () => Stream.die("the stream was run"),
          streamEach: (_, onEvent) => {
            const done = completion("hi", { provider: "fake", model: "fake-1" })
            return Effect.as(
              Effect.zipRight(onEvent(StreamEvent.textDelta("hi")), onEvent(StreamEvent.finish(done))),
              done
            )
          }
        })
        const passed = yield* runEvents(ok.pipe(ContentFilter.handle(ContentFilter.reply("no"))), prompt, "streamEach")
        assert.deepStrictEqual(shown(passed), ["hi", "Finish"])
      }))

    it.effect("succeeds with the graceful completion, the one its Finish carries", () =>
      Effect.gen(function*() {
        const { model } = scripted([{ fail: filtered }])
        const events: Array<StreamEvent.StreamEvent> = []
        const result = yield* model.pipe(ContentFilter.handle(ContentFilter.reply("no"), { log: false })).streamEach(
          prompt,
          (event) => Effect.sync(() => events.push(event))
        )
        assert.strictEqual(result.text, "no")
        assert.strictEqual(result.finishReason, "content-filter")
        assert.deepStrictEqual(events, [StreamEvent.textDelta("no"), StreamEvent.finish(result)])
      }))

    it.effect("each run of one call value counts its own events", () =>
      Effect.gen(function*() {
        const { model } = scripted([{ chunks: ["partial"], failAfterChunks: filtered }, { fail: filtered }])
        const events: Array<StreamEvent.StreamEvent> = []
        const call = model.pipe(ContentFilter.handle(ContentFilter.reply("no"), { log: false })).streamEach(
          prompt,
          (event) => Effect.sync(() => events.push(event))
        )
        yield* call
        assert.deepStrictEqual(shown(events), ["partial", "Finish"])
        events.length = 0
        // the second run streamed nothing before it was filtered: the graceful text is sent
        yield* call
        assert.deepStrictEqual(shown(events), ["no", "Finish"])
      }))
  })

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
