import * as AlertSink from "@effect-llm/core/AlertSink"
import * as Budget from "@effect-llm/core/Budget"
import * as BudgetStore from "@effect-llm/core/BudgetStore"
import * as CallEvent from "@effect-llm/core/CallEvent"
import type { Completion, Usage } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import { BudgetExceeded, ServerError } from "@effect-llm/core/LlmError"
import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
import * as Tokenizer from "@effect-llm/core/Tokenizer"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { refusal, refusesFor } from "./invalidOptionsFixtures.js"
import { apis, runEvents, takeEvents } from "./streamApis.js"

const PROVIDER = "anthropic"
const MODEL = "claude-haiku-4-5"
const info = Option.getOrThrow(ModelCatalog.defaultCatalog.find(PROVIDER, MODEL))

/** The memory store without its sync face: a store with effects only (a shared one). */
const effectsOnlyStore = Layer.sync(BudgetStore.BudgetStore, () => {
  const { sync: _, ...effects } = BudgetStore.makeMemory()
  return effects
})

// The memory store and the default tokenizer let the budget reserve and settle a `generate` call in
// plain code; a store with effects only takes the general path: every test runs over both
const dependencies = [
  ["memory store", Layer.mergeAll(BudgetStore.layerMemory, ModelCatalog.layer, Tokenizer.layer)],
  ["a store with effects only", Layer.mergeAll(effectsOnlyStore, ModelCatalog.layer, Tokenizer.layer)]
] as const

const usageOf = (request: GenerateRequest, outputTokens: number): Usage => ({
  // a real provider's count is below the estimate's 10% margin
  inputTokens: Math.ceil(request.messages.reduce((n, m) => n + (m.content as string).length, 0) / 4),
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens,
  reasoningTokens: 0
})

const completionOf = (request: GenerateRequest, outputTokens: number): Completion => ({
  text: "x".repeat(outputTokens),
  finishReason: "stop",
  usage: usageOf(request, outputTokens),
  provider: PROVIDER,
  model: MODEL,
  servedModel: `${MODEL}-20251001`,
  attempts: []
})

/** A model that answers with all the output tokens it is allowed, and records what it was asked. */
const recording = () => {
  const seen: Array<GenerateRequest> = []
  const model = LanguageModel.make({
    provider: PROVIDER,
    model: MODEL,
    generate: (request) =>
      Effect.sync(() => {
        seen.push(request)
        return completionOf(request, request.maxOutputTokens ?? 100)
      }),
    stream: (request) =>
      Stream.make(
        { _tag: "TextDelta" as const, text: "hello " },
        { _tag: "TextDelta" as const, text: "world" },
        { _tag: "Finish" as const, completion: completionOf(request, 50) }
      )
  })
  return { model, seen }
}

const prompt = (user: string | undefined, text = "What is the capital of France?", extra?: Partial<GenerateRequest>) =>
  ({
    messages: [{ role: "user" as const, content: text }],
    ...(user ? { user } : {}),
    ...extra
  }) satisfies GenerateRequest

const storeStatus = (key: string, window: BudgetStore.Window, now = 0) =>
  Effect.flatMap(BudgetStore.BudgetStore, (store) => store.status(key, window, now))

const forever: BudgetStore.Window = { _tag: "Fixed", start: 0, end: Number.POSITIVE_INFINITY }

/** A call of `user` under a daily budget of 1,000 tokens with a soft limit, and the sink of its alerts. */
const softLimited = (user: string, soft: number) => {
  const { model } = recording()
  const sink = AlertSink.makeMemory()
  const budgeted = Budget.enforce(model, { perUser: Budget.tokens(1_000, Budget.daily(), { soft }) })
  const call = budgeted.generate(prompt(user, undefined, { maxOutputTokens: 150 })).pipe(
    Effect.provideService(AlertSink.AlertSink, sink)
  )
  return { call, sink }
}

/** mulberry32: a seeded PRNG so the chaos test is reproducible. */
const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

