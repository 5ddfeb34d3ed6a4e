import * as CallEvent from "@effect-llm/core/CallEvent"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import { InvalidRequest, Overloaded, ServerError } from "@effect-llm/core/LlmError"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import * as Tiering from "@effect-llm/core/Tiering"
import * as UsageLedger from "@effect-llm/core/UsageLedger"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { refusesFor } from "./invalidOptionsFixtures.js"

const answer = (model: string, text: string, finishReason: Completion["finishReason"] = "stop"): Completion => ({
  text,
  finishReason,
  usage: { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 200, reasoningTokens: 0 },
  provider: "openai",
  model,
  servedModel: `${model}-2026-08-07`,
  attempts: [{ provider: "openai", model, outcome: "success" }]
})

const scripted = <E = never>(
  model: string,
  replies: Array<(request: GenerateRequest) => Effect.Effect<Completion, E>>
) => {
  const calls: Array<GenerateRequest> = []
  const next = (request: GenerateRequest) => {
    calls.push(request)
    const reply = replies.length > 1 ? replies.shift()! : replies[0]!
    return reply(request)
  }
  return {
    calls,
    model: LanguageModel.make<E, never>({
      provider: "openai",
      model,
      generate: next,
      stream: (request) =>
        Stream.unwrap(
          Effect.map(next(request), (c) =>
            Stream.make({ _tag: "TextDelta" as const, text: c.text }, { _tag: "Finish" as const, completion: c }))
        )
    })
  }
}

const ok = (model: string, text = "a good and complete answer") => () => Effect.succeed(answer(model, text))

const collect = () => {
  const events: Array<CallEvent.CallEvent> = []
  return { events, listen: CallEvent.listen((event) => Effect.sync(() => void events.push(event))) }
}

describe("Tiering.route", () => {
  it.effect("uses the request's tier, else the classifier, else the default; tags the completion", () =>
    Effect.gen(function*() {
      const small = scripted("gpt-5-mini", [ok("gpt-5-mini")])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const model = Tiering.route({ tiers: { small: small.model, large: large.model }, defaultTier: "small" })
      const { events, listen } = collect()
      const a = yield* model.generate({ messages: [{ role: "user", content: "hi" }], tier: "large" }).pipe(listen)
      assert.strictEqual(a.tier, "large")
      const b = yield* model.generate({ messages: [{ role: "user", content: "hi" }] }).pipe(listen)
      assert.strictEqual(b.tier, "small")
      const c = yield* model.generate({
        messages: [{ role: "user", content: "prove it" }],
        metadata: { task: "reasoning" }
      }).pipe(listen)
      assert.strictEqual(c.tier, "large")
      const d = yield* model.generate({ messages: [{ role: "user", content: "x".repeat(20_000) }] }).pipe(listen)
      assert.strictEqual(d.tier, "large")
      assert.strictEqual(small.calls.length, 1)
      assert.strictEqual(large.calls.length, 3)
      assert.deepStrictEqual(
        events.flatMap((e) => e._tag === "TierSelected" ? [`${e.tier}:${e.reason}:${e.model}`] : []),
        ["large:requested:gpt-5", "small:classifier:gpt-5-mini", "large:classifier:gpt-5", "large:classifier:gpt-5"]
      )
      const unknown = yield* Effect.flip(model.generate({ messages: [], tier: "huge" }))
      assert.strictEqual(unknown._tag, "InvalidRequest")
      // names every object has are not tiers either
      for (const tier of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
        assert.strictEqual((yield* Effect.flip(model.generate({ messages: [], tier })))._tag, "InvalidRequest")
      }
      // streams are routed and tagged too
      const events2 = yield* Stream.runCollect(
        model.stream({ messages: [{ role: "user", content: "hi" }], tier: "large" })
      )
      const last = Chunk.unsafeLast(events2)
      assert.isTrue(last._tag === "Finish" && last.completion.tier === "large")
    }))

  it.effect("takes a pluggable classifier", () =>
    Effect.gen(function*() {
      const cheap = scripted("gpt-5-nano", [ok("gpt-5-nano")])
      const mid = scripted("gpt-5-mini", [ok("gpt-5-mini")])
      const model = Tiering.route({
        tiers: { cheap: cheap.model, mid: mid.model },
        defaultTier: "mid",
        classifier: (request) => request.feature === "autocomplete" ? "cheap" : "mid"
      })
      assert.strictEqual((yield* model.generate({ messages: [], feature: "autocomplete" })).tier, "cheap")
      assert.strictEqual((yield* model.generate({ messages: [], feature: "chat" })).tier, "mid")
    }))

  it("types: the union of the tiers' errors plus InvalidRequest", () => {
    const a = LanguageModel.make<ServerError, never>({
      provider: "p",
      model: "a",
      generate: () => Effect.fail(new ServerError({ provider: "p", model: "a", status: 500 })),
      stream: () => Stream.empty
    })
    const b = LanguageModel.make<Overloaded, never>({
      provider: "p",
      model: "b",
      generate: () => Effect.fail(new Overloaded({ provider: "p", model: "b", status: 529 })),
      stream: () => Stream.empty
    })
    const routed = Tiering.route({ tiers: { small: a, large: b }, defaultTier: "small" })
    expectTypeOf<LanguageModel.Error<typeof routed>>().toEqualTypeOf<ServerError | Overloaded | InvalidRequest>()
    const cascaded = Tiering.cascade({ small: a, large: b })
    expectTypeOf<LanguageModel.Error<typeof cascaded>>().toEqualTypeOf<ServerError | Overloaded>()
  })
})

