import type { Completion } from "@effect-llm/core/Completion"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import { apis, runEvents } from "./streamApis.js"

const usage = (
  inputTokens: number,
  cachedInputTokens: number,
  cacheWriteInputTokens: number,
  outputTokens: number,
  reasoningTokens = 0
) => ({ inputTokens, cachedInputTokens, cacheWriteInputTokens, outputTokens, reasoningTokens })

const completion = (provider: string, servedModel: string, u = usage(1000, 0, 0, 100)): Completion => ({
  text: "ok",
  finishReason: "stop",
  usage: u,
  provider,
  model: servedModel.replace(/-\d{4}-\d{2}-\d{2}$/, ""),
  servedModel,
  attempts: []
})

const fake = (provider: string, served: string, u?: ReturnType<typeof usage>) =>
  LanguageModel.make({
    provider,
    model: served,
    generate: () => Effect.succeed(completion(provider, served, u)),
    stream: () =>
      Stream.make(
        { _tag: "TextDelta" as const, text: "ok" },
        { _tag: "Finish" as const, completion: completion(provider, served, u) }
      )
  })

describe("ModelCatalog", () => {
  it.effect("resolves models, aliases and dated snapshots", () =>
    Effect.gen(function*() {
      const catalog = yield* ModelCatalog.ModelCatalog
      assert.strictEqual((yield* catalog.lookup("openai", "gpt-5-mini")).model, "gpt-5-mini")
      assert.strictEqual((yield* catalog.lookup("openai", "gpt-5-mini-2026-08-07")).model, "gpt-5-mini")
      assert.strictEqual((yield* catalog.lookup("anthropic", "claude-sonnet-4-5-20250929")).model, "claude-sonnet-4-5")
      assert.strictEqual((yield* catalog.lookup("anthropic", "claude-3-5-haiku-latest")).model, "claude-3-5-haiku")
      for (const name of ["gpt-5", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"]) {
        assert.isTrue(Option.isSome(catalog.find("openai", name)), name)
      }
      for (const name of ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku"]) {
        assert.isTrue(Option.isSome(catalog.find("anthropic", name)), name)
      }
      // a model of the other provider is not found under this one
      assert.isTrue(Option.isNone(catalog.find("anthropic", "gpt-5")))
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it("answers the same for every spelling, repeated or not, past the names it remembers", () => {
    const catalog = ModelCatalog.make(ModelCatalog.builtIn)
    const spellings = ["gpt-5-mini", "GPT-5-Mini", "gpt-5-mini-2026-08-07", "gpt-99"]
    const first = spellings.map((name) => Option.map(catalog.find("openai", name), (info) => info.model))
    for (let i = 0; i < 1_500; i++) assert.isTrue(Option.isNone(catalog.find("openai", `unknown-${i}`)))
    const again = spellings.map((name) => Option.map(catalog.find("OpenAI", name), (info) => info.model))
    const later = spellings.map((name) => Option.map(catalog.find("openai", name), (info) => info.model))
    const expected = [Option.some("gpt-5-mini"), Option.some("gpt-5-mini"), Option.some("gpt-5-mini"), Option.none()]
    assert.deepStrictEqual(first, expected)
    assert.deepStrictEqual(again, expected)
    assert.deepStrictEqual(later, expected)
  })

  it.effect("an unknown model is a typed UnknownModel", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ModelCatalog.lookup("openai", "gpt-99"))
      assert.strictEqual(error._tag, "UnknownModel")
      assert.strictEqual(error.model, "gpt-99")
      expectTypeOf(error).toEqualTypeOf<ModelCatalog.UnknownModel>()
      const costError = yield* Effect.flip(ModelCatalog.costOf("openai", "nope", usage(1, 0, 0, 1)))
      assert.strictEqual(costError._tag, "UnknownModel")
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it("cost is exact to the catalog, incl. cached, cache-write and reasoning", () => {
    const info: ModelCatalog.ModelInfo = {
      provider: "x",
      model: "m",
      pricing: { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, reasoning: 20 },
      contextWindow: 1000,
      maxOutputTokens: 100,
      pricesAsOf: "2026-01-01"
    }
    // 10_000 input of which 4_000 cached and 1_000 cache-write: 5_000 uncached
    const c = ModelCatalog.cost(usage(10_000, 4_000, 1_000, 2_000, 500), info)
    const expected = (5_000 * 3 + 4_000 * 0.3 + 1_000 * 3.75 + 1_500 * 15 + 500 * 20) / 1e6
    assert.closeTo(c, expected, 1e-15)
    // pipeable form
    assert.strictEqual(ModelCatalog.cost(info)(usage(1_000_000, 0, 0, 0)), 3)
    // without explicit cacheWrite / reasoning prices: input and output prices
    const plain = { ...info, pricing: { input: 2, cachedInput: 0.5, output: 8 } }
    assert.closeTo(
      ModelCatalog.cost(usage(3_000, 1_000, 1_000, 1_000, 400), plain),
      (1_000 * 2 + 1_000 * 0.5 + 1_000 * 2 + 1_000 * 8) / 1e6,
      1e-15
    )
  })

  it.effect("built-in prices: gpt-5-mini with cached input, claude-sonnet-4-5 with cache writes", () =>
    Effect.gen(function*() {
      const mini = yield* ModelCatalog.costOf("openai", "gpt-5-mini", usage(1_000_000, 400_000, 0, 100_000))
      assert.closeTo(mini, 0.6 * 0.25 + 0.4 * 0.025 + 0.1 * 2, 1e-12)
      const sonnet = yield* ModelCatalog.costOf(
        "anthropic",
        "claude-sonnet-4-5",
        usage(1_000_000, 200_000, 300_000, 10_000)
      )
      assert.closeTo(sonnet, 0.5 * 3 + 0.2 * 0.3 + 0.3 * 3.75 + 0.01 * 15, 1e-12)
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it.effect("layerWith extends and overrides the built-in catalog", () =>
    Effect.gen(function*() {
      const catalog = yield* ModelCatalog.ModelCatalog
      assert.strictEqual((yield* catalog.lookup("openai", "gpt-5")).pricing.input, 99)
      assert.strictEqual((yield* catalog.lookup("local", "llama")).contextWindow, 8192)
      assert.strictEqual((yield* catalog.lookup("openai", "gpt-4o")).pricing.input, 2.5)
    }).pipe(Effect.provide(ModelCatalog.layerWith([
      {
        provider: "openai",
        model: "gpt-5",
        pricing: { input: 99, cachedInput: 9, output: 999 },
        contextWindow: 400_000,
        maxOutputTokens: 128_000,
        pricesAsOf: "2026-11-01"
      },
      {
        provider: "local",
        model: "llama",
        pricing: { input: 0, cachedInput: 0, output: 0 },
        contextWindow: 8192,
        maxOutputTokens: 2048,
        pricesAsOf: "2026-11-01"
      }
    ]))))

  const fsWith = (files: Record<string, string>) =>
    FileSystem.layerNoop({
      readFileString: (path) =>
        path in files
          ? Effect.succeed(files[path]!)
          : Effect.fail(
            new PlatformError.SystemError({
              reason: "NotFound",
              module: "FileSystem",
              method: "readFileString",
              pathOrDescriptor: path
            })
          )
    })

  it.effect("fromJson decodes a catalog file; bad input is a typed CatalogError", () =>
    Effect.gen(function*() {
      const files = {
        "good.json": JSON.stringify({
          models: [{
            provider: "acme",
            model: "acme-1",
            aliases: ["acme-latest"],
            pricing: { input: 1, cachedInput: 0.1, output: 2 },
            contextWindow: 1000,
            maxOutputTokens: 100,
            pricesAsOf: "2026-10-01"
          }]
        }),
        "negative.json": JSON.stringify([{
          provider: "acme",
          model: "acme-1",
          pricing: { input: -1, cachedInput: 0.1, output: 2 },
          contextWindow: 1000,
          maxOutputTokens: 100,
          pricesAsOf: "2026-10-01"
        }]),
        "date.json": JSON.stringify([{
          provider: "acme",
          model: "acme-1",
          pricing: { input: 1, cachedInput: 0.1, output: 2 },
          contextWindow: 1000,
          maxOutputTokens: 100,
          pricesAsOf: "October"
        }]),
        "syntax.json": "{ not json"
      }
      const info = yield* ModelCatalog.lookup("acme", "acme-latest").pipe(
        Effect.provide(ModelCatalog.fromJson("good.json").pipe(Layer.provide(fsWith(files))))
      )
      assert.strictEqual(info.model, "acme-1")
      // extends the built-in catalog by default
      yield* ModelCatalog.lookup("openai", "gpt-5").pipe(
        Effect.provide(ModelCatalog.fromJson("good.json").pipe(Layer.provide(fsWith(files))))
      )
      const replaced = yield* Effect.flip(
        ModelCatalog.lookup("openai", "gpt-5").pipe(
          Effect.provide(ModelCatalog.fromJson("good.json", { replace: true }).pipe(Layer.provide(fsWith(files))))
        )
      )
      assert.strictEqual(replaced._tag, "UnknownModel")
      for (
        const [path, needle] of [["negative.json", "input"], ["date.json", "YYYY-MM-DD"], ["syntax.json", "JSON"], [
          "missing.json",
          "missing.json"
        ]] as const
      ) {
        const error = yield* Effect.flip(
          ModelCatalog.lookup("acme", "acme-1").pipe(
            Effect.provide(ModelCatalog.fromJson(path).pipe(Layer.provide(fsWith(files))))
          )
        )
        assert.strictEqual(error._tag, "CatalogError", path)
        if (error._tag === "CatalogError") {
          assert.strictEqual(error.source, path)
          assert.include(error.message, needle)
        }
      }
    }))

  for (const api of apis) {
    it.effect(`withCost fills costUsd on generate and on the stream's Finish (${api})`, () =>
      Effect.gen(function*() {
        const u = usage(2_000, 1_000, 0, 500)
        const model = fake("openai", "gpt-5-mini-2026-08-07", u).pipe(ModelCatalog.withCost())
        const expected = (1_000 * 0.25 + 1_000 * 0.025 + 500 * 2) / 1e6
        const c = yield* model.generate({ messages: [] })
        assert.closeTo(c.costUsd!, expected, 1e-15)
        const events = yield* runEvents(model, { messages: [] }, api)
        const last = events[events.length - 1]!
        assert.strictEqual(last._tag, "Finish")
        if (last._tag === "Finish") assert.closeTo(last.completion.costUsd!, expected, 1e-15)
      }).pipe(Effect.provide(ModelCatalog.layer)))

    it.effect(`withCost: unknown models are left unpriced (never zero), or fail when asked (${api})`, () =>
      Effect.gen(function*() {
        const omit = fake("acme", "mystery").pipe(ModelCatalog.withCost())
        const c = yield* omit.generate({ messages: [] })
        assert.isUndefined(c.costUsd)
        const strict = ModelCatalog.withCost(fake("acme", "mystery"), { onUnknown: "fail" })
        const error = yield* Effect.flip(strict.generate({ messages: [] }))
        assert.strictEqual(error._tag, "UnknownModel")
        const streamError = yield* Effect.flip(runEvents(strict, { messages: [] }, api))
        assert.strictEqual(streamError._tag, "UnknownModel")
        expectTypeOf(strict).toEqualTypeOf<LanguageModel.With<ModelCatalog.UnknownModel, ModelCatalog.ModelCatalog>>()
        expectTypeOf(omit).toEqualTypeOf<LanguageModel.With<never, ModelCatalog.ModelCatalog>>()
      }).pipe(Effect.provide(ModelCatalog.layer)))
  }

  it.effect("withCost fills costUsd on streamEach's completion and on the one Finish given to onEvent", () =>
    Effect.gen(function*() {
      const u = usage(2_000, 1_000, 0, 500)
      const model = fake("openai", "gpt-5-mini-2026-08-07", u).pipe(ModelCatalog.withCost())
      const expected = (1_000 * 0.25 + 1_000 * 0.025 + 500 * 2) / 1e6
      const seen: Array<StreamEvent> = []
      const c = yield* model.streamEach({ messages: [] }, (event) => Effect.sync(() => void seen.push(event)))
      assert.closeTo(c.costUsd!, expected, 1e-15)
      // the text, then one Finish (the priced one: the Finish of the call below is held back)
      assert.deepStrictEqual(seen.map((event) => event._tag), ["TextDelta", "Finish"])
      const finish = seen[1]!
      if (finish._tag === "Finish") {
        assert.closeTo(finish.completion.costUsd!, expected, 1e-15)
        assert.deepStrictEqual(finish.completion, c)
      }
      // the same through the Effect stream
      const events = yield* runEvents(model, { messages: [] }, "stream")
      assert.deepStrictEqual(events, seen)
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it.effect("withCost onUnknown \"fail\": streamEach fails with UnknownModel and onEvent never sees a Finish", () =>
    Effect.gen(function*() {
      const strict = ModelCatalog.withCost(fake("acme", "mystery"), { onUnknown: "fail" })
      const seen: Array<StreamEvent> = []
      const error = yield* Effect.flip(
        strict.streamEach({ messages: [] }, (event) => Effect.sync(() => void seen.push(event)))
      )
      assert.strictEqual(error._tag, "UnknownModel")
      assert.strictEqual(error.model, "mystery")
      expectTypeOf(error).toEqualTypeOf<ModelCatalog.UnknownModel>()
      assert.deepStrictEqual(seen, [{ _tag: "TextDelta", text: "ok" }])
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it.effect("layerCost wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const c = yield* LanguageModel.generate({ messages: [] })
      assert.isNumber(c.costUsd)
      assert.isAbove(c.costUsd!, 0)
    }).pipe(
      Effect.provide(
        ModelCatalog.layerCost.pipe(
          Layer.provide(LanguageModel.layer(fake("anthropic", "claude-haiku-4-5-20251001"))),
          Layer.provide(ModelCatalog.layer)
        )
      )
    ))
})