for (const [storeName, deps] of dependencies) {
  describe(`Budget (${storeName})`, () => {
    it("adds BudgetExceeded to E and the budget's services to R (type-level)", () => {
      const { model } = recording()
      const budgeted = model.pipe(Budget.enforce({ perUser: Budget.usd(1, "1 day") }))
      expectTypeOf(model).toEqualTypeOf<LanguageModel.With<never, never>>()
      expectTypeOf(budgeted).toEqualTypeOf<
        LanguageModel.With<BudgetExceeded, BudgetStore.BudgetStore | ModelCatalog.ModelCatalog | Tokenizer.Tokenizer>
      >()
      const failing = LanguageModel.make({
        provider: "x",
        model: "y",
        generate: () => Effect.fail(new ServerError({ provider: "x", model: "y", status: 500 })),
        stream: () => Stream.fail(new ServerError({ provider: "x", model: "y", status: 500 }))
      })
      const both = Budget.enforce(failing, { global: Budget.tokens(10, Budget.total) })
      expectTypeOf<LanguageModel.Error<typeof both>>().toEqualTypeOf<ServerError | BudgetExceeded>()
      // streamEach fails and requires exactly as generate does
      expectTypeOf(budgeted.streamEach).returns.toEqualTypeOf<
        Effect.Effect<
          Completion,
          BudgetExceeded,
          BudgetStore.BudgetStore | ModelCatalog.ModelCatalog | Tokenizer.Tokenizer
        >
      >()
      expectTypeOf<ReturnType<typeof budgeted.streamEach>>().toEqualTypeOf<ReturnType<typeof budgeted.generate>>()
      expectTypeOf<Effect.Effect.Error<ReturnType<typeof both.streamEach>>>().toEqualTypeOf<
        ServerError | BudgetExceeded
      >()
      expectTypeOf<ReturnType<typeof both.streamEach>>().toEqualTypeOf<ReturnType<typeof both.generate>>()
      // @ts-expect-error a budgeted model cannot be used without its requirements
      const _needs: LanguageModel.With<BudgetExceeded, never> = budgeted
    })

    it.effect("a model with no applicable budget does no work (no store, no tokenizer)", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        const budgeted = Budget.enforce(model, { perUser: Budget.usd(1, "1 day") })
        // no user on the request: the policy passes through and needs no services at run time
        const completion = yield* (budgeted.generate(prompt(undefined)) as Effect.Effect<Completion, BudgetExceeded>)
        assert.strictEqual(completion.text.length, 100)
        assert.isUndefined(seen[0]!.maxOutputTokens)
      }))

    it.effect("reserves the worst case, reconciles to the real usage and clamps maxOutputTokens to what is left", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        const budgeted = Budget.enforce(model, { perUser: Budget.tokens(1_000, Budget.total, { soft: 0.99 }) })
        const input = yield* Tokenizer.count(prompt("alice"), { provider: PROVIDER, model: MODEL })
        const first = yield* budgeted.generate(prompt("alice", undefined, { maxOutputTokens: 300 }))
        assert.strictEqual(seen[0]!.maxOutputTokens, 300)
        const key = "budget:user:alice:tokens:total"
        const after1 = yield* storeStatus(key, forever)
        assert.strictEqual(after1.reserved, 0)
        assert.strictEqual(after1.spent, first.usage.inputTokens + first.usage.outputTokens)
        // ask for 4_000: clamped to 1_000 - spent - input
        yield* budgeted.generate(prompt("alice", undefined, { maxOutputTokens: 4_000 }))
        assert.strictEqual(seen[1]!.maxOutputTokens, 1_000 - after1.spent - input)
        // nothing left (fewer than 16 tokens): refused with the numbers
        const error = yield* Effect.flip(budgeted.generate(prompt("alice")))
        assert.strictEqual(error._tag, "BudgetExceeded")
        assert.strictEqual(error.scope, "user:alice")
        assert.strictEqual(error.unit, "tokens")
        assert.strictEqual(error.limit, 1_000)
        assert.strictEqual(error.requested, input + 16)
        assert.strictEqual(seen.length, 2)
        // another user is not affected
        yield* budgeted.generate(prompt("bob"))
        assert.strictEqual(seen.length, 3)
      }).pipe(Effect.provide(deps)))

    it.effect("clampOutput: false refuses instead of clamping", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        const budgeted = Budget.enforce(model, { global: Budget.tokens(500, Budget.total), clampOutput: false })
        const error = yield* Effect.flip(budgeted.generate(prompt(undefined, undefined, { maxOutputTokens: 600 })))
        assert.strictEqual(error.scope, "global")
        assert.strictEqual(seen.length, 0)
        yield* budgeted.generate(prompt(undefined, undefined, { maxOutputTokens: 100 }))
        assert.strictEqual(seen[0]!.maxOutputTokens, 100)
      }).pipe(Effect.provide(deps)))

    it.effect("per request: max input tokens, max output tokens, max USD per call", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        const budgeted = Budget.enforce(model, {
          perRequest: { maxInputTokens: 50, maxOutputTokens: 1_000, maxUsd: 0.002 }
        })
        const long = yield* Effect.flip(budgeted.generate(prompt(undefined, "word ".repeat(100))))
        assert.strictEqual(long.scope, "request")
        assert.strictEqual(long.unit, "tokens")
        assert.strictEqual(long.limit, 50)
        const input = yield* Tokenizer.count(prompt(undefined), { provider: PROVIDER, model: MODEL })
        yield* budgeted.generate(prompt(undefined))
        // $0.002, worst case: input at the cache-write price ($1.25/M) and output at $5/M
        // (1,250 and 5,000 nano-dollars a token)
        assert.strictEqual(seen[0]!.maxOutputTokens, Math.floor((2_000_000 - input * 1_250) / 5_000))
        const pricey = Budget.enforce(model, { perRequest: { maxUsd: 0.00001 } })
        const usd = yield* Effect.flip(pricey.generate(prompt(undefined)))
        assert.strictEqual(usd.unit, "usd")
        assert.strictEqual(usd.scope, "request")
      }).pipe(Effect.provide(deps)))

    it.effect("USD budgets commit the catalog cost of the real usage", () =>
      Effect.gen(function*() {
        const { model } = recording()
        const budgeted = Budget.enforce(model, { global: Budget.usd(1, Budget.total) })
        const c = yield* budgeted.generate(prompt(undefined, undefined, { maxOutputTokens: 200 }))
        // USD counters are kept in integer nano-dollars so that sums are exact
        const status = yield* storeStatus("budget:global:usd:total", forever)
        assert.strictEqual(status.spent, Math.round(ModelCatalog.cost(c.usage, info) * 1e9))
        assert.strictEqual(status.reserved, 0)
        const view = yield* Budget.status("global", Budget.usd(1, Budget.total))
        assert.closeTo(view.spent, ModelCatalog.cost(c.usage, info), 1e-12)
        assert.closeTo(view.remaining, 1 - ModelCatalog.cost(c.usage, info), 1e-12)
      }).pipe(Effect.provide(deps)))

    it.effect("an unknown model under a USD budget is a defect carrying UnknownModel (never a silent zero)", () =>
      Effect.gen(function*() {
        const unknown = LanguageModel.make({
          provider: "acme",
          model: "mystery",
          generate: (request) => Effect.succeed(completionOf(request, 1)),
          stream: () => Stream.empty
        })
        const exit = yield* Effect.exit(
          Budget.enforce(unknown, { global: Budget.usd(1, Budget.total) }).generate(prompt(undefined))
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const defect = Cause.dieOption(exit.cause)
          assert.isTrue(Option.isSome(defect) && defect.value instanceof ModelCatalog.UnknownModel)
        }
        const withFallback = Budget.enforce(unknown, {
          global: Budget.usd(1, Budget.total),
          unpricedFallback: { input: 10, cachedInput: 10, output: 10 }
        })
        yield* withFallback.generate(prompt(undefined))
      }).pipe(Effect.provide(deps)))

    it.effect("releases on typed failure, defect and interruption", () =>
      Effect.gen(function*() {
        let mode: "fail" | "die" | "hang" = "fail"
        const model = LanguageModel.make({
          provider: PROVIDER,
          model: MODEL,
          generate: () =>
            mode === "fail"
              ? Effect.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 500 }))
              : mode === "die"
              ? Effect.die("boom")
              : Effect.never,
          stream: () => Stream.empty
        })
        const budgeted = Budget.enforce(model, { global: Budget.tokens(10_000, Budget.total) })
        const store = yield* BudgetStore.BudgetStore
        const failed = yield* Effect.flip(budgeted.generate(prompt(undefined)))
        assert.strictEqual(failed._tag, "ServerError")
        assert.strictEqual(yield* store.outstanding(0), 0)
        mode = "die"
        const died = yield* Effect.exit(budgeted.generate(prompt(undefined)))
        assert.isTrue(Exit.isFailure(died) && Cause.isDie(died.cause))
        assert.strictEqual(yield* store.outstanding(0), 0)
        mode = "hang"
        const fiber = yield* Effect.fork(budgeted.generate(prompt(undefined)))
        yield* Effect.yieldNow()
        assert.strictEqual(yield* store.outstanding(0), 1)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(yield* store.outstanding(0), 0)
        // a timeout is an interruption of the call too
        const timedOut = yield* Effect.fork(Effect.timeout(budgeted.generate(prompt(undefined)), "1 second"))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(timedOut).pipe(Effect.flip)
        assert.strictEqual(yield* store.outstanding(0), 0)
        assert.deepStrictEqual(yield* storeStatus("budget:global:tokens:total", forever), { spent: 0, reserved: 0 })
      }).pipe(Effect.provide(deps)))

    for (const api of apis) {
      it.effect(`streams reconcile from Finish, from the streamed text when cut, and release when nothing came (${api})`, () =>
        Effect.gen(function*() {
          let mode: "finish" | "cut" | "early" = "finish"
          const model = LanguageModel.make({
            provider: PROVIDER,
            model: MODEL,
            generate: (request) => Effect.succeed(completionOf(request, 1)),
            stream: (request) =>
              mode === "finish"
                ? Stream.make(
                  { _tag: "TextDelta" as const, text: "hello" },
                  { _tag: "Finish" as const, completion: completionOf(request, 42) }
                )
                : mode === "cut"
                ? Stream.concat(
                  Stream.make({ _tag: "TextDelta" as const, text: "a".repeat(35) }),
                  Stream.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 502 }))
                )
                : Stream.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 502 }))
          })
          const budgeted = Budget.enforce(model, { global: Budget.tokens(100_000, Budget.total) })
          const key = "budget:global:tokens:total"
          const input = yield* Tokenizer.count(prompt(undefined), { provider: PROVIDER, model: MODEL })
          const events = yield* runEvents(budgeted, prompt(undefined), api)
          const finish = events[events.length - 1]!
          assert.strictEqual(finish._tag, "Finish")
          const afterFinish = yield* storeStatus(key, forever)
          assert.deepStrictEqual(afterFinish, {
            spent: finish._tag === "Finish" ? finish.completion.usage.inputTokens + 42 : -1,
            reserved: 0
          })
          mode = "cut"
          yield* runEvents(budgeted, prompt(undefined), api).pipe(Effect.flip)
          const afterCut = yield* storeStatus(key, forever)
          // input estimate + 35 chars of output at 3.5 chars/token * 1.1 = 11 tokens
          assert.strictEqual(afterCut.spent - afterFinish.spent, input + 11)
          assert.strictEqual(afterCut.reserved, 0)
          mode = "early"
          yield* runEvents(budgeted, prompt(undefined), api).pipe(Effect.flip)
          assert.deepStrictEqual(yield* storeStatus(key, forever), afterCut)
          // interrupted mid-stream by the consumer (take 1 of a longer stream): reconciled from the text seen
          mode = "finish"
          yield* takeEvents(budgeted, prompt(undefined), api, 1)
          const store = yield* BudgetStore.BudgetStore
          assert.strictEqual(yield* store.outstanding(0), 0)
        }).pipe(Effect.provide(deps)))
    }

    /** A model with a `streamEach` of its own (no `Stream`), counting the calls that reach it. */
    const eachModel = (
      body: (request: GenerateRequest, onEvent: LanguageModel.OnEvent) => Effect.Effect<Completion, ServerError>
    ) => {
      const calls = { stream: 0, streamEach: 0 }
      const model = LanguageModel.make({
        provider: PROVIDER,
        model: MODEL,
        generate: (request) => Effect.succeed(completionOf(request, 1)),
        stream: () =>
          Stream.suspend(() => {
            calls.stream++
            return Stream.never
          }),
        streamEach: (request, onEvent) =>
          Effect.suspend(() => {
            calls.streamEach++
            return body(request, onEvent)
          })
      })
      return { model, calls }
    }

    it.effect("streamEach cut after text commits the counted text; left after its Finish, the Finish's usage", () =>
      Effect.gen(function*() {
        let end: "hang" | "fail" | "finish" = "hang"
        const { calls, model } = eachModel((request, onEvent) =>
          Effect.zipRight(
            onEvent({ _tag: "TextDelta", text: "a".repeat(35) }),
            end === "fail"
              ? Effect.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 502 }))
              : end === "finish"
              ? Effect.zipRight(onEvent({ _tag: "Finish", completion: completionOf(request, 42) }), Effect.never)
              : Effect.never
          )
        )
        const budgeted = Budget.enforce(model, { global: Budget.tokens(100_000, Budget.total) })
        const key = "budget:global:tokens:total"
        const input = yield* Tokenizer.count(prompt(undefined), { provider: PROVIDER, model: MODEL })
        // the caller leaves after the text (its fiber is interrupted)
        const events = yield* takeEvents(budgeted, prompt(undefined), "streamEach", 1)
        assert.deepStrictEqual(events, [{ _tag: "TextDelta", text: "a".repeat(35) }])
        // input estimate + 35 chars of output at 3.5 chars/token * 1.1 = 11 tokens
        assert.deepStrictEqual(yield* storeStatus(key, forever), { spent: input + 11, reserved: 0 })
        // the call fails after the text
        end = "fail"
        const error = yield* Effect.flip(runEvents(budgeted, prompt(undefined), "streamEach"))
        assert.strictEqual(error._tag, "ServerError")
        assert.deepStrictEqual(yield* storeStatus(key, forever), { spent: 2 * (input + 11), reserved: 0 })
        // the caller leaves once the Finish reached it, before the call returned: its usage is committed
        end = "finish"
        const finished = yield* takeEvents(budgeted, prompt(undefined), "streamEach", 2)
        const finish = finished[1]!
        assert.strictEqual(finish._tag, "Finish")
        const finishUsage = finish._tag === "Finish" ? finish.completion.usage : undefined
        assert.deepStrictEqual(yield* storeStatus(key, forever), {
          spent: 2 * (input + 11) + finishUsage!.inputTokens + 42,
          reserved: 0
        })
        assert.strictEqual(yield* Effect.flatMap(BudgetStore.BudgetStore, (store) => store.outstanding(0)), 0)
        assert.deepStrictEqual(calls, { stream: 0, streamEach: 3 })
      }).pipe(Effect.provide(deps)))

    it.effect("streamEach interrupted before any event releases its reservation", () =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        const { calls, model } = eachModel(() => Effect.never)
        const budgeted = Budget.enforce(model, { global: Budget.tokens(100_000, Budget.total) })
        const store = yield* BudgetStore.BudgetStore
        const onEvent = (event: unknown) => Effect.sync(() => void seen.push(event))
        const fiber = yield* Effect.fork(budgeted.streamEach(prompt(undefined), onEvent))
        yield* Effect.yieldNow()
        assert.strictEqual(yield* store.outstanding(0), 1)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(yield* store.outstanding(0), 0)
        // a timeout is an interruption of the call too
        const timedOut = yield* Effect.fork(
          Effect.timeout(budgeted.streamEach(prompt(undefined), onEvent), "1 second")
        )
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(timedOut).pipe(Effect.flip))._tag, "TimeoutException")
        assert.strictEqual(yield* store.outstanding(0), 0)
        assert.deepStrictEqual(yield* storeStatus("budget:global:tokens:total", forever), { spent: 0, reserved: 0 })
        assert.deepStrictEqual(seen, [])
        assert.deepStrictEqual(calls, { stream: 0, streamEach: 2 })
      }).pipe(Effect.provide(deps)))

    it.effect("streamEach refused with BudgetExceeded never calls the model", () =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        const { calls, model } = eachModel((request, onEvent) =>
          Effect.as(onEvent({ _tag: "TextDelta", text: "hi" }), completionOf(request, 2))
        )
        const onEvent = (event: unknown) => Effect.sync(() => void seen.push(event))
        const budgeted = Budget.enforce(model, { perUser: Budget.tokens(300, Budget.total) })
        const over = yield* Effect.flip(budgeted.streamEach(prompt("ivy", "x".repeat(2_000)), onEvent))
        assert.strictEqual(over._tag, "BudgetExceeded")
        assert.strictEqual(over._tag === "BudgetExceeded" ? over.scope : undefined, "user:ivy")
        const perRequest = Budget.enforce(model, { perRequest: { maxInputTokens: 5 } })
        const long = yield* Effect.flip(perRequest.streamEach(prompt(undefined), onEvent))
        assert.strictEqual(long._tag, "BudgetExceeded")
        assert.strictEqual(long._tag === "BudgetExceeded" ? long.scope : undefined, "request")
        assert.deepStrictEqual(seen, [])
        assert.deepStrictEqual(calls, { stream: 0, streamEach: 0 })
        assert.strictEqual(yield* Effect.flatMap(BudgetStore.BudgetStore, (store) => store.outstanding(0)), 0)
      }).pipe(Effect.provide(deps)))

    it.effect("emits BudgetDecision events", () =>
      Effect.gen(function*() {
        const { model } = recording()
        const events: Array<CallEvent.CallEvent> = []
        const budgeted = Budget.enforce(model, { perUser: Budget.tokens(300, Budget.total) })
        const listen = CallEvent.listen((event) => Effect.sync(() => void events.push(event)))
        yield* budgeted.generate(prompt("carol", undefined, { maxOutputTokens: 100 })).pipe(listen)
        yield* Effect.flip(budgeted.generate(prompt("carol", "x".repeat(2_000)))).pipe(listen)
        const decisions = events.flatMap((e) => e._tag === "BudgetDecision" ? [e.decision] : [])
        assert.deepStrictEqual(decisions, ["reserved", "reconciled", "refused"])
      }).pipe(Effect.provide(deps)))

    it.effect("calendar days reset exactly at local midnight (Europe/Paris) under TestClock", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        // 2026-03-10 23:59:00 in Paris (UTC+1)
        yield* TestClock.setTime(Date.UTC(2026, 2, 10, 22, 59, 0))
        const budgeted = Budget.enforce(model, {
          perUser: Budget.tokens(200, Budget.daily("Europe/Paris")),
          minOutputTokens: 100
        })
        yield* budgeted.generate(prompt("dave"))
        assert.strictEqual(seen.length, 1)
        yield* TestClock.adjust("59 seconds")
        const refused = yield* Effect.flip(budgeted.generate(prompt("dave")))
        assert.strictEqual(refused._tag, "BudgetExceeded")
        yield* TestClock.adjust("999 millis")
        assert.strictEqual((yield* Effect.flip(budgeted.generate(prompt("dave"))))._tag, "BudgetExceeded")
        yield* TestClock.adjust("1 millis") // 00:00:00.000 Paris
        yield* budgeted.generate(prompt("dave"))
        assert.strictEqual(seen.length, 2)
      }).pipe(Effect.provide(deps)))

    it.effect("calendar months and rolling windows reset exactly under TestClock", () =>
      Effect.gen(function*() {
        const { model, seen } = recording()
        yield* TestClock.setTime(Date.UTC(2026, 0, 31, 23, 0, 0)) // 2026-01-31 18:00 in New York
        const monthly = Budget.enforce(model, {
          global: Budget.tokens(200, Budget.monthly("America/New_York")),
          minOutputTokens: 100
        })
        yield* monthly.generate(prompt(undefined))
        yield* TestClock.adjust("5 hours") // 23:00 New York
        assert.strictEqual((yield* Effect.flip(monthly.generate(prompt(undefined))))._tag, "BudgetExceeded")
        yield* TestClock.adjust("1 hour") // Feb 1st, 00:00 New York
        yield* monthly.generate(prompt(undefined))
        assert.strictEqual(seen.length, 2)

        const rolling = Budget.enforce(model, { perUser: Budget.tokens(200, "1 hour"), minOutputTokens: 100 })
        yield* rolling.generate(prompt("erin"))
        yield* TestClock.adjust("59 minutes")
        assert.strictEqual((yield* Effect.flip(rolling.generate(prompt("erin"))))._tag, "BudgetExceeded")
        yield* TestClock.adjust("1 minute")
        yield* rolling.generate(prompt("erin"))
        assert.strictEqual(seen.length, 4)
      }).pipe(Effect.provide(deps)))

    it.effect("soft limits alert once per episode and re-arm when the window resets", () =>
      Effect.gen(function*() {
        const { call, sink } = softLimited("fay", 0.5)
        // each call reserves ~162 tokens and commits 158: the level crosses 500 on the 4th call
        yield* call
        yield* call
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 0)
        yield* call
        yield* call
        yield* call
        const alerts = yield* sink.alerts
        assert.strictEqual(alerts.length, 1)
        assert.strictEqual(alerts[0]!.kind, "soft-budget")
        assert.strictEqual(alerts[0]!.key, "user:fay")
        assert.strictEqual(alerts[0]!.threshold, 500)
        yield* TestClock.adjust("1 day")
        yield* call
        yield* call
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 1)
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 2)
      }).pipe(Effect.provide(deps)))

    it.effect("a new window is a new soft-limit episode, even when its first call is already past the soft limit", () =>
      Effect.gen(function*() {
        const { call, sink } = softLimited("hal", 0.1)
        // every call reserves ~162 tokens: past the soft limit (100) at once, every day
        yield* call
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 1)
        yield* TestClock.adjust("1 day")
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 2)
        yield* call
        assert.strictEqual((yield* sink.alerts).length, 2)
      }).pipe(Effect.provide(deps)))

    it.effect("Budget.layer wraps the LanguageModel in context", () =>
      Effect.gen(function*() {
        yield* LanguageModel.generate(prompt("gus", undefined, { maxOutputTokens: 100 }))
        const error = yield* Effect.flip(LanguageModel.generate(prompt("gus", undefined, { maxOutputTokens: 100 })))
        assert.strictEqual(error._tag, "BudgetExceeded")
      }).pipe(
        Effect.provide(
          Budget.layer({ perUser: Budget.tokens(150, Budget.total), clampOutput: false }).pipe(
            Layer.provide(LanguageModel.layer(recording().model)),
            Layer.provideMerge(deps)
          )
        )
      ))

    it.effect("1,000 concurrent calls with random faults and interruptions never overspend the cap", () =>
      Effect.gen(function*() {
        const random = prng(20261127)
        const cap = 0.25 // USD
        const userCap = 0.02
        const model = LanguageModel.make({
          provider: PROVIDER,
          model: MODEL,
          generate: (request) =>
            Effect.gen(function*() {
              const r = random()
              const yields = Math.floor(random() * 20)
              for (let i = 0; i < yields; i++) yield* Effect.yieldNow()
              if (r < 0.1) return yield* Effect.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 500 }))
              if (r < 0.13) return yield* Effect.die(new Error("defect"))
              return completionOf(request, Math.floor(random() * (request.maxOutputTokens ?? 0)) + 1)
            }),
          stream: () => Stream.empty
        })
        const budgeted = Budget.enforce(model, {
          global: Budget.usd(cap, Budget.daily()),
          perUser: Budget.usd(userCap, Budget.daily())
        })
        const successes: Array<Completion> = []
        let refused = 0
        let interrupted = 0
        yield* Effect.forEach(
          Array.from({ length: 1_000 }, (_, i) => i),
          (i) =>
            Effect.gen(function*() {
              const request = prompt(`user-${i % 20}`, "Summarise: " + "lorem ipsum ".repeat(1 + (i % 50)), {
                maxOutputTokens: 200 + (i % 7) * 100
              })
              const fiber = yield* Effect.fork(budgeted.generate(request))
              if (random() < 0.15) {
                const yields = Math.floor(random() * 20)
                for (let j = 0; j < yields; j++) yield* Effect.yieldNow()
                yield* Fiber.interrupt(fiber)
              }
              const exit = yield* Fiber.await(fiber)
              if (Exit.isSuccess(exit)) successes.push(exit.value)
              else if (Cause.isInterruptedOnly(exit.cause)) interrupted++
              else if (Option.exists(Cause.failureOption(exit.cause), (e) => e._tag === "BudgetExceeded")) refused++
            }),
          { concurrency: "unbounded", discard: true }
        )
        const store = yield* BudgetStore.BudgetStore
        assert.strictEqual(yield* store.outstanding(0), 0)
        const window = Budget.storeWindow(Budget.daily(), 0)
        const global = yield* store.status("budget:global:usd:day@UTC", window, 0)
        assert.strictEqual(global.reserved, 0)
        // nano-dollars: exact integer sums
        assert.isAtMost(global.spent, cap * 1e9)
        const expected = successes.reduce((sum, c) => sum + Math.round(ModelCatalog.cost(c.usage, info) * 1e9), 0)
        assert.strictEqual(global.spent, expected)
        for (let u = 0; u < 20; u++) {
          const s = yield* store.status(`budget:user:user-${u}:usd:day@UTC`, window, 0)
          assert.isAtMost(s.spent, userCap * 1e9)
          assert.strictEqual(s.reserved, 0)
        }
        assert.isAbove(successes.length, 50)
        assert.isAbove(refused, 50)
        assert.isAbove(interrupted, 10)
      }).pipe(Effect.provide(deps)))

    for (const api of apis) {
      it.effect(`1,000 concurrent streams with random cuts and interruptions never overspend the cap (${api})`, () =>
        Effect.gen(function*() {
          const random = prng(7)
          const cap = 0.3
          const model = LanguageModel.make({
            provider: PROVIDER,
            model: MODEL,
            generate: (request) => Effect.succeed(completionOf(request, 1)),
            stream: (request) => {
              const out = Math.floor(random() * (request.maxOutputTokens ?? 0)) + 1
              const cutAt = random() < 0.2 ? Math.floor(random() * 4) : -1
              const chunks = Array.from(
                { length: 4 },
                (_, i) => "x".repeat(Math.floor(out / 4) + (i === 3 ? out % 4 : 0))
              )
              return Stream.zipWithIndex(Stream.fromIterable(chunks)).pipe(
                Stream.mapEffect(([text, i]) =>
                  i === cutAt
                    ? Effect.fail(new ServerError({ provider: PROVIDER, model: MODEL, status: 502 }))
                    : Effect.as(Effect.yieldNow(), { _tag: "TextDelta" as const, text })
                ),
                Stream.concat(Stream.make({ _tag: "Finish" as const, completion: completionOf(request, out) }))
              )
            }
          })
          const budgeted = Budget.enforce(model, { global: Budget.usd(cap, Budget.total) })
          let finished = 0
          yield* Effect.forEach(
            Array.from({ length: 1_000 }, (_, i) => i),
            (i) =>
              Effect.gen(function*() {
                const request = prompt(undefined, "Tell me about " + "things ".repeat(1 + (i % 30)), {
                  maxOutputTokens: 100 + (i % 5) * 200
                })
                const fiber = yield* Effect.fork(runEvents(budgeted, request, api))
                if (random() < 0.2) {
                  const yields = Math.floor(random() * 8)
                  for (let j = 0; j < yields; j++) yield* Effect.yieldNow()
                  yield* Fiber.interrupt(fiber)
                }
                const exit = yield* Fiber.await(fiber)
                if (Exit.isSuccess(exit)) finished++
              }),
            { concurrency: "unbounded", discard: true }
          )
          const store = yield* BudgetStore.BudgetStore
          assert.strictEqual(yield* store.outstanding(0), 0)
          const global = yield* store.status("budget:global:usd:total", forever, 0)
          assert.strictEqual(global.reserved, 0)
          assert.isAtMost(global.spent, cap * 1e9)
          assert.isAbove(global.spent, 0)
          assert.isAbove(finished, 20)
        }).pipe(Effect.provide(deps)))
    }
  })
}