describe("Tiering.cascade", () => {
  it.effect("answers with the small model when it is accepted", () =>
    Effect.gen(function*() {
      const small = scripted("gpt-5-mini", [ok("gpt-5-mini")])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const model = Tiering.cascade({ small: small.model, large: large.model, accept: (c) => c.text.length > 10 })
      const c = yield* model.generate({ messages: [{ role: "user", content: "hi" }] })
      assert.strictEqual(c.tier, "small")
      assert.strictEqual(large.calls.length, 0)
    }))

  it.effect("escalates when the check rejects the answer, counting the wasted call", () =>
    Effect.gen(function*() {
      const small = scripted("gpt-5-mini", [ok("gpt-5-mini", "meh")])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const { events, listen } = collect()
      const model = Tiering.cascade({
        small: small.model,
        large: large.model,
        accept: (c) => Effect.succeed(c.text.length > 10)
      })
      const c = yield* model.generate({ messages: [{ role: "user", content: "hi" }] }).pipe(listen)
      assert.strictEqual(c.tier, "large")
      assert.strictEqual(c.text, "a good and complete answer")
      assert.deepStrictEqual(c.attempts.map((a) => a.model), ["gpt-5-mini", "gpt-5"])
      const mini = ModelCatalog.cost(
        answer("gpt-5-mini", "").usage,
        Effect.runSync(ModelCatalog.lookup("openai", "gpt-5-mini").pipe(Effect.provide(ModelCatalog.layer)))
      )
      const full = ModelCatalog.cost(
        answer("gpt-5", "").usage,
        Effect.runSync(ModelCatalog.lookup("openai", "gpt-5").pipe(Effect.provide(ModelCatalog.layer)))
      )
      assert.closeTo(c.costUsd!, mini + full, 1e-15)
      assert.deepStrictEqual(
        events.flatMap((e) => e._tag === "TierSelected" ? [`${e.tier}:${e.reason}`] : []),
        ["small:cascade", "large:escalated: answer rejected"]
      )
    }).pipe(Effect.provide(ModelCatalog.layer)))

  it.effect("escalates on failure (per escalateOn); by default rejects truncated answers", () =>
    Effect.gen(function*() {
      const failing = scripted<ServerError | InvalidRequest>("gpt-5-mini", [
        () => Effect.fail(new ServerError({ provider: "openai", model: "gpt-5-mini", status: 503 })),
        () => Effect.fail(new InvalidRequest({ provider: "openai", model: "gpt-5-mini", status: 400 }))
      ])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const model = Tiering.cascade({
        small: failing.model,
        large: large.model,
        escalateOn: (e) => e._tag !== "InvalidRequest"
      })
      assert.strictEqual((yield* model.generate({ messages: [] })).tier, "large")
      const error = yield* Effect.flip(model.generate({ messages: [] }))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(large.calls.length, 1)
      const truncated = scripted("gpt-5-mini", [() => Effect.succeed(answer("gpt-5-mini", "cut", "length"))])
      const byDefault = Tiering.cascade({ small: truncated.model, large: large.model })
      assert.strictEqual((yield* byDefault.generate({ messages: [] })).tier, "large")
    }))

  it.effect("streams: buffered and checked with accept; escalate before the first token without", () =>
    Effect.gen(function*() {
      const small = scripted("gpt-5-mini", [ok("gpt-5-mini", "meh"), ok("gpt-5-mini", "a long enough answer")])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const model = Tiering.cascade({ small: small.model, large: large.model, accept: (c) => c.text.length > 10 })
      const first = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream({ messages: [] })))
      assert.deepStrictEqual(first.map((e) => e._tag === "TextDelta" ? e.text : e.completion.tier), [
        "a good and complete answer",
        "large"
      ])
      const second = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream({ messages: [] })))
      assert.deepStrictEqual(second.map((e) => e._tag === "TextDelta" ? e.text : e.completion.tier), [
        "a long enough answer",
        "small"
      ])
      const down = scripted("gpt-5-mini", [
        () => Effect.fail(new ServerError({ provider: "openai", model: "m", status: 500 }))
      ])
      const unchecked = Tiering.cascade({ small: down.model, large: large.model })
      const third = Chunk.toReadonlyArray(yield* Stream.runCollect(unchecked.stream({ messages: [] })))
      assert.isTrue(
        third.at(-1)!._tag === "Finish" && (third.at(-1) as { completion: Completion }).completion.tier === "large"
      )
    }))

  it.effect("the ledger shows what the cascade saved against always-large", () =>
    Effect.gen(function*() {
      const small = scripted("gpt-5-mini", [
        ok("gpt-5-mini"),
        ok("gpt-5-mini"),
        ok("gpt-5-mini", "meh"),
        ok("gpt-5-mini")
      ])
      const large = scripted("gpt-5", [ok("gpt-5")])
      const model = Tiering.cascade({ small: small.model, large: large.model, accept: (c) => c.text.length > 10 }).pipe(
        UsageLedger.track({ savingsBaseline: { provider: "openai", model: "gpt-5" } })
      )
      for (let i = 0; i < 4; i++) yield* model.generate({ messages: [], user: "u" })
      const ledger = yield* UsageLedger.UsageLedger
      const totals = yield* ledger.totals()
      const byTier = yield* ledger.totalsBy("tier")
      const miniCost = (1_000 * 0.25 + 200 * 2) / 1e6
      const fullCost = (1_000 * 1.25 + 200 * 10) / 1e6
      assert.strictEqual(byTier.get("small")!.calls, 3)
      assert.strictEqual(byTier.get("large")!.calls, 1)
      assert.closeTo(totals.costUsd, 4 * miniCost + fullCost, 1e-12)
      assert.closeTo(totals.baselineCostUsd, 4 * fullCost, 1e-12)
      assert.closeTo(totals.savedUsd, 3 * fullCost - 4 * miniCost, 1e-12)
    }).pipe(Effect.provide(Layer.mergeAll(UsageLedger.layerMemory(), ModelCatalog.layer))))
})

