import { CallEvent, GenerateRequest, LanguageModel, LlmError } from "@effect-llm/core"
import * as ContextLength from "@effect-llm/core/ContextLength"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { completion, scripted } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

/** One token per character, so the tests can count. */
const options = (window: number | undefined): ContextLength.Options => ({
  countTokens: (messages) =>
    Effect.succeed(messages.reduce((n, m) => n + GenerateRequest.contentText(m.content).length, 0)),
  contextWindow: () => window
})

const conversation: GenerateRequest.GenerateRequest = {
  messages: [
    { role: "system", content: "s".repeat(10) },
    { role: "user", content: "u".repeat(40) },
    { role: "assistant", content: "a".repeat(40) },
    { role: "user", content: "q".repeat(30) }
  ],
  maxOutputTokens: 20
}
const roles = (request: GenerateRequest.GenerateRequest | undefined) =>
  request?.messages.map((m) => `${m.role}:${GenerateRequest.contentText(m.content).length}`)
const exceeded = (limit?: number, requested?: number) =>
  new LlmError.ContextLengthExceeded({
    provider: "fake",
    model: "fake-1",
    ...(limit !== undefined ? { limit } : {}),
    ...(requested !== undefined ? { requested } : {})
  })

/** A text delta's text, or the event's tag. */
const shown = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.map((e) => e._tag === "TextDelta" ? e.text : e._tag)
const finishOf = (events: ReadonlyArray<StreamEvent.StreamEvent>) => {
  const last = events[events.length - 1]
  return last?._tag === "Finish" ? last.completion : undefined
}
const words = Array.from({ length: 30 }, (_, i) => `word${String(i).padStart(2, "0")}`).join(" ") // 209 chars

