import { LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Option, Schema, Stream } from "effect"
import { apis, runEvents } from "./streamApis.js"

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

describe("LanguageModel.streamEach", () => {
  const request = { messages: [{ role: "user" as const, content: "hi" }] }
  const finished = completion("hello world")
  const events: ReadonlyArray<StreamEvent> = [
    { _tag: "TextDelta", text: "hello " },
    { _tag: "TextDelta", text: "world" },
    { _tag: "Finish", completion: finished }
  ]
  /** A model with only a stream, counting its runs. */
  const streaming = (stream: Stream.Stream<StreamEvent> = Stream.fromIterable(events)) => {
    const runs = { count: 0 }
    const model = LanguageModel.make({
      provider: "fake",
      model: "fake-1",
      generate: () => Effect.succeed(finished),
      stream: () => Stream.suspend(() => (runs.count++, stream))
    })
    return { model, runs }
  }
  const collect = (seen: Array<StreamEvent>) => (event: StreamEvent) => Effect.sync(() => void seen.push(event))

  it.effect("make without streamEach derives it from the stream: its events, then the Finish's completion", () =>
    Effect.gen(function*() {
      const { model, runs } = streaming()
      const seen: Array<StreamEvent> = []
      const result = yield* model.streamEach(request, collect(seen))
      assert.deepStrictEqual(seen, events)
      assert.strictEqual(result, finished)
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* runEvents(model, request, "stream"), events)
      // an onEvent that waits is awaited before the next event
      const order: Array<string> = []
      yield* model.streamEach(request, (event) =>
        Effect.sync(() => void order.push(`start ${event._tag}`)).pipe(
          Effect.zipRight(Effect.yieldNow()),
          Effect.zipRight(Effect.sync(() => void order.push(`end ${event._tag}`)))
        ))
      assert.deepStrictEqual(order, [
        "start TextDelta",
        "end TextDelta",
        "start TextDelta",
        "end TextDelta",
        "start Finish",
        "end Finish"
      ])
    }))

  it.effect("the derived streamEach dies when the stream ends without a Finish (after handing on what came)", () =>
    Effect.gen(function*() {
      const { model } = streaming(Stream.make<Array<StreamEvent>>({ _tag: "TextDelta", text: "cut" }))
      const seen: Array<StreamEvent> = []
      const exit = yield* Effect.exit(model.streamEach(request, collect(seen)))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      if (Exit.isFailure(exit)) {
        const defect = Cause.dieOption(exit.cause)
        assert.isTrue(Option.isSome(defect))
        if (Option.isSome(defect)) assert.include(String(defect.value), "the stream ended without a Finish event")
      }
      assert.deepStrictEqual(seen, [{ _tag: "TextDelta", text: "cut" }])
      // LanguageModel.runEach, used directly, the same
      const direct = yield* Effect.exit(LanguageModel.runEach(Stream.empty, () => Effect.void))
      assert.isTrue(Exit.isFailure(direct) && Cause.isDie(direct.cause))
    }))

  it.effect("a stream's failure fails the derived streamEach with the same error", () =>
    Effect.gen(function*() {
      const error = new LlmError.ServerError({ provider: "fake", model: "fake-1", status: 502 })
      const model = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        generate: () => Effect.succeed(finished),
        stream: () =>
          Stream.concat(Stream.make<Array<StreamEvent>>({ _tag: "TextDelta", text: "a" }), Stream.fail(error))
      })
      const seen: Array<StreamEvent> = []
      assert.strictEqual(yield* Effect.flip(model.streamEach(request, collect(seen))), error)
      assert.deepStrictEqual(seen, [{ _tag: "TextDelta", text: "a" }])
    }))

  it.effect("make keeps a streamEach it is given", () =>
    Effect.gen(function*() {
      const { model: streamOnly, runs } = streaming()
      const model = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        generate: streamOnly.generate,
        stream: streamOnly.stream,
        streamEach: (_request, onEvent) => Effect.as(onEvent({ _tag: "Finish", completion: finished }), finished)
      })
      const seen: Array<StreamEvent> = []
      assert.strictEqual(yield* model.streamEach(request, collect(seen)), finished)
      assert.deepStrictEqual(seen, [{ _tag: "Finish", completion: finished }])
      assert.strictEqual(runs.count, 0)
    }))

  const upper = <E, R>(self: LanguageModel.With<E, R>) =>
    LanguageModel.transform(self, {
      generate: (generate) => generate,
      stream: (stream) => (request) =>
        Stream.map(
          stream(request),
          (event): StreamEvent => event._tag === "TextDelta" ? { ...event, text: event.text.toUpperCase() } : event
        )
    })

  it.effect("transform without a streamEach transformation runs the transformed stream", () =>
    Effect.gen(function*() {
      const { model: streamOnly, runs } = streaming()
      // the model below has a streamEach of its own: the policy, having none, must not call it
      let nativeCalls = 0
      const below = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        generate: streamOnly.generate,
        stream: streamOnly.stream,
        streamEach: (_request, onEvent) =>
          Effect.suspend(() => {
            nativeCalls++
            return Effect.as(onEvent({ _tag: "Finish", completion: finished }), finished)
          })
      })
      const model = upper(below)
      const seen: Array<StreamEvent> = []
      const result = yield* model.streamEach(request, collect(seen))
      assert.deepStrictEqual(seen.map((event) => event._tag === "TextDelta" ? event.text : event._tag), [
        "HELLO ",
        "WORLD",
        "Finish"
      ])
      assert.strictEqual(result, finished)
      assert.strictEqual(nativeCalls, 0)
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* runEvents(model, request, "stream"), seen)
    }))

  it.effect("transform with a streamEach transformation uses it over the model's streamEach", () =>
    Effect.gen(function*() {
      const { model: below, runs } = streaming()
      const model = LanguageModel.transform(below, {
        generate: (generate) => generate,
        stream: (stream) => stream,
        streamEach: (streamEach) => (request, onEvent) =>
          streamEach(request, (event) => event._tag === "TextDelta" ? onEvent({ ...event, text: "*" }) : onEvent(event))
      })
      const seen: Array<StreamEvent> = []
      assert.strictEqual(yield* model.streamEach(request, collect(seen)), finished)
      assert.deepStrictEqual(seen.map((event) => event._tag === "TextDelta" ? event.text : event._tag), [
        "*",
        "*",
        "Finish"
      ])
      assert.strictEqual(runs.count, 1)
    }))

  class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}

  it.effect("provideContext provides the context to streamEach", () =>
    Effect.gen(function*() {
      const needs = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        generate: () => Effect.map(Greeting, completion),
        stream: () =>
          Stream.flatMap(
            Greeting,
            (text) =>
              Stream.make<Array<StreamEvent>>({ _tag: "TextDelta", text }, {
                _tag: "Finish",
                completion: completion(text)
              })
          ),
        // a streamEach of its own that reads the service
        streamEach: (_request, onEvent) =>
          Effect.flatMap(Greeting, (text) =>
            Effect.zipRight(
              onEvent({ _tag: "TextDelta", text }),
              Effect.as(onEvent({ _tag: "Finish", completion: completion(text) }), completion(text))
            ))
      })
      const model = LanguageModel.provideContext(needs, Context.make(Greeting, "bonjour"))
      expectTypeOf(model.streamEach).returns.toEqualTypeOf<Effect.Effect<Completion, never, never>>()
      for (const api of apis) {
        const seen = yield* runEvents(model, request, api)
        assert.deepStrictEqual(seen, [
          { _tag: "TextDelta", text: "bonjour" },
          { _tag: "Finish", completion: completion("bonjour") }
        ], api)
      }
      // the context given to the model wins over the caller's, for both apis
      for (const api of apis) {
        const seen = yield* runEvents(model, request, api).pipe(Effect.provideService(Greeting, "hello"))
        assert.deepStrictEqual(seen[0], { _tag: "TextDelta", text: "bonjour" }, api)
      }
    }))

  it.effect("the LanguageModel.streamEach accessor calls the model in context", () =>
    Effect.gen(function*() {
      const seen: Array<StreamEvent> = []
      const result = yield* LanguageModel.streamEach(request, collect(seen))
      assert.deepStrictEqual(seen, events)
      assert.strictEqual(result, finished)
      expectTypeOf(LanguageModel.streamEach(request, collect(seen))).toEqualTypeOf<
        Effect.Effect<Completion, LlmError.LlmError, LanguageModel.LanguageModel>
      >()
    }).pipe(Effect.provide(LanguageModel.layer(streaming().model))))
})
