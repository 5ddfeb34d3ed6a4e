import * as CallEvent from "@effect-llm/core/CallEvent"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import { InvalidRequest, Overloaded, ServerError } from "@effect-llm/core/LlmError"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import * as Tiering from "@effect-llm/core/Tiering"
import * as UsageLedger from "@effect-llm/core/UsageLedger"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { apis, runEvents, takeEvents } from "./streamApis.js"

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

/** One streamed reply: its text chunks, then a `Finish` (unless `finish: false`) or, after the chunks, `fail`. */
interface Reply {
  readonly chunks: ReadonlyArray<string>
  readonly finishReason?: Completion["finishReason"]
  readonly fail?: ServerError | InvalidRequest
  readonly finish?: false
}

/**
 * A model that streams scripted replies through both APIs (its `streamEach` is its own, no `Stream`),
 * counting the calls each API got. A reply with `finish: false` ends without a `Finish` (its
 * `streamEach` still succeeds: a broken model, for the cascade's "no answer" branch).
 */
const streaming = (model: string, replies: Array<Reply>) => {
  const calls = { stream: 0, streamEach: 0 }
  const next = () => replies.length > 1 ? replies.shift()! : replies[0]!
  const eventsOf = (reply: Reply): Array<StreamEvent> => [
    ...reply.chunks.map((text) => ({ _tag: "TextDelta" as const, text })),
    ...(reply.fail !== undefined || reply.finish === false
      ? []
      : [{ _tag: "Finish" as const, completion: answer(model, reply.chunks.join(""), reply.finishReason) }])
  ]
  return {
    calls,
    model: LanguageModel.make<ServerError | InvalidRequest, never>({
      provider: "openai",
      model,
      generate: () => Effect.dieMessage("streams only"),
      stream: () =>
        Stream.suspend(() => {
          calls.stream++
          const reply = next()
          const events = Stream.fromIterable(eventsOf(reply))
          return reply.fail === undefined ? events : Stream.concat(events, Stream.fail(reply.fail))
        }),
      streamEach: (_, onEvent) =>
        Effect.suspend(() => {
          calls.streamEach++
          const reply = next()
          return Effect.zipRight(
            Effect.forEach(eventsOf(reply), onEvent, { discard: true }),
            reply.fail === undefined
              ? Effect.succeed(answer(model, reply.chunks.join(""), reply.finishReason))
              : Effect.fail(reply.fail)
          )
        })
    })
  }
}

const serverError = () => new ServerError({ provider: "openai", model: "gpt-5-mini", status: 503 })

/**
 * One log of a streamed call: its `TierSelected` events (`tier:<tier>:<reason>`) and the events the
 * caller got (`delta:<text>`, `finish:<tier>`), in the order they happened.
 */
const logged = () => {
  const log: Array<string> = []
  return {
    log,
    listen: CallEvent.listen((event) =>
      Effect.sync(() => void (event._tag === "TierSelected" && log.push(`tier:${event.tier}:${event.reason}`)))
    ),
    onEvent: (event: StreamEvent) =>
      Effect.sync(() =>
        void log.push(event._tag === "TextDelta" ? `delta:${event.text}` : `finish:${event.completion.tier}`)
      )
  }
}