describe("ContextLength", () => {
  it.effect("pre-flight truncate drops the oldest turns, keeping the system message and the latest", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{ text: "fits" }])
      const events: Array<CallEvent.CallEvent> = []
      const handled = model.pipe(ContextLength.handle(ContextLength.truncate(), options(100)))
      const result = yield* handled.generate(conversation).pipe(
        CallEvent.listen((e) => Effect.sync(() => events.push(e)))
      )
      assert.strictEqual(result.text, "fits")
      assert.deepStrictEqual(roles(requests[0]), ["system:10", "assistant:40", "user:30"])
      assert.deepStrictEqual(events, [{
        _tag: "ContextTruncated",
        provider: "fake",
        model: "fake-1",
        droppedMessages: 1,
        tokens: 80,
        limit: 100
      }])
    }))

  it.effect("a request that fits is sent as it is", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{}])
      yield* model.pipe(ContextLength.handle(ContextLength.truncate(), options(1000))).generate(conversation)
      assert.strictEqual(requests[0], conversation)
    }))

  it.effect("a ContextLengthExceeded from the provider is truncated to its reported limit", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{ fail: exceeded(50, 100) }, { text: "second try" }])
      const result = yield* model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined)))
        .generate({ messages: conversation.messages })
      assert.strictEqual(result.text, "second try")
      assert.deepStrictEqual(roles(requests[1]), ["system:10", "user:30"])
    }))

  it.effect("what no truncation can fit fails with InvalidRequest, without calling the provider", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([])
      const error = yield* Effect.flip(
        model.pipe(ContextLength.handle(ContextLength.truncate(), options(20))).generate(conversation)
      )
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(calls.length, 0)
    }))

  it.effect("a provider refusing the truncated request too ends with InvalidRequest", () =>
    Effect.gen(function*() {
      const { calls, model } = scripted([{ fail: exceeded(50, 100) }, { fail: exceeded(50, 60) }])
      const error = yield* Effect.flip(
        model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined))).generate({
          messages: conversation.messages
        })
      )
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("chunk splits the last user message, answers each part and combines the answers", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{ text: "A" }, { text: "B" }, { text: "C" }, { text: "A+B+C" }])
      const result = yield* model.pipe(ContextLength.handle(ContextLength.chunk(), options(100))).generate({
        messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }]
      })
      assert.strictEqual(result.text, "A+B+C")
      assert.strictEqual(requests.length, 4)
      const parts = requests.slice(0, 3).map((r) => GenerateRequest.contentText(r.messages[1]!.content))
      assert.strictEqual(parts.join(" "), words)
      for (const part of parts) assert.isTrue(part.length + 10 <= 100)
      const combine = GenerateRequest.contentText(requests[3]!.messages[1]!.content)
      assert.include(combine, "Part 1:\nA")
      assert.include(combine, "Part 3:\nC")
      assert.strictEqual(result.usage.outputTokens, 4 * 5)
      assert.strictEqual(result.attempts.length, 4)
    }))

  it.effect("larger moves the request to a larger-context model", () =>
    Effect.gen(function*() {
      const small = scripted([])
      const big = scripted([{ text: "big answer" }], { provider: "other", model: "big" })
      const events: Array<string> = []
      const handled = small.model.pipe(ContextLength.handle(ContextLength.larger(big.model), options(100)))
      const result = yield* handled.generate({ ...conversation, model: "fake-1" }).pipe(
        CallEvent.listen((e) => Effect.sync(() => events.push(CallEvent.describe(e))))
      )
      assert.strictEqual(result.text, "big answer")
      assert.strictEqual(small.calls.length, 0)
      assert.strictEqual(big.requests[0]!.model, undefined)
      assert.deepStrictEqual(events, ["switching from fake/fake-1 to other/big after ContextLengthExceeded"])
    }))

  for (const api of apis) {
    it.effect(`streams: pre-flight truncation and provider refusals before the first token (${api})`, () =>
      Effect.gen(function*() {
        const { model, requests } = scripted([{ chunks: ["x"] }, { fail: exceeded(50, 100) }, { chunks: ["y"] }])
        const handled = model.pipe(ContextLength.handle(ContextLength.truncate(), options(100)))
        const events: Array<CallEvent.CallEvent> = []
        const first = yield* runEvents(handled, conversation, api).pipe(
          CallEvent.listen((e) => Effect.sync(() => events.push(e)))
        )
        assert.deepStrictEqual(shown(first), ["x", "Finish"])
        assert.deepStrictEqual(roles(requests[0]), ["system:10", "assistant:40", "user:30"])
        assert.deepStrictEqual(events.map((e) => e._tag), ["ContextTruncated"])
        const unknownWindow = model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined)))
        const second = yield* runEvents(unknownWindow, { messages: conversation.messages }, api)
        assert.deepStrictEqual(shown(second), ["y", "Finish"])
        assert.deepStrictEqual(roles(requests[1]), roles(conversation))
        assert.deepStrictEqual(roles(requests[2]), ["system:10", "user:30"])
      }))

    it.effect(`streams: a request that fits is streamed as it is (${api})`, () =>
      Effect.gen(function*() {
        const { model, requests } = scripted([{ chunks: ["a", "b", "c"] }])
        const events = yield* runEvents(
          model.pipe(ContextLength.handle(ContextLength.truncate(), options(1000))),
          conversation,
          api
        )
        assert.deepStrictEqual(shown(events), ["a", "b", "c", "Finish"])
        assert.strictEqual(finishOf(events)?.text, "abc")
        assert.strictEqual(requests[0], conversation)
      }))

    it.effect(`streams: what no truncation can fit fails with InvalidRequest, without calling the provider (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([])
        const seen: Array<string> = []
        const error = yield* Effect.flip(
          runEvents(
            model.pipe(ContextLength.handle(ContextLength.truncate(), options(20))),
            conversation,
            api,
            (e) => Effect.sync(() => seen.push(e._tag))
          )
        )
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.strictEqual(calls.length, 0)
        assert.deepStrictEqual(seen, [])
      }))

    it.effect(`streams: a provider refusing the truncated request too ends with InvalidRequest (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: exceeded(50, 100) }, { fail: exceeded(50, 60) }])
        const error = yield* Effect.flip(runEvents(
          model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined))),
          { messages: conversation.messages },
          api
        ))
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.include(error.message, "context length exceeded after truncate")
        assert.strictEqual(calls.length, 2)
      }))

    it.effect(`streams: pre-flight truncation refused by the provider ends with InvalidRequest (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ fail: exceeded(50, 100) }])
        const error = yield* Effect.flip(runEvents(
          model.pipe(ContextLength.handle(ContextLength.truncate(), options(100))),
          conversation,
          api
        ))
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.strictEqual(calls.length, 1)
      }))

    it.effect(`streams: a refusal after the first token is not rescued, and ends as InvalidRequest (${api})`, () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([{ chunks: ["partial"], failAfterChunks: exceeded(50, 100) }, {
          chunks: ["never"]
        }])
        const seen: Array<string> = []
        const error = yield* Effect.flip(runEvents(
          model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined))),
          { messages: conversation.messages },
          api,
          (e) => Effect.sync(() => seen.push(e._tag === "TextDelta" ? e.text : e._tag))
        ))
        // the handler removed ContextLengthExceeded from the error type: nothing can be re-planned once
        // the caller has text, so the refusal is an InvalidRequest saying so
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.include(error.message, "context length exceeded after the stream began")
        assert.deepStrictEqual(seen, ["partial"])
        assert.strictEqual(calls.length, 1)
      }))

    it.effect(`streams: chunk generates the parts and streams the combined answer with the sum (${api})`, () =>
      Effect.gen(function*() {
        const { model, requests } = scripted([{ text: "A" }, { text: "B" }, { text: "C" }, {
          chunks: ["A+B", "+C"]
        }])
        const events = yield* runEvents(
          model.pipe(ContextLength.handle(ContextLength.chunk(), options(100))),
          { messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }] },
          api
        )
        assert.deepStrictEqual(shown(events), ["A+B", "+C", "Finish"])
        assert.strictEqual(requests.length, 4)
        const parts = requests.slice(0, 3).map((r) => GenerateRequest.contentText(r.messages[1]!.content))
        assert.strictEqual(parts.join(" "), words)
        const combine = GenerateRequest.contentText(requests[3]!.messages[1]!.content)
        assert.include(combine, "Part 1:\nA")
        assert.include(combine, "Part 3:\nC")
        const result = finishOf(events)!
        assert.strictEqual(result.text, "A+B+C")
        assert.strictEqual(result.usage.outputTokens, 4 * 5)
        assert.strictEqual(result.attempts.length, 4)
      }))

    it.effect(`streams: chunk after a provider refusal (${api})`, () =>
      Effect.gen(function*() {
        const { model, requests } = scripted([
          { fail: exceeded(100, 219) },
          { text: "A" },
          { text: "B" },
          { text: "C" },
          { chunks: ["ABC"] }
        ])
        const events = yield* runEvents(
          model.pipe(ContextLength.handle(ContextLength.chunk(), options(undefined))),
          { messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }] },
          api
        )
        // the provider's 219 of 100 scales the budget to 95 tokens: three parts, then the reduce call
        assert.deepStrictEqual(shown(events), ["ABC", "Finish"])
        assert.strictEqual(requests.length, 5)
        assert.deepStrictEqual(roles(requests[0]), ["system:10", "user:209"])
        for (const r of requests.slice(1, 4)) {
          assert.isTrue(GenerateRequest.contentText(r.messages[1]!.content).length <= 85)
        }
        const result = finishOf(events)!
        assert.strictEqual(result.usage.outputTokens, 4 * 5)
        assert.strictEqual(result.attempts.length, 4)
      }))

    it.effect(`streams: chunk whose combined request is refused ends with InvalidRequest (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ text: "A" }, { text: "B" }, { text: "C" }, { fail: exceeded(100, 150) }])
        const error = yield* Effect.flip(runEvents(
          model.pipe(ContextLength.handle(ContextLength.chunk(), options(100))),
          { messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }] },
          api
        ))
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.include(error.message, "context length exceeded after chunk")
      }))

    it.effect(`streams: larger moves the request to a larger-context model (${api})`, () =>
      Effect.gen(function*() {
        const small = scripted([])
        const big = scripted([{ chunks: ["big", " answer"] }], { provider: "other", model: "big" })
        const described: Array<string> = []
        const handled = small.model.pipe(ContextLength.handle(ContextLength.larger(big.model), options(100)))
        const events = yield* runEvents(handled, { ...conversation, model: "fake-1" }, api).pipe(
          CallEvent.listen((e) => Effect.sync(() => described.push(CallEvent.describe(e))))
        )
        assert.deepStrictEqual(shown(events), ["big", " answer", "Finish"])
        assert.strictEqual(finishOf(events)!.provider, "other")
        assert.strictEqual(small.calls.length, 0)
        assert.strictEqual(big.requests[0]!.model, undefined)
        assert.deepStrictEqual(described, ["switching from fake/fake-1 to other/big after ContextLengthExceeded"])
      }))

    it.effect(`streams: larger after a provider refusal, and its own refusal is InvalidRequest (${api})`, () =>
      Effect.gen(function*() {
        const small = scripted([{ fail: exceeded(50, 100) }, { fail: exceeded(50, 100) }])
        const big = scripted([{ chunks: ["big"] }, { fail: exceeded(500, 600) }], { provider: "other", model: "big" })
        const handled = small.model.pipe(ContextLength.handle(ContextLength.larger(big.model), options(undefined)))
        const events = yield* runEvents(handled, conversation, api)
        assert.deepStrictEqual(shown(events), ["big", "Finish"])
        const error = yield* Effect.flip(runEvents(handled, conversation, api))
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.include(error.message, "context length exceeded after larger")
        assert.strictEqual(small.calls.length, 2)
        assert.strictEqual(big.calls.length, 2)
      }))
  }

  describe("streamEach", () => {
    /** A model whose `stream` is a defect: only a native `streamEach` all the way down succeeds. */
    const native = () => {
      const requests: Array<GenerateRequest.GenerateRequest> = []
      const model = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        generate: (request) =>
          Effect.sync(() => {
            requests.push(request)
            return completion(`part${requests.length}`, { provider: "fake", model: "fake-1" })
          }),
        stream: () => Stream.die("the stream was run"),
        streamEach: (request, onEvent) => {
          requests.push(request)
          const done = completion("streamed", { provider: "fake", model: "fake-1" })
          return Effect.as(
            Effect.zipRight(onEvent(StreamEvent.textDelta("streamed")), onEvent(StreamEvent.finish(done))),
            done
          )
        }
      })
      return { model, requests }
    }

    it.effect("runs natively for every strategy: the policy's stream is never run", () =>
      Effect.gen(function*() {
        const send = native()
        const truncated = yield* runEvents(
          send.model.pipe(ContextLength.handle(ContextLength.truncate(), options(100))),
          conversation,
          "streamEach"
        )
        assert.deepStrictEqual(shown(truncated), ["streamed", "Finish"])
        assert.deepStrictEqual(roles(send.requests[0]), ["system:10", "assistant:40", "user:30"])
        const chunked = native()
        const events = yield* runEvents(
          chunked.model.pipe(ContextLength.handle(ContextLength.chunk(), options(100))),
          { messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }] },
          "streamEach"
        )
        assert.deepStrictEqual(shown(events), ["streamed", "Finish"])
        assert.strictEqual(finishOf(events)!.attempts.length, chunked.requests.length)
        const big = native()
        const larger = yield* runEvents(
          native().model.pipe(ContextLength.handle(ContextLength.larger(big.model), options(100))),
          conversation,
          "streamEach"
        )
        assert.deepStrictEqual(shown(larger), ["streamed", "Finish"])
        assert.strictEqual(big.requests.length, 1)
      }))

    it.effect("the combined answer's events reach onEvent in order, its Finish (with the sum) last and once", () =>
      Effect.gen(function*() {
        const { model } = scripted([{ text: "A" }, { text: "B" }, { text: "C" }, { chunks: ["x", "y", "z"] }])
        const events: Array<StreamEvent.StreamEvent> = []
        const result = yield* model.pipe(ContextLength.handle(ContextLength.chunk(), options(100))).streamEach(
          { messages: [{ role: "system", content: "s".repeat(10) }, { role: "user", content: words }] },
          (event) => Effect.sync(() => events.push(event))
        )
        assert.deepStrictEqual(events, [
          StreamEvent.textDelta("x"),
          StreamEvent.textDelta("y"),
          StreamEvent.textDelta("z"),
          StreamEvent.finish(result)
        ])
        assert.strictEqual(result.usage.outputTokens, 4 * 5)
      }))

    it.effect("each run of one call value has its own first event", () =>
      Effect.gen(function*() {
        const { calls, model } = scripted([
          { chunks: ["partial"], failAfterChunks: exceeded(50, 100) },
          { fail: exceeded(50, 100) },
          { chunks: ["rescued"] }
        ])
        const seen: Array<string> = []
        const call = model.pipe(ContextLength.handle(ContextLength.truncate(), options(undefined))).streamEach(
          { messages: conversation.messages },
          (e) => Effect.sync(() => seen.push(e._tag === "TextDelta" ? e.text : e._tag))
        )
        yield* Effect.flip(call)
        assert.deepStrictEqual(seen, ["partial"])
        seen.length = 0
        // the second run had streamed nothing when it was refused: it is rescued
        const result = yield* call
        assert.strictEqual(result.text, "rescued")
        assert.deepStrictEqual(seen, ["rescued", "Finish"])
        assert.strictEqual(calls.length, 3)
      }))
  })

  it.effect("defaults: the ModelCatalog in context gives the window, the Tokenizer counts", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{}])
      const catalog = ModelCatalog.layerWith([{
        provider: "fake",
        model: "fake-1",
        pricing: { input: 1, cachedInput: 0.1, output: 2 },
        contextWindow: 60,
        maxOutputTokens: 10,
        pricesAsOf: "2026-01-01"
      }])
      yield* model.pipe(ContextLength.handle(ContextLength.truncate())).generate({
        messages: [
          { role: "user", content: "old ".repeat(50) },
          { role: "user", content: "new question" }
        ]
      }).pipe(Effect.provide(catalog))
      assert.deepStrictEqual(roles(requests[0]), ["user:12"])
    }))

  it.effect("ContextLength.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { model, requests } = scripted([{}])
      const layer = ContextLength.layer(ContextLength.truncate(), options(100)).pipe(
        Layer.provide(LanguageModel.layer(model))
      )
      yield* LanguageModel.generate(conversation).pipe(Effect.provide(layer))
      assert.strictEqual(requests[0]!.messages.length, 3)
    }))

  it("removes ContextLengthExceeded from the error type", () => {
    const model = scripted([]).model as unknown as LanguageModel.With<
      LlmError.ContextLengthExceeded | LlmError.ServerError,
      "R"
    >
    const handled = model.pipe(ContextLength.handle(ContextLength.truncate()))
    expectTypeOf(handled).toEqualTypeOf<LanguageModel.With<LlmError.ServerError | LlmError.InvalidRequest, "R">>()
    const program = handled.generate({ messages: [] }).pipe(
      // @ts-expect-error ContextLengthExceeded can no longer happen
      Effect.catchTag("ContextLengthExceeded", () => Effect.void)
    )
    assert.isDefined(program)
    const big = model as unknown as LanguageModel.With<LlmError.Overloaded | LlmError.ContextLengthExceeded, "B">
    expectTypeOf(model.pipe(ContextLength.handle(ContextLength.larger(big)))).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.Overloaded | LlmError.InvalidRequest, "R" | "B">
    >()
  })
})