const refuses = (f: () => unknown, option: string) => refusesFor("Budget")(option, f)

/** A limit built by hand, as a user (or a config file) might. */
const handMade = <A = Budget.Limit>(value: Record<string, unknown>) => value as unknown as A

describe("Budget options", () => {
  const { model } = recording()
  const enforce = (options: Budget.Options) => Budget.enforce(model, options)

  it("limits and windows refuse what they cannot count", () => {
    const cases: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => Budget.usd(0, Budget.total), "amount"],
      [() => Budget.usd(-1, Budget.total), "amount"],
      [() => Budget.usd(Number.NaN, Budget.total), "amount"],
      [() => Budget.usd(Number.POSITIVE_INFINITY, Budget.total), "amount"],
      // counters hold integer nano-dollars: above ~9 million USD they are not exact
      [() => Budget.usd(9_007_200, Budget.total), "amount"],
      [() => Budget.tokens(0, Budget.total), "amount"],
      [() => Budget.tokens(1.5, Budget.total), "amount"],
      [() => Budget.usd(1, Budget.total, { soft: 0 }), "soft"],
      // a soft limit at the hard limit never alerts before calls are refused
      [() => Budget.usd(1, Budget.total, { soft: 1 }), "soft"],
      [() => Budget.tokens(10, Budget.total, { soft: 1.2 }), "soft"],
      [() => Budget.usd(1, "0 seconds"), "window"],
      [() => Budget.usd(1, -5), "window"],
      [() => Budget.tokens(1, Duration.infinity), "window"],
      [
        () => Budget.usd(1, handMade<Budget.Window>({ _tag: "Calendar", unit: "week", timeZone: "UTC" })),
        "window.unit"
      ],
      [() => Budget.rolling(0), "duration"],
      [() => Budget.rolling("-1 hour"), "duration"],
      [() => Budget.rolling(Duration.infinity), "duration"],
      [() => Budget.daily("Mars/Olympus"), "timeZone"],
      [() => Budget.monthly("Europe/Atlantis"), "timeZone"],
      [() => Budget.daily(""), "timeZone"]
    ]
    for (const [f, option] of cases) refuses(f, option)
    assert.strictEqual(
      refusal(() => Budget.daily("Mars/Olympus")).message,
      "effect-llm Budget: option `timeZone` must be an IANA time zone name, got \"Mars/Olympus\""
    )
  })

  it("accepts the boundary values", () => {
    assert.strictEqual(Budget.usd(9_007_199, Budget.total).amount, 9_007_199)
    assert.strictEqual(Budget.usd(0.000001, Budget.daily()).amount, 0.000001)
    assert.strictEqual(Budget.tokens(1, Budget.total).amount, 1)
    assert.strictEqual(Budget.usd(1, Budget.total, { soft: 0.999 }).soft, 0.999)
    assert.strictEqual(Budget.tokens(1, Budget.total, { soft: 0.001 }).soft, 0.001)
    assert.deepStrictEqual(Budget.rolling("1 millis"), { _tag: "Rolling", duration: Duration.millis(1) })
    assert.deepStrictEqual(Budget.usd(1, 1).window, { _tag: "Rolling", duration: Duration.millis(1) })
    assert.deepStrictEqual(Budget.daily(), { _tag: "Calendar", unit: "day", timeZone: "UTC" })
    assert.deepStrictEqual(Budget.monthly("Asia/Kolkata"), {
      _tag: "Calendar",
      unit: "month",
      timeZone: "Asia/Kolkata"
    })
  })

  it("enforce refuses options it cannot work with", () => {
    const cases: ReadonlyArray<readonly [Budget.Options, string]> = [
      [{ perRequest: { maxInputTokens: 0 } }, "perRequest.maxInputTokens"],
      [{ perRequest: { maxInputTokens: 1.5 } }, "perRequest.maxInputTokens"],
      [{ perRequest: { maxOutputTokens: 0 } }, "perRequest.maxOutputTokens"],
      [{ perRequest: { maxOutputTokens: Number.POSITIVE_INFINITY } }, "perRequest.maxOutputTokens"],
      [{ perRequest: { maxUsd: 0 } }, "perRequest.maxUsd"],
      [{ perRequest: { maxUsd: 10_000_000 } }, "perRequest.maxUsd"],
      [{ minOutputTokens: 0 }, "minOutputTokens"],
      [{ minOutputTokens: 2.5 }, "minOutputTokens"],
      [{ defaultMaxOutputTokens: 0 }, "defaultMaxOutputTokens"],
      [{ reservationTtl: 0 }, "reservationTtl"],
      [{ reservationTtl: "-1 minute" }, "reservationTtl"],
      [{ reservationTtl: Duration.infinity }, "reservationTtl"],
      [
        { unpricedFallback: { input: 1, cachedInput: 0.1, output: -4 } },
        "unpricedFallback.output"
      ],
      [
        { unpricedFallback: { input: 1, cachedInput: 0.1, output: 4, reasoning: Number.NaN } },
        "unpricedFallback.reasoning"
      ]
    ]
    for (const [options, option] of cases) refuses(() => enforce(options), option)
  })

  it("enforce checks limits built by hand the way usd and tokens do", () => {
    const ok = { unit: "usd", amount: 1, window: Budget.total }
    const cases: ReadonlyArray<readonly [Budget.Options, string]> = [
      [{ perUser: handMade({ ...ok, amount: -1 }) }, "perUser.amount"],
      [{ perUser: handMade({ ...ok, amount: undefined }) }, "perUser.amount"],
      [
        { perFeature: [Budget.usd(1, Budget.total), handMade({ ...ok, unit: "tokens", amount: 1.5 })] },
        "perFeature[1].amount"
      ],
      [{ global: handMade({ ...ok, unit: "eur" }) }, "global.unit"],
      [{ global: handMade({ ...ok, soft: 1 }) }, "global.soft"],
      [{ perUser: handMade({ ...ok, window: undefined }) }, "perUser.window"],
      [
        { perUser: handMade({ ...ok, window: { _tag: "Rolling", duration: Duration.zero } }) },
        "perUser.window.duration"
      ],
      [
        { global: [handMade({ ...ok, window: { _tag: "Calendar", unit: "day", timeZone: "Mars/Olympus" } })] },
        "global[0].window.timeZone"
      ],
      [
        { global: handMade({ ...ok, window: { _tag: "Calendar", unit: "year", timeZone: "UTC" } }) },
        "global.window.unit"
      ],
      [{ global: null as unknown as Budget.Limit }, "global"]
    ]
    for (const [options, option] of cases) refuses(() => enforce(options), option)
  })

  it("enforce accepts the defaults, the boundary values and a correct limit built by hand", () => {
    enforce({})
    enforce({
      perRequest: { maxInputTokens: 1, maxOutputTokens: 1, maxUsd: 9_007_199 },
      minOutputTokens: 1,
      defaultMaxOutputTokens: 1,
      reservationTtl: "1 millis",
      unpricedFallback: { input: 0, cachedInput: 0, output: 0, cacheWrite: 0, reasoning: 0 },
      perUser: handMade({ unit: "tokens", amount: 1, window: { _tag: "Rolling", duration: Duration.millis(1) } }),
      perFeature: [
        handMade({ unit: "usd", amount: 0.5, window: { _tag: "Calendar", unit: "month", timeZone: "UTC" } })
      ],
      global: handMade({ unit: "usd", amount: 1, window: Budget.total, soft: 0.5 })
    })
  })

  it("the data-last form and the layer check when they are called, not when used or built", () => {
    refuses(() => Budget.enforce({ minOutputTokens: -1 }), "minOutputTokens")
    refuses(() => Budget.layer({ reservationTtl: 0 }), "reservationTtl")
    refuses(
      () => Budget.layer({ perUser: handMade({ unit: "usd", amount: 0, window: Budget.total }) }),
      "perUser.amount"
    )
    assert.isTrue(LanguageModel.isLanguageModel(model.pipe(Budget.enforce({ minOutputTokens: 1 }))))
  })
})