const refuses = (f: () => unknown, option: string) => refusesFor("Tiering")(option, f)

describe("Tiering options", () => {
  const mini = scripted("gpt-5-mini", [ok("gpt-5-mini")]).model
  const full = scripted("gpt-5", [ok("gpt-5")]).model
  const notAModel = { provider: "openai", model: "gpt-5" } as unknown as typeof mini
  type RouteOptions = Parameters<typeof Tiering.route>[0]

  it("defaultClassifier refuses a negative or unreadable largeAboveChars, and accepts 0", () => {
    for (const largeAboveChars of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      refuses(() => Tiering.defaultClassifier({ largeAboveChars }), "largeAboveChars")
    }
    const classify = Tiering.defaultClassifier({ largeAboveChars: 0 })
    assert.strictEqual(classify({ messages: [] }), "small")
    assert.strictEqual(classify({ messages: [{ role: "user", content: "a" }] }), "large")
  })

  it("route refuses tiers, a default tier and a classifier it cannot work with", () => {
    const cases: ReadonlyArray<readonly [RouteOptions, string]> = [
      [{ tiers: {}, defaultTier: "small" }, "tiers"],
      [{ tiers: { small: mini, large: notAModel }, defaultTier: "small" }, "tiers.large"],
      [{ tiers: { small: mini, large: full }, defaultTier: "medium" }, "defaultTier"],
      [{ tiers: { small: mini, large: full }, defaultTier: "toString" }, "defaultTier"],
      // the default classifier picks "small" and "large": every request would go to the default tier
      [
        { tiers: { cheap: mini, mid: full }, defaultTier: "mid", classifier: Tiering.defaultClassifier() },
        "classifier"
      ],
      [
        {
          tiers: { cheap: mini, mid: full },
          defaultTier: "mid",
          classifier: Tiering.defaultClassifier({ small: "cheap", large: "big" })
        },
        "classifier"
      ],
      [{ tiers: { small: mini }, defaultTier: "small", classifier: "small" as unknown as () => "small" }, "classifier"]
    ]
    for (const [options, option] of cases) refuses(() => Tiering.route(options), option)
  })

  it("route accepts one tier, and a default classifier naming its tiers", () => {
    assert.isTrue(LanguageModel.isLanguageModel(Tiering.route({ tiers: { only: mini }, defaultTier: "only" })))
    Tiering.route({
      tiers: { cheap: mini, mid: full },
      defaultTier: "mid",
      classifier: Tiering.defaultClassifier({ small: "cheap", large: "mid" })
    })
  })

  it("cascade refuses what is not a model, and tier names it cannot tell apart", () => {
    const cases: ReadonlyArray<readonly [Tiering.CascadeOptions<never, never, never, never>, string]> = [
      [{ small: notAModel, large: full }, "small"],
      [{ small: mini, large: undefined as unknown as typeof mini }, "large"],
      [{ small: mini, large: full, names: { small: "" } }, "names.small"],
      [{ small: mini, large: full, names: { large: "" } }, "names.large"],
      [{ small: mini, large: full, names: { large: "small" } }, "names.large"],
      [{ small: mini, large: full, names: { small: "x", large: "x" } }, "names.large"]
    ]
    for (const [options, option] of cases) refuses(() => Tiering.cascade(options), option)
    Tiering.cascade({ small: mini, large: full, names: { small: "s", large: "l" } })
  })
})