const refuses = (f: () => unknown, option: string) => refusesFor("ContextLength")(option, f)

describe("ContextLength options", () => {
  const { model } = scripted([])
  const builds: ReadonlyArray<
    (strategy: ContextLength.Strategy<any, any>, options?: ContextLength.Options) => unknown
  > = [
    (strategy, options) => ContextLength.handle(model, strategy, options),
    (strategy, options) => ContextLength.handle(strategy, options),
    (strategy, options) => ContextLength.layer(strategy, options)
  ]

  it("chunk and larger refuse options they cannot work with", () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      refuses(() => ContextLength.chunk({ concurrency }), "concurrency")
    }
    refuses(() => ContextLength.chunk({ combine: "join" as unknown as typeof ContextLength.defaultCombine }), "combine")
    refuses(() => ContextLength.larger(undefined as unknown as typeof model), "model")
  })

  it("handle and layer check a strategy built by hand, and the options, when they are called", () => {
    const chunk = ContextLength.chunk()
    const cases: ReadonlyArray<readonly [ContextLength.Strategy, ContextLength.Options | undefined, string]> = [
      [{ ...chunk, concurrency: 0 } as ContextLength.Strategy, undefined, "strategy.concurrency"],
      [
        { _tag: "Chunk", combine: ContextLength.defaultCombine } as ContextLength.Strategy,
        undefined,
        "strategy.concurrency"
      ],
      [{ _tag: "Chunk", concurrency: 2 } as ContextLength.Strategy, undefined, "strategy.combine"],
      [{ _tag: "Larger", model: undefined } as unknown as ContextLength.Strategy, undefined, "strategy.model"],
      [{ _tag: "Shrink" } as unknown as ContextLength.Strategy, undefined, "strategy._tag"],
      [undefined as unknown as ContextLength.Strategy, undefined, "strategy"],
      [ContextLength.truncate(), { contextWindow: 128_000 } as unknown as ContextLength.Options, "contextWindow"],
      [
        ContextLength.truncate(),
        { countTokens: "gpt" } as unknown as ContextLength.Options,
        "countTokens"
      ]
    ]
    for (const [strategy, options, option] of cases) {
      for (const build of builds) refuses(() => build(strategy, options), option)
    }
  })

  it("accepts the defaults and the boundary values", () => {
    const strategies: ReadonlyArray<ContextLength.Strategy<any, any>> = [
      ContextLength.truncate(),
      ContextLength.chunk(),
      ContextLength.chunk({ concurrency: 1, combine: ContextLength.defaultCombine }),
      { _tag: "Chunk", combine: ContextLength.defaultCombine, concurrency: 8 } as ContextLength.Strategy,
      ContextLength.larger(model)
    ]
    for (const strategy of strategies) {
      for (const build of builds) build(strategy, options(1_000))
    }
    assert.strictEqual((ContextLength.chunk() as { readonly concurrency: number }).concurrency, 1)
  })
})