const lastCompletion = (events: ReadonlyArray<StreamEvent>): Completion => {
  const last = events[events.length - 1]!
  assert.strictEqual(last._tag, "Finish")
  return (last as { readonly completion: Completion }).completion
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
    }))

  for (const api of apis) {
    it.effect(`streams are routed and their Finish tagged; TierSelected comes first (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [{ chunks: ["a", "b"] }])
        const large = streaming("gpt-5", [{ chunks: ["c"] }])
        const model = Tiering.route({ tiers: { small: small.model, large: large.model }, defaultTier: "small" })
        const { listen, log, onEvent } = logged()
        const hi = [{ role: "user" as const, content: "hi" }]
        const a = yield* runEvents(model, { messages: hi, tier: "large" }, api, onEvent).pipe(listen)
        assert.strictEqual(lastCompletion(a).tier, "large")
        assert.strictEqual(lastCompletion(a).model, "gpt-5")
        const b = yield* runEvents(model, { messages: hi }, api, onEvent).pipe(listen)
        assert.strictEqual(lastCompletion(b).tier, "small")
        const c = yield* runEvents(model, { messages: hi, metadata: { task: "code" } }, api, onEvent).pipe(listen)
        assert.strictEqual(lastCompletion(c).tier, "large")
        assert.deepStrictEqual(log, [
          "tier:large:requested",
          "delta:c",
          "finish:large",
          "tier:small:classifier",
          "delta:a",
          "delta:b",
          "finish:small",
          "tier:large:classifier",
          "delta:c",
          "finish:large"
        ])
        // a tier nobody named fails before anything is emitted
        for (const tier of ["huge", "toString"]) {
          const error = yield* Effect.flip(runEvents(model, { messages: hi, tier }, api, onEvent).pipe(listen))
          assert.strictEqual(error._tag, "InvalidRequest")
        }
        assert.strictEqual(log.length, 10)
        // each API reaches the tier through the same API
        const calls = api === "stream" ? { stream: 1, streamEach: 0 } : { stream: 0, streamEach: 1 }
        assert.deepStrictEqual(small.calls, calls)
        assert.deepStrictEqual(large.calls, { stream: 2 * calls.stream, streamEach: 2 * calls.streamEach })
      }))

    it.effect(`a routed stream's failure passes through; a Finish already tagged is kept (${api})`, () =>
      Effect.gen(function*() {
        const down = streaming("gpt-5-mini", [{ chunks: ["x"], fail: serverError() }])
        const model = Tiering.route({ tiers: { small: down.model }, defaultTier: "small" })
        const seen: Array<string> = []
        const error = yield* Effect.flip(
          runEvents(model, { messages: [] }, api, (e) => Effect.sync(() => void seen.push(e._tag)))
        )
        assert.strictEqual(error._tag, "ServerError")
        assert.deepStrictEqual(seen, ["TextDelta"])
        const tagged = LanguageModel.make({
          provider: "openai",
          model: "gpt-5",
          generate: ok("gpt-5"),
          stream: () => Stream.make({ _tag: "Finish" as const, completion: { ...answer("gpt-5", "t"), tier: "big" } })
        })
        const routed = Tiering.route({ tiers: { big: tagged }, defaultTier: "big" })
        const events = yield* runEvents(routed, { messages: [] }, api)
        assert.deepStrictEqual(lastCompletion(events), { ...answer("gpt-5", "t"), tier: "big" })
      }))
  }

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

  for (const api of apis) {
    it.effect(`streams: buffered and checked with accept; escalate before the first token without (${api})`, () =>
      Effect.gen(function*() {
        const small = scripted("gpt-5-mini", [ok("gpt-5-mini", "meh"), ok("gpt-5-mini", "a long enough answer")])
        const large = scripted("gpt-5", [ok("gpt-5")])
        const model = Tiering.cascade({ small: small.model, large: large.model, accept: (c) => c.text.length > 10 })
        const first = yield* runEvents(model, { messages: [] }, api)
        assert.deepStrictEqual(first.map((e) => e._tag === "TextDelta" ? e.text : e.completion.tier), [
          "a good and complete answer",
          "large"
        ])
        const second = yield* runEvents(model, { messages: [] }, api)
        assert.deepStrictEqual(second.map((e) => e._tag === "TextDelta" ? e.text : e.completion.tier), [
          "a long enough answer",
          "small"
        ])
        const down = scripted("gpt-5-mini", [
          () => Effect.fail(new ServerError({ provider: "openai", model: "m", status: 500 }))
        ])
        const unchecked = Tiering.cascade({ small: down.model, large: large.model })
        const third = yield* runEvents(unchecked, { messages: [] }, api)
        assert.strictEqual(lastCompletion(third).tier, "large")
      }))

    it.effect(`streams with accept: the small answer is held until checked, then replayed (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [{ chunks: ["a long ", "enough ", "answer"] }])
        const large = streaming("gpt-5", [{ chunks: ["x"] }])
        const { listen, log, onEvent } = logged()
        const model = Tiering.cascade({
          small: small.model,
          large: large.model,
          accept: (c) => Effect.sync(() => log.push(`check:${c.text}:${c.tier}`) > 0 && c.text.length > 10)
        })
        const events = yield* runEvents(model, { messages: [] }, api, onEvent).pipe(listen)
        assert.deepStrictEqual(log, [
          "tier:small:cascade",
          // the check sees the small model's own completion, before any event reached the caller
          "check:a long enough answer:undefined",
          "delta:a long ",
          "delta:enough ",
          "delta:answer",
          "finish:small"
        ])
        assert.deepStrictEqual(lastCompletion(events), {
          ...answer("gpt-5-mini", "a long enough answer"),
          tier: "small"
        })
        assert.deepStrictEqual(large.calls, { stream: 0, streamEach: 0 })
        assert.deepStrictEqual(
          small.calls,
          api === "stream" ? { stream: 1, streamEach: 0 } : { stream: 0, streamEach: 1 }
        )
      }))

    it.effect(`streams with accept: a rejected answer's events never reach the caller (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [{ chunks: ["m", "e", "h"] }])
        const large = streaming("gpt-5", [{ chunks: ["a good ", "answer"] }])
        const { listen, log, onEvent } = logged()
        const model = Tiering.cascade({
          small: small.model,
          large: large.model,
          accept: (c) => Effect.sync(() => log.push(`check:${c.text}`) > 0 && c.text.length > 10)
        })
        const events = yield* runEvents(model, { messages: [] }, api, onEvent).pipe(listen)
        assert.deepStrictEqual(log, [
          "tier:small:cascade",
          "check:meh",
          "tier:large:escalated: answer rejected",
          "delta:a good ",
          "delta:answer",
          "finish:large"
        ])
        // as for generate: the large model's completion, tagged, with the rejected small call in its attempts
        // (no catalog in context and no costUsd on either: the cost stays unset)
        assert.deepStrictEqual(lastCompletion(events), {
          ...answer("gpt-5", "a good answer"),
          tier: "large",
          attempts: [
            { provider: "openai", model: "gpt-5-mini", outcome: "success" },
            { provider: "openai", model: "gpt-5", outcome: "success" }
          ]
        })
        // a caller that leaves after the first event gets the large model's, not the small one's
        const first = yield* takeEvents(model, { messages: [] }, api, 1)
        assert.deepStrictEqual(first, [{ _tag: "TextDelta", text: "a good " }])
      }))

    it.effect(`streams with accept: a failure, even after text, escalates per escalateOn (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [
          { chunks: ["par", "tial"], fail: serverError() },
          { chunks: ["half"], fail: new InvalidRequest({ provider: "openai", model: "gpt-5-mini", status: 400 }) },
          { chunks: ["no ", "finish"], finish: false }
        ])
        const large = streaming("gpt-5", [{ chunks: ["big"] }])
        const { listen, log, onEvent } = logged()
        const model = Tiering.cascade({
          small: small.model,
          large: large.model,
          accept: () => true,
          escalateOn: (e) => e._tag !== "InvalidRequest"
        })
        const escalated = yield* runEvents(model, { messages: [] }, api, onEvent).pipe(listen)
        assert.strictEqual(lastCompletion(escalated).tier, "large")
        const error = yield* Effect.flip(runEvents(model, { messages: [] }, api, onEvent).pipe(listen))
        assert.strictEqual(error._tag, "InvalidRequest")
        // a small answer without a Finish is no answer
        const noAnswer = yield* runEvents(model, { messages: [] }, api, onEvent).pipe(listen)
        assert.strictEqual(lastCompletion(noAnswer).tier, "large")
        assert.deepStrictEqual(log, [
          "tier:small:cascade",
          "tier:large:escalated after ServerError",
          "delta:big",
          "finish:large",
          "tier:small:cascade",
          "tier:small:cascade",
          "tier:large:escalated: no answer",
          "delta:big",
          "finish:large"
        ])
      }))

    it.effect(`streams without accept: the small answer streams live; only a failure before it escalates (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [
          { chunks: ["a", "b"] },
          // truncated: `generate`'s default check would reject it, a stream has none
          { chunks: ["cut"], finishReason: "length" },
          { chunks: [], fail: serverError() },
          { chunks: ["a"], fail: serverError() },
          { chunks: [], fail: new InvalidRequest({ provider: "openai", model: "gpt-5-mini", status: 400 }) }
        ])
        const large = streaming("gpt-5", [{ chunks: ["big"] }])
        const { listen, log, onEvent } = logged()
        const model = Tiering.cascade({
          small: small.model,
          large: large.model,
          escalateOn: (e) => e._tag !== "InvalidRequest"
        })
        const run = () => runEvents(model, { messages: [] }, api, onEvent).pipe(listen)
        const live = yield* run()
        assert.deepStrictEqual(lastCompletion(live), { ...answer("gpt-5-mini", "ab"), tier: "small" })
        const truncated = yield* run()
        assert.deepStrictEqual(lastCompletion(truncated).finishReason, "length")
        assert.strictEqual(lastCompletion(truncated).tier, "small")
        const escalated = yield* run()
        assert.strictEqual(lastCompletion(escalated).tier, "large")
        assert.strictEqual((yield* Effect.flip(run()))._tag, "ServerError")
        assert.strictEqual((yield* Effect.flip(run()))._tag, "InvalidRequest")
        assert.deepStrictEqual(log, [
          "tier:small:cascade",
          "delta:a",
          "delta:b",
          "finish:small",
          "tier:small:cascade",
          "delta:cut",
          "finish:small",
          "tier:small:cascade",
          "tier:large:escalated after ServerError",
          "delta:big",
          "finish:large",
          // failed after its first event: not escalated
          "tier:small:cascade",
          "delta:a",
          "tier:small:cascade"
        ])
        const calls = api === "stream" ? { stream: 1, streamEach: 0 } : { stream: 0, streamEach: 1 }
        assert.deepStrictEqual(large.calls, calls)
        assert.deepStrictEqual(small.calls, { stream: 5 * calls.stream, streamEach: 5 * calls.streamEach })
        // the small model's events reach the caller as they come: one event, then the caller leaves
        const again = streaming("gpt-5-mini", [{ chunks: ["a", "b"] }])
        const first = yield* takeEvents(
          Tiering.cascade({ small: again.model, large: large.model }),
          { messages: [] },
          api,
          1
        )
        assert.deepStrictEqual(first, [{ _tag: "TextDelta", text: "a" }])
      }))

    it.effect(`custom tier names tag streamed answers (${api})`, () =>
      Effect.gen(function*() {
        const small = streaming("gpt-5-mini", [{ chunks: ["meh"] }, { chunks: ["fine answer, long"] }])
        const large = streaming("gpt-5", [{ chunks: ["big"] }])
        const names = { small: "fast", large: "smart" }
        const checked = Tiering.cascade({
          small: small.model,
          large: large.model,
          names,
          accept: (c) => c.text.length > 10
        })
        assert.strictEqual(lastCompletion(yield* runEvents(checked, { messages: [] }, api)).tier, "smart")
        assert.strictEqual(lastCompletion(yield* runEvents(checked, { messages: [] }, api)).tier, "fast")
        const live = Tiering.cascade({ small: small.model, large: large.model, names })
        assert.strictEqual(lastCompletion(yield* runEvents(live, { messages: [] }, api)).tier, "fast")
      }))
  }

  it.effect("streamEach holds the small answer's events in the order they ran, not the order they were built", () =>
    Effect.gen(function*() {
      // a model may build an event's effect before running the ones before it (as ContentFilter does)
      const small = LanguageModel.make({
        provider: "openai",
        model: "gpt-5-mini",
        generate: ok("gpt-5-mini"),
        stream: () => Stream.dieMessage("streamEach only"),
        streamEach: (_, onEvent) => {
          const completion = answer("gpt-5-mini", "built out of order")
          const finish = Effect.as(onEvent({ _tag: "Finish", completion }), completion)
          return Effect.zipRight(onEvent({ _tag: "TextDelta", text: completion.text }), finish)
        }
      })
      const model = Tiering.cascade({ small, large: streaming("gpt-5", [{ chunks: ["x"] }]).model, accept: () => true })
      const events = yield* runEvents(model, { messages: [] }, "streamEach")
      assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "Finish"])
    }))

  it.effect("streams: the ledger sees the same tiers and totals through both APIs", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const api of apis) {
        const small = streaming("gpt-5-mini", [
          { chunks: ["a good and complete answer"] },
          { chunks: ["meh"] },
          { chunks: ["a good and complete answer"] }
        ])
        const large = streaming("gpt-5", [{ chunks: ["a good and complete answer"] }])
        const ledgerLayer = Layer.mergeAll(UsageLedger.layerMemory(), ModelCatalog.layer)
        const result = yield* Effect.gen(function*() {
          const model = Tiering.cascade({ small: small.model, large: large.model, accept: (c) => c.text.length > 10 })
            .pipe(UsageLedger.track({ savingsBaseline: { provider: "openai", model: "gpt-5" } }))
          for (let i = 0; i < 3; i++) yield* runEvents(model, { messages: [], user: "u" }, api)
          const ledger = yield* UsageLedger.UsageLedger
          const byTier = yield* ledger.totalsBy("tier")
          return {
            totals: yield* ledger.totals(),
            small: byTier.get("small")?.calls,
            large: byTier.get("large")?.calls
          }
        }).pipe(Effect.provide(ledgerLayer))
        assert.strictEqual(result.small, 2)
        assert.strictEqual(result.large, 1)
        // as for generate: the escalation's cost includes the rejected small answer
        const miniCost = (1_000 * 0.25 + 200 * 2) / 1e6
        const fullCost = (1_000 * 1.25 + 200 * 10) / 1e6
        assert.closeTo(result.totals.costUsd, 3 * miniCost + fullCost, 1e-12)
        seen.push(result)
      }
      assert.deepStrictEqual(seen[0], seen[1])
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
