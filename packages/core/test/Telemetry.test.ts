import { CallEvent, LanguageModel, Telemetry } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { InvalidRequest, type LlmError, RateLimited, StreamInterrupted } from "@effect-llm/core/LlmError"
import * as Otel from "@effect-llm/core/Otel"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Cause, Effect, Exit, Fiber, FiberRef, Layer, Stream, TestClock, Tracer } from "effect"
import { type Api, apis, runEvents, takeEvents } from "./streamApis.js"
import {
  cached,
  collectMetrics,
  completionOf,
  fakeProvider,
  fallingBack,
  histogramPoint,
  makeSdk,
  points,
  refusing,
  retrying,
  spanNamed
} from "./TelemetryHarness.js"

const request = {
  messages: [{ role: "user" as const, content: "What is Effect?" }],
  maxOutputTokens: 200,
  temperature: 0.2,
  topP: 0.9,
  stop: ["\n\n"],
  seed: 7
}

const attributesOf = (span: ReadableSpan) => span.attributes

/** The attributes every answered call of the fake provider records (its usage, finish reason and request id). */
const answeredAttributes = {
  "gen_ai.response.finish_reasons": ["stop"],
  "gen_ai.usage.input_tokens": 120,
  "gen_ai.usage.output_tokens": 42,
  "gen_ai.usage.cache_read.input_tokens": 100,
  "gen_ai.usage.cache_creation.input_tokens": 8,
  "gen_ai.usage.reasoning.output_tokens": 12,
  "effect_llm.request_id": "req_456"
}

describe("Telemetry spans", () => {
  it.scoped("a successful call: one CLIENT span with the GenAI attributes", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "openai", model: "t-success", costUsd: 0.0021 })
      const completion = yield* model.generate(request)
      assert.strictEqual(completion.text, "The answer text")

      const spans = sdk.spans.getFinishedSpans()
      assert.strictEqual(spans.length, 1)
      const span = spans[0]!
      assert.strictEqual(span.name, "chat t-success")
      assert.strictEqual(span.kind, SpanKind.CLIENT)
      assert.deepStrictEqual({ ...attributesOf(span) }, {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "t-success",
        "gen_ai.request.stream": false,
        "gen_ai.request.max_tokens": 200,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ["\n\n"],
        "gen_ai.request.seed": 7,
        "server.address": "api.example.test",
        "server.port": 443,
        "gen_ai.response.id": "resp_123",
        "gen_ai.response.model": "t-success-2026-08-07",
        ...answeredAttributes,
        "effect_llm.cost.usd": 0.0021
      })

      const metrics = yield* collectMetrics(sdk.reader)
      const base = { "gen_ai.request.model": "t-success", "gen_ai.provider.name": "openai" }
      const duration = points(metrics, "gen_ai.client.operation.duration", base)
      assert.strictEqual(duration.length, 1)
      assert.deepStrictEqual({ ...duration[0]!.attributes }, {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "t-success",
        "gen_ai.response.model": "t-success-2026-08-07",
        "server.address": "api.example.test",
        "server.port": "443",
        "unit": "s"
      })
      assert.strictEqual(histogramPoint(duration[0]).count, 1)
      const input = points(metrics, "gen_ai.client.token.usage", { ...base, "gen_ai.token.type": "input" })
      const output = points(metrics, "gen_ai.client.token.usage", { ...base, "gen_ai.token.type": "output" })
      assert.strictEqual(histogramPoint(input[0]).sum, 120)
      assert.strictEqual(histogramPoint(output[0]).sum, 42)
      const cost = points(metrics, "effect_llm.cost", base)
      assert.strictEqual(cost[0]!.value, 0.0021)
    }).pipe(Effect.provide(sdk.layer))
  })

  for (
    const [tag, step] of [
      ["RateLimited", new RateLimited({ provider: "openai", model: "t-fail", limit: "requests" })],
      [
        "InvalidRequest",
        new InvalidRequest({ provider: "openai", model: "t-fail", status: 400, param: "temperature" })
      ],
      ["_OTHER", "defect" as const]
    ] as const
  ) {
    it.scoped(`a failed call records error.type = ${tag} on the span and the duration metric`, () => {
      const sdk = makeSdk()
      return Effect.gen(function*() {
        const { model } = fakeProvider({ provider: "openai", model: `t-fail-${tag}`, script: [step] })
        yield* Effect.exit(model.generate(request))
        const [span] = sdk.spans.getFinishedSpans()
        assert.strictEqual(span!.attributes["error.type"], tag)
        assert.isUndefined(span!.attributes["gen_ai.usage.input_tokens"])
        assert.strictEqual(span!.status.code, 2) // ERROR
        const metrics = yield* collectMetrics(sdk.reader)
        const duration = points(metrics, "gen_ai.client.operation.duration", {
          "gen_ai.request.model": `t-fail-${tag}`,
          "error.type": tag
        })
        assert.strictEqual(histogramPoint(duration[0]).count, 1)
        assert.deepStrictEqual(
          points(metrics, "gen_ai.client.token.usage", { "gen_ai.request.model": `t-fail-${tag}` }),
          []
        )
      }).pipe(Effect.provide(sdk.layer))
    })
  }

  it.scoped("retry then success: a call span with one child span per attempt and the retry as an event", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({
        provider: "anthropic",
        model: "t-retry",
        costUsd: 0.5,
        script: [new RateLimited({ provider: "anthropic", model: "t-retry", limit: "tokens" })]
      })
      const traced = retrying(model, 2).pipe(Telemetry.traceCall)
      const completion = yield* traced.generate(request)
      assert.strictEqual(completion.servedModel, "t-retry-2026-08-07")

      const spans = sdk.spans.getFinishedSpans()
      const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
      const attempts = spans.filter((s) => s.attributes["effect_llm.span.role"] === "attempt")
      assert.strictEqual(call.name, "chat t-retry")
      assert.strictEqual(call.kind, SpanKind.INTERNAL)
      assert.strictEqual(attempts.length, 2)
      for (const attempt of attempts) {
        assert.strictEqual(attempt.parentSpanContext?.spanId, call.spanContext().spanId)
        assert.strictEqual(attempt.name, "chat t-retry")
        assert.strictEqual(attempt.kind, SpanKind.CLIENT)
      }
      assert.deepStrictEqual(attempts.map((a) => a.attributes["effect_llm.attempt"]), [1, 2])
      assert.deepStrictEqual(attempts.map((a) => a.attributes["error.type"]), ["RateLimited", undefined])
      assert.strictEqual(call.attributes["effect_llm.attempts"], 2)
      assert.strictEqual(call.attributes["gen_ai.response.model"], "t-retry-2026-08-07")
      assert.strictEqual(call.attributes["gen_ai.usage.output_tokens"], 42)
      assert.isUndefined(call.attributes["error.type"])

      const events = call.events.map((e) => ({ name: e.name, attributes: e.attributes }))
      assert.deepStrictEqual(events.map((e) => e.name), [
        "effect_llm.attempt",
        "effect_llm.retry",
        "effect_llm.attempt"
      ])
      assert.deepStrictEqual(events[1]!.attributes, {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "t-retry",
        "effect_llm.attempt": 2,
        "effect_llm.retry.delay_ms": 2000,
        "effect_llm.retry.reason": "RateLimited"
      })

      const metrics = yield* collectMetrics(sdk.reader)
      const retries = points(metrics, "effect_llm.retries", { "gen_ai.request.model": "t-retry" })
      assert.strictEqual(retries.length, 1)
      assert.strictEqual(retries[0]!.value, 1)
      assert.strictEqual(retries[0]!.attributes["effect_llm.retry.reason"], "RateLimited")
      const durations = points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": "t-retry" })
      assert.deepStrictEqual(
        durations.map((p) => [p.attributes["error.type"], histogramPoint(p).count]).sort(),
        [["RateLimited", 1], [undefined, 1]].sort()
      )
      // the cost is counted once, by the call span, not by the attempt
      const cost = points(metrics, "effect_llm.cost", { "gen_ai.request.model": "t-retry" })
      assert.strictEqual(cost.length, 1)
      assert.strictEqual(cost[0]!.value, 0.5)
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("fallback: attempts on both providers under one call span, with the fallback event", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const primary = fakeProvider({
        provider: "openai",
        model: "t-fb-primary",
        script: [new RateLimited({ provider: "openai", model: "t-fb-primary" })]
      })
      const secondary = fakeProvider({ provider: "anthropic", model: "t-fb-secondary" })
      const traced = Telemetry.traceCall(fallingBack(primary.model, secondary.model))
      yield* traced.generate(request)

      const spans = sdk.spans.getFinishedSpans()
      const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
      const attempts = spans.filter((s) => s.attributes["effect_llm.span.role"] === "attempt")
      assert.deepStrictEqual(attempts.map((a) => [a.name, a.attributes["gen_ai.provider.name"]]), [
        ["chat t-fb-primary", "openai"],
        ["chat t-fb-secondary", "anthropic"]
      ])
      assert.strictEqual(call.attributes["gen_ai.response.model"], "t-fb-secondary-2026-08-07")
      const fallback = call.events.find((e) => e.name === "effect_llm.fallback")!
      assert.deepStrictEqual(fallback.attributes, {
        "effect_llm.fallback.from.provider": "openai",
        "effect_llm.fallback.from.model": "t-fb-primary",
        "effect_llm.fallback.to.provider": "anthropic",
        "effect_llm.fallback.to.model": "t-fb-secondary",
        "effect_llm.fallback.reason": "RateLimited"
      })
      const metrics = yield* collectMetrics(sdk.reader)
      const fallbacks = points(metrics, "effect_llm.fallbacks", { "effect_llm.fallback.from.model": "t-fb-primary" })
      assert.strictEqual(fallbacks[0]!.value, 1)
      assert.strictEqual(fallbacks[0]!.attributes["effect_llm.fallback.to.model"], "t-fb-secondary")
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("cache hit: the call span says so, no provider attempt, and the hit is counted", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { calls, model } = fakeProvider({ provider: "openai", model: "t-cache" })
      const traced = cached(model, completionOf("openai", "t-cache", { costUsd: 0.3 })).pipe(Telemetry.traceCall)
      const completion = yield* traced.generate(request)
      assert.strictEqual(completion.cache, "hit")
      assert.strictEqual(calls.length, 0)

      const spans = sdk.spans.getFinishedSpans()
      assert.strictEqual(spans.length, 1)
      const call = spans[0]!
      assert.strictEqual(call.attributes["effect_llm.cache.status"], "hit")
      assert.strictEqual(call.attributes["effect_llm.attempts"], 0)
      assert.deepStrictEqual(call.events.map((e) => [e.name, e.attributes?.["effect_llm.cache.status"]]), [
        ["effect_llm.cache.lookup", "hit"]
      ])
      const metrics = yield* collectMetrics(sdk.reader)
      const hits = points(metrics, "effect_llm.cache.lookups", {
        "gen_ai.request.model": "t-cache",
        "effect_llm.cache.status": "hit"
      })
      assert.strictEqual(hits[0]!.value, 1)
      // an answer from the cache costs nothing
      assert.deepStrictEqual(points(metrics, "effect_llm.cost", { "gen_ai.request.model": "t-cache" }), [])
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("budget refusal: error.type BudgetExceeded, a budget event without the user id, a counted refusal", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { calls, model } = fakeProvider({ provider: "openai", model: "t-budget" })
      const traced = refusing(model, "user:alice@example.com").pipe(Telemetry.traceCall)
      const error = yield* Effect.flip(traced.generate({ ...request, user: "alice@example.com" }))
      assert.strictEqual(error._tag, "BudgetExceeded")
      assert.strictEqual(calls.length, 0)

      const [call] = sdk.spans.getFinishedSpans()
      assert.strictEqual(call!.attributes["error.type"], "BudgetExceeded")
      assert.isUndefined(call!.attributes["effect_llm.user"])
      const budget = call!.events.find((e) => e.name === "effect_llm.budget")!
      assert.deepStrictEqual(budget.attributes, {
        "effect_llm.budget.decision": "refused",
        "effect_llm.budget.scope": "user",
        "effect_llm.budget.unit": "usd",
        "effect_llm.budget.amount": 0.5
      })
      const metrics = yield* collectMetrics(sdk.reader)
      const refusals = points(metrics, "effect_llm.budget.decisions", {
        "effect_llm.budget.decision": "refused",
        "effect_llm.budget.scope": "user"
      })
      assert.isAtLeast(refusals.length, 1)
      assert.isAtLeast(refusals[0]!.value as number, 1)
    }).pipe(Effect.provide(sdk.layer))
  })

  for (const api of apis) {
    it.scoped(`stream: gen_ai.request.stream, time to first chunk (TestClock), the Finish completion (${api})`, () => {
      const sdk = makeSdk()
      const name = `t-stream-${api}`
      return Effect.gen(function*() {
        const { model } = fakeProvider({ provider: "anthropic", model: name, firstChunkDelay: "250 millis" })
        const traced = Telemetry.traceCall(model)
        const fiber = yield* Effect.fork(runEvents(traced, request, api))
        yield* TestClock.adjust("250 millis")
        const events = yield* Fiber.join(fiber)
        assert.strictEqual(events.length, 3)

        const spans = sdk.spans.getFinishedSpans()
        assert.strictEqual(spans.length, 2)
        const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        const attempt = spans.find((s) => s.attributes["effect_llm.span.role"] === "attempt")!
        assert.strictEqual(attempt.parentSpanContext?.spanId, call.spanContext().spanId)
        for (const span of [call, attempt]) {
          assert.strictEqual(span.attributes["gen_ai.request.stream"], true)
          assert.strictEqual(span.attributes["gen_ai.response.time_to_first_chunk"], 0.25)
          assert.deepStrictEqual(span.attributes["gen_ai.response.finish_reasons"], ["stop"])
          assert.strictEqual(span.attributes["gen_ai.usage.input_tokens"], 120)
        }
        assert.strictEqual(call.kind, SpanKind.INTERNAL)
        assert.strictEqual(call.attributes["effect_llm.attempts"], 1)
        assert.strictEqual(attempt.kind, SpanKind.CLIENT)
        assert.strictEqual(attempt.attributes["effect_llm.attempt"], 1)

        const metrics = yield* collectMetrics(sdk.reader)
        const ttfc = points(metrics, "gen_ai.client.operation.time_to_first_chunk", { "gen_ai.request.model": name })
        // the attempt's: the call span records its time to first chunk as an attribute only
        assert.strictEqual(histogramPoint(ttfc[0]).count, 1)
        assert.strictEqual(histogramPoint(ttfc[0]).sum, 0.25)
        const duration = points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": name })
        assert.strictEqual(histogramPoint(duration[0]).sum, 0.25)
        const output = points(metrics, "gen_ai.client.token.usage", {
          "gen_ai.request.model": name,
          "gen_ai.token.type": "output"
        })
        assert.strictEqual(histogramPoint(output[0]).sum, 42)
      }).pipe(Effect.provide(sdk.layer))
    })
  }

  it.scoped("a failing stream records error.type on its span", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const info = { provider: "openai", model: "t-stream-fail", request }
      const failing = Stream.make({ _tag: "TextDelta" as const, text: "par" }).pipe(
        Stream.concat(Stream.fail(new RateLimited({ provider: "openai", model: "t-stream-fail" }))),
        Telemetry.traceStream(info)
      )
      yield* Effect.exit(Stream.runDrain(failing))
      const [span] = sdk.spans.getFinishedSpans()
      assert.strictEqual(span!.attributes["error.type"], "RateLimited")
      assert.strictEqual(span!.attributes["gen_ai.response.time_to_first_chunk"], 0)
      assert.isUndefined(span!.attributes["gen_ai.usage.input_tokens"])
    }).pipe(Effect.provide(sdk.layer))
  })

  describe("startAttempt (adapters that end the attempt from their own callbacks)", () => {
    // an adapter's request in one Effect.async: the attempt ends from its callbacks
    const adapterCall = (
      info: Telemetry.CallInfo,
      outcome: { readonly succeed: boolean } | "never"
    ): Effect.Effect<void, RateLimited> =>
      Effect.withFiberRuntime((fiber) =>
        Effect.async<void, RateLimited>((resume) => {
          const attempt = Telemetry.startAttempt(fiber, info, false)
          if (outcome === "never") return Effect.sync(() => attempt.interrupt())
          if (outcome.succeed) {
            attempt.succeed(completionOf(info.provider, info.model))
            resume(Effect.void)
          } else {
            const error = new RateLimited({ provider: info.provider, model: info.model })
            attempt.fail(error)
            resume(Effect.fail(error))
          }
        })
      )

    it.scoped("success and failure: the span as traceGenerate makes it, under the current parent, with the fiber's annotations", () => {
      const sdk = makeSdk()
      return Effect.gen(function*() {
        const info = { provider: "openai", model: "t-attempt", request }
        yield* adapterCall(info, { succeed: true }).pipe(
          Effect.annotateSpans("tenant", "acme"),
          Effect.withSpan("outer")
        )
        yield* Effect.exit(adapterCall(info, { succeed: false }))
        const spans = sdk.spans.getFinishedSpans()
        const [ok, failed] = spanNamed(spans, "chat t-attempt")
        const outer = spanNamed(spans, "outer")[0]!
        assert.strictEqual(ok!.kind, SpanKind.CLIENT)
        assert.strictEqual(ok!.parentSpanContext?.spanId, outer.spanContext().spanId)
        assert.strictEqual(ok!.attributes["tenant"], "acme")
        assert.strictEqual(ok!.attributes["gen_ai.provider.name"], "openai")
        assert.strictEqual(
          ok!.attributes["gen_ai.usage.input_tokens"],
          completionOf("openai", "t-attempt").usage.inputTokens
        )
        assert.isUndefined(ok!.attributes["error.type"])
        assert.strictEqual(failed!.attributes["error.type"], "RateLimited")
        assert.isUndefined(failed!.parentSpanContext)
      }).pipe(Effect.provide(sdk.layer))
    })

    it.scoped("an interrupted request ends its span once; with tracing disabled nothing is exported", () => {
      const sdk = makeSdk()
      return Effect.gen(function*() {
        const info = { provider: "openai", model: "t-interrupted", request }
        const fiber = yield* Effect.fork(adapterCall(info, "never"))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
        yield* adapterCall({ ...info, model: "t-untraced" }, { succeed: true }).pipe(Effect.withTracerEnabled(false))
        const spans = sdk.spans.getFinishedSpans()
        assert.strictEqual(spanNamed(spans, "chat t-interrupted").length, 1)
        assert.strictEqual(spanNamed(spans, "chat t-untraced").length, 0)
      }).pipe(Effect.provide(sdk.layer))
    })
  })

  it.scoped("the provider span is the parent of what the adapter does inside it", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const info = { provider: "openai", model: "t-parent", request }
      yield* Effect.succeed(completionOf("openai", "t-parent")).pipe(
        Effect.withSpan("http POST /v1/responses"),
        Telemetry.traceGenerate(info)
      )
      const spans = sdk.spans.getFinishedSpans()
      const chat = spanNamed(spans, "chat t-parent")[0]!
      const http = spanNamed(spans, "http POST /v1/responses")[0]!
      assert.strictEqual(http.parentSpanContext?.spanId, chat.spanContext().spanId)
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("policy events land on the current span; without the listener nothing is recorded", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const emitAll = Effect.forEach(
        [
          { _tag: "RateLimitWait", provider: "p", model: "t-events", delayMillis: 500, limit: "tokens" },
          { _tag: "CircuitStateChanged", provider: "p", model: "t-events", from: "closed", to: "open" },
          { _tag: "ContextTruncated", provider: "p", model: "t-events", droppedMessages: 3, tokens: 900, limit: 1000 },
          { _tag: "ContentFiltered", provider: "p", model: "t-events", stage: "output", category: "violence" },
          { _tag: "TierSelected", tier: "small", provider: "p", model: "t-events", reason: "short prompt" }
        ] as const,
        (event) => CallEvent.emit(event),
        { discard: true }
      )
      yield* emitAll.pipe(Effect.withSpan("with-listener"))
      yield* emitAll.pipe(
        Effect.withSpan("without-listener"),
        Effect.locally(CallEvent.currentListeners, [])
      )
      const spans = sdk.spans.getFinishedSpans()
      assert.deepStrictEqual(spanNamed(spans, "with-listener")[0]!.events.map((e) => e.name), [
        "effect_llm.rate_limit.wait",
        "effect_llm.circuit.state_change",
        "effect_llm.context.truncated",
        "effect_llm.content_filtered",
        "effect_llm.tier.selected"
      ])
      assert.deepStrictEqual(spanNamed(spans, "without-listener")[0]!.events, [])
      const metrics = yield* collectMetrics(sdk.reader)
      const circuit = points(metrics, "effect_llm.circuit.transitions", { "gen_ai.request.model": "t-events" })
      assert.strictEqual(circuit[0]!.value, 1)
      assert.strictEqual(circuit[0]!.attributes["effect_llm.circuit.to"], "open")
      const waits = points(metrics, "effect_llm.rate_limit.waits", { "gen_ai.request.model": "t-events" })
      assert.strictEqual(waits[0]!.value, 1)
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("layerTraceCall wraps the model served under the LanguageModel tag", () => {
    const sdk = makeSdk()
    const { model } = fakeProvider({ provider: "openai", model: "t-layer" })
    const ModelLive = Telemetry.layerTraceCall.pipe(Layer.provide(LanguageModel.layer(model)))
    return Effect.gen(function*() {
      yield* LanguageModel.generate(request)
      const spans = sdk.spans.getFinishedSpans()
      assert.deepStrictEqual(spans.map((s) => s.attributes["effect_llm.span.role"]).sort(), ["attempt", "call"])
    }).pipe(Effect.provide(ModelLive), Effect.provide(sdk.layer))
  })

  it.scoped("withEvents installs the listener for one effect", () => {
    const spans = new InMemorySpanExporter()
    const TracerOnly = Layer.discard(NodeSdk.layer(() => ({
      resource: { serviceName: "t" },
      spanProcessor: new SimpleSpanProcessor(spans)
    })))
    return Effect.gen(function*() {
      const emitOne = CallEvent.emit({ _tag: "CacheLookup", status: "miss", provider: "p", model: "t-with-events" })
      yield* emitOne.pipe(Effect.withSpan("plain"))
      yield* emitOne.pipe(Effect.withSpan("listened"), Telemetry.withEvents)
      const finished = spans.getFinishedSpans()
      assert.deepStrictEqual(spanNamed(finished, "plain")[0]!.events, [])
      assert.deepStrictEqual(spanNamed(finished, "listened")[0]!.events.map((e) => e.name), ["effect_llm.cache.lookup"])
    }).pipe(Effect.provide(TracerOnly))
  })

  it.scoped("the telemetry listener is added once, next to the listeners already in place", () => {
    const seen: Array<string> = []
    return Effect.gen(function*() {
      const listeners = yield* Effect.provide(
        FiberRef.get(CallEvent.currentListeners),
        Layer.merge(Telemetry.layer(), Telemetry.layer())
      ).pipe(CallEvent.listen((event) => Effect.sync(() => seen.push(event._tag))))
      assert.strictEqual(listeners.length, 2)
      assert.strictEqual(listeners.filter((l) => l === Telemetry.listener).length, 1)
    })
  })
})

describe("traceCall through stream and streamEach", () => {
  const afterMillis = 250

  /** What a streamed call does below the call span. */
  interface Script {
    readonly name: string
    /** The request fails before its text event at this index (0: before the first event). */
    readonly failAt?: { readonly index: number; readonly error: LlmError }
  }

  /**
   * A provider with both streamed APIs as the adapters make them: `stream` traced by `traceStream`,
   * `streamEach` recording its attempt with `startAttempt` and handing each event to `onEvent` in
   * the caller's fiber (the attempt succeeds before its `Finish` is handed on). Before its first
   * event, the request waits 250 ms (TestClock time) inside a span of its own and emits a call event.
   */
  const provider = (script: Script): LanguageModel.With<LlmError> => {
    const info = (request: GenerateRequest): Telemetry.CallInfo => ({ provider: "openai", model: script.name, request })
    const texts = ["The answer", " text"]
    const completion = completionOf("openai", script.name, { costUsd: 0.004 })
    const before = Effect.sleep(afterMillis).pipe(
      Effect.withSpan("provider read"),
      Effect.zipRight(CallEvent.emit({ _tag: "FirstToken", provider: "openai", model: script.name, afterMillis }))
    )
    const failAt = script.failAt
    return LanguageModel.make<LlmError, never>({
      provider: "openai",
      model: script.name,
      generate: () => Effect.dieMessage("streamed calls only"),
      stream: (request) =>
        Stream.drain(Stream.fromEffect(before)).pipe(
          Stream.concat(
            failAt === undefined
              ? Stream.fromIterable([...texts.map(StreamEvent.textDelta), StreamEvent.finish(completion)])
              : Stream.concat(
                Stream.fromIterable(texts.slice(0, failAt.index).map(StreamEvent.textDelta)),
                Stream.fail(failAt.error)
              )
          ),
          // one event a chunk: what the call span sees of a stream left early is what its caller saw
          Stream.rechunk(1),
          Telemetry.traceStream(info(request))
        ),
      streamEach: (request, onEvent) =>
        Effect.withFiberRuntime((fiber) => {
          const attempt = Telemetry.startAttempt(fiber, info(request), true)
          const events = (index: number): Effect.Effect<Completion, LlmError> => {
            if (failAt?.index === index) {
              attempt.fail(failAt.error)
              return Effect.fail(failAt.error)
            }
            if (index === texts.length) {
              attempt.succeed(completion)
              return Effect.as(onEvent(StreamEvent.finish(completion)), completion)
            }
            attempt.chunk()
            return Effect.zipRight(
              onEvent(StreamEvent.textDelta(texts[index]!)),
              Effect.suspend(() => events(index + 1))
            )
          }
          return Effect.onExit(
            Effect.zipRight(before, Effect.suspend(() => events(0))),
            (exit) => Effect.sync(() => attempt.close(exit))
          )
        })
    })
  }

  /** Runs `self` with a tracer that counts how many times each span it makes is ended. */
  const countingEnds = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.tracer, (tracer) => {
      const ends: Array<{ readonly span: Tracer.Span; count: number }> = []
      const counting = Tracer.make({
        context: tracer.context,
        span(...args) {
          const span = tracer.span(...args)
          const entry = { span, count: 0 }
          ends.push(entry)
          const end = span.end.bind(span)
          span.end = (endTime, exit) => {
            entry.count++
            end(endTime, exit)
          }
          return span
        }
      })
      return Effect.map(Effect.withTracer(self, counting), (a) => ({ result: a, ends }))
    })

  const label = (span: ReadableSpan) => {
    const role = span.attributes["effect_llm.span.role"]
    return role === undefined ? span.name : `${span.name} [${role}]`
  }

  /** The spans of a run as they can be compared across runs: no ids, no times. */
  const shapeOf = (spans: ReadonlyArray<ReadableSpan>) => {
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
    return spans.map((span) => {
      const parentId = span.parentSpanContext?.spanId
      const parent = parentId === undefined ? undefined : byId.get(parentId)
      return {
        label: label(span),
        parent: parent === undefined ? parentId : label(parent),
        kind: span.kind,
        attributes: { ...span.attributes },
        status: span.status,
        // the stack trace of a failure passed up to the caller's span lists the Effect spans it
        // crossed, which a `Stream` does not record: compared without it
        events: span.events.map((event) => {
          const { "exception.stacktrace": _stack, ...attributes } = event.attributes ?? {}
          return { name: event.name, attributes }
        })
      }
    }).sort((a, b) => a.label.localeCompare(b.label))
  }

  type Caller =
    | "answered"
    | "interrupted-before-first-event"
    | "interrupted-in-onEvent"
    | "onEvent-dies"
    | { readonly take: number }

  /** One call through `api` under a `caller` span, with its own SDK; what it exported. */
  const runCall = (api: Api, script: Script, caller: Caller = "answered") => {
    const sdk = makeSdk()
    const onEvent = (event: StreamEvent.StreamEvent): Effect.Effect<void> =>
      event._tag !== "TextDelta"
        ? Effect.void
        : caller === "interrupted-in-onEvent"
        ? Effect.never
        : caller === "onEvent-dies"
        ? Effect.dieMessage("the caller's callback failed")
        : Effect.void
    return countingEnds(Effect.gen(function*() {
      const traced = Telemetry.traceCall(provider(script))
      const call = typeof caller === "object"
        ? takeEvents(traced, request, api, caller.take)
        : runEvents(traced, request, api, onEvent)
      const fiber = yield* Effect.fork(Effect.withSpan(call, "caller"))
      yield* TestClock.adjust(caller === "interrupted-before-first-event" ? afterMillis / 2 : afterMillis)
      if (typeof caller === "string" && caller.startsWith("interrupted")) yield* Fiber.interrupt(fiber)
      yield* Fiber.await(fiber)
      const metrics = yield* collectMetrics(sdk.reader)
      return { spans: sdk.spans.getFinishedSpans(), metrics }
    })).pipe(
      Effect.map(({ ends, result }) => ({ ...result, ends: ends.map((e) => [e.span.name, e.count] as const) })),
      Effect.provide(sdk.layer)
    )
  }

  /** Every span the run made was ended, once (and so exported). */
  const assertEndedOnce = (run: Effect.Effect.Success<ReturnType<typeof runCall>>) => {
    assert.deepStrictEqual(run.ends.filter(([, count]) => count !== 1), [])
    assert.strictEqual(run.ends.length, run.spans.length)
  }

  const callOf = (spans: ReadonlyArray<ReadableSpan>) =>
    spans.filter((span) => span.attributes["effect_llm.span.role"] === "call")

  const requestAttributes = (name: string) => ({
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": name,
    "gen_ai.request.stream": true,
    "gen_ai.request.max_tokens": 200,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.top_p": 0.9,
    "gen_ai.request.stop_sequences": ["\n\n"],
    "gen_ai.request.seed": 7,
    "effect_llm.span.role": "call"
  })

  const scenarios: ReadonlyArray<{
    readonly title: string
    readonly script: Script
    readonly caller?: Caller
    /** The call span's attributes beyond the request's, its status code and whether it was interrupted. */
    readonly expected: {
      readonly attributes: Record<string, unknown>
      readonly status: number
      readonly interrupted?: boolean
    }
  }> = [
    {
      title: "an answered call",
      script: { name: "t-each-ok" },
      expected: {
        attributes: {
          "gen_ai.response.time_to_first_chunk": 0.25,
          "effect_llm.attempts": 1,
          "gen_ai.response.id": "resp_123",
          "gen_ai.response.model": "t-each-ok-2026-08-07",
          ...answeredAttributes,
          "effect_llm.cost.usd": 0.004
        },
        status: 1 // OK
      }
    },
    {
      title: "a call failing before its first event",
      script: {
        name: "t-each-429",
        failAt: { index: 0, error: new RateLimited({ provider: "openai", model: "t-each-429", limit: "tokens" }) }
      },
      expected: { attributes: { "effect_llm.attempts": 1, "error.type": "RateLimited" }, status: 2 }
    },
    {
      title: "a call failing after its first event",
      script: {
        name: "t-each-cut",
        failAt: {
          index: 1,
          error: new StreamInterrupted({
            provider: "openai",
            model: "t-each-cut",
            partialText: "The answer",
            detail: "socket hang up"
          })
        }
      },
      expected: {
        attributes: {
          "gen_ai.response.time_to_first_chunk": 0.25,
          "effect_llm.attempts": 1,
          "error.type": "StreamInterrupted"
        },
        status: 2 // ERROR
      }
    },
    {
      title: "a call interrupted before its first event",
      script: { name: "t-each-int-wait" },
      caller: "interrupted-before-first-event",
      expected: { attributes: { "effect_llm.attempts": 1, "error.type": "Interrupted" }, status: 1, interrupted: true }
    },
    {
      title: "a call interrupted inside onEvent",
      script: { name: "t-each-int-each" },
      caller: "interrupted-in-onEvent",
      expected: {
        attributes: {
          "gen_ai.response.time_to_first_chunk": 0.25,
          "effect_llm.attempts": 1,
          "error.type": "Interrupted"
        },
        status: 1,
        interrupted: true
      }
    },
    {
      title: "a call whose onEvent dies",
      script: { name: "t-each-die" },
      caller: "onEvent-dies",
      expected: {
        attributes: { "gen_ai.response.time_to_first_chunk": 0.25, "effect_llm.attempts": 1, "error.type": "_OTHER" },
        status: 2
      }
    }
  ]

  it.scoped("streamEach runs the streamEach of the model below: no Stream", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const native = provider({ name: "t-each-native" })
      const model = LanguageModel.make({
        provider: native.provider,
        model: native.model,
        generate: native.generate,
        stream: () => Stream.dieMessage("a Stream was run"),
        streamEach: native.streamEach
      })
      const fiber = yield* Effect.fork(runEvents(Telemetry.traceCall(model), request, "streamEach"))
      yield* TestClock.adjust(afterMillis)
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events.map((event) => event._tag), ["TextDelta", "TextDelta", "Finish"])
      assert.strictEqual(callOf(sdk.spans.getFinishedSpans()).length, 1)
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("a model whose streamEach throws: the call dies and leaves no span open", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const throwing = LanguageModel.make<never, never>({
        provider: "openai",
        model: "t-each-throws",
        generate: () => Effect.dieMessage("streamed calls only"),
        stream: () => Stream.dieMessage("streamEach only"),
        streamEach: () => {
          throw new Error("a bug in the model")
        }
      })
      const exit = yield* Effect.exit(Telemetry.traceCall(throwing).streamEach(request, () => Effect.void))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      return exit
    }).pipe(
      countingEnds,
      Effect.map(({ ends }) => assert.deepStrictEqual(ends.filter((e) => e.count !== 1).map((e) => e.span.name), [])),
      Effect.provide(sdk.layer)
    )
  })

  for (const api of apis) {
    it.scoped(`after the call, answered or failed, the caller's spans are the caller's children again (${api})`, () => {
      const sdk = makeSdk()
      return Effect.gen(function*() {
        const answering = Telemetry.traceCall(provider({ name: `t-each-after-${api}` }))
        const failing = Telemetry.traceCall(provider({
          name: `t-each-after-429-${api}`,
          failAt: { index: 0, error: new RateLimited({ provider: "openai", model: `t-each-after-429-${api}` }) }
        }))
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            yield* runEvents(answering, request, api)
            yield* Effect.withSpan(Effect.void, "after the answer")
            yield* Effect.exit(runEvents(failing, request, api))
            yield* Effect.withSpan(Effect.void, "after the failure")
          }).pipe(Effect.withSpan("caller"))
        )
        yield* TestClock.adjust(afterMillis)
        yield* TestClock.adjust(afterMillis)
        yield* Fiber.join(fiber)
        const spans = sdk.spans.getFinishedSpans()
        const caller = spanNamed(spans, "caller")[0]!
        for (const name of ["after the answer", "after the failure"]) {
          assert.strictEqual(spanNamed(spans, name)[0]!.parentSpanContext?.spanId, caller.spanContext().spanId, name)
        }
        assert.strictEqual(callOf(spans).length, 2)
      }).pipe(Effect.provide(sdk.layer))
    })
  }

  for (const api of apis) {
    it.scoped(`a caller that stops after the first event: the call span ends once, without usage (${api})`, () =>
      Effect.gen(function*() {
        const run = yield* runCall(api, { name: `t-each-stop-${api}` }, { take: 1 })
        assertEndedOnce(run)
        const [call, ...others] = callOf(run.spans)
        assert.strictEqual(others.length, 0)
        const a = call!.attributes
        assert.strictEqual(a["gen_ai.response.time_to_first_chunk"], 0.25)
        assert.strictEqual(a["effect_llm.attempts"], 1)
        assert.isUndefined(a["gen_ai.usage.input_tokens"])
        assert.isUndefined(a["gen_ai.response.model"])
        // a `Stream` left early ends with success, a `streamEach` call stopped early is interrupted
        assert.strictEqual(a["error.type"], api === "stream" ? undefined : "Interrupted")
        assert.strictEqual(a["status.interrupted"], api === "stream" ? undefined : true)
        const attempt = run.spans.find((span) => span.attributes["effect_llm.span.role"] === "attempt")!
        assert.strictEqual(attempt.parentSpanContext?.spanId, call!.spanContext().spanId)
        const metrics = points(run.metrics, "effect_llm.cost", { "gen_ai.request.model": `t-each-stop-${api}` })
        assert.deepStrictEqual(metrics, [])
      }))

    it.scoped(`a caller that stops at the Finish: the call span records the completion (${api})`, () =>
      Effect.gen(function*() {
        const name = `t-each-stop-finish-${api}`
        const run = yield* runCall(api, { name }, { take: 3 })
        assertEndedOnce(run)
        const [call] = callOf(run.spans)
        const a = call!.attributes
        assert.isUndefined(a["error.type"])
        assert.strictEqual(a["gen_ai.response.model"], `${name}-2026-08-07`)
        assert.strictEqual(a["gen_ai.usage.input_tokens"], 120)
        assert.strictEqual(a["gen_ai.usage.output_tokens"], 42)
        assert.strictEqual(a["effect_llm.cost.usd"], 0.004)
        assert.strictEqual(a["effect_llm.attempts"], 1)
        const cost = points(run.metrics, "effect_llm.cost", { "gen_ai.request.model": name })
        assert.deepStrictEqual(cost.map((p) => p.value), [0.004])
      }))
  }

  for (const scenario of scenarios) {
    it.scoped(`${scenario.title}: the same spans through stream and streamEach, each ended once`, () =>
      Effect.gen(function*() {
        const viaStream = yield* runCall("stream", scenario.script, scenario.caller)
        const viaEach = yield* runCall("streamEach", scenario.script, scenario.caller)
        assert.deepStrictEqual(shapeOf(viaEach.spans), shapeOf(viaStream.spans))

        for (const run of [viaStream, viaEach]) {
          assertEndedOnce(run)
          const [call, ...others] = callOf(run.spans)
          assert.strictEqual(others.length, 0)
          assert.strictEqual(call!.name, `chat ${scenario.script.name}`)
          assert.strictEqual(call!.kind, SpanKind.INTERNAL)
          const { "span.label": _label, "status.interrupted": interrupted, ...attributes } = call!.attributes
          assert.deepStrictEqual(attributes, {
            ...requestAttributes(scenario.script.name),
            ...scenario.expected.attributes
          })
          assert.strictEqual(call!.status.code, scenario.expected.status)
          assert.strictEqual(interrupted, scenario.expected.interrupted)
          // the call span is the parent of everything below it, and its own parent is the caller's
          const shape = shapeOf(run.spans)
          assert.deepStrictEqual(shape.map((span) => [span.label, span.parent]), [
            ["caller", undefined],
            [`chat ${scenario.script.name} [attempt]`, `chat ${scenario.script.name} [call]`],
            [`chat ${scenario.script.name} [call]`, "caller"],
            ["provider read", `chat ${scenario.script.name} [call]`]
          ])
          // the call events emitted below land on the call span
          assert.deepStrictEqual(
            call!.events.filter((event) => event.name !== "exception").map((event) => event.name),
            scenario.caller === "interrupted-before-first-event" ? [] : ["effect_llm.first_token"]
          )
        }
        // the call span counts an answer's cost once, through either API (counters are cumulative)
        const cost = points(viaEach.metrics, "effect_llm.cost", { "gen_ai.request.model": scenario.script.name })
        assert.deepStrictEqual(
          cost.map((p) => p.value),
          scenario.expected.status === 1 && !scenario.expected.interrupted ? [0.008] : []
        )
      }))
  }
})

describe("Telemetry options", () => {
  it.scoped("content, user and feature are recorded only when the options allow it", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "openai", model: "t-options" })
      const withContext = {
        ...request,
        messages: [{ role: "system" as const, content: "Be brief." }, ...request.messages],
        user: "u-42",
        feature: "faq"
      }
      yield* model.generate(withContext)
      yield* model.generate(withContext).pipe(
        Telemetry.withOptions({ captureContent: true, user: "spans", feature: "spans-and-metrics" })
      )
      const [plain, open] = sdk.spans.getFinishedSpans()
      for (
        const k of [
          "gen_ai.input.messages",
          "gen_ai.output.messages",
          "gen_ai.system_instructions",
          "effect_llm.user",
          "effect_llm.feature"
        ]
      ) {
        assert.isUndefined(plain!.attributes[k], k)
      }
      assert.deepStrictEqual(JSON.parse(open!.attributes["gen_ai.input.messages"] as string), [
        { role: "user", parts: [{ type: "text", content: "What is Effect?" }] }
      ])
      assert.deepStrictEqual(JSON.parse(open!.attributes["gen_ai.system_instructions"] as string), [
        { type: "text", content: "Be brief." }
      ])
      assert.deepStrictEqual(JSON.parse(open!.attributes["gen_ai.output.messages"] as string), [
        { role: "assistant", parts: [{ type: "text", content: "The answer text" }], finish_reason: "stop" }
      ])
      assert.strictEqual(open!.attributes["effect_llm.user"], "u-42")
      assert.strictEqual(open!.attributes["effect_llm.feature"], "faq")

      const metrics = yield* collectMetrics(sdk.reader)
      const durations = points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": "t-options" })
      assert.deepStrictEqual(durations.map((p) => p.attributes["effect_llm.feature"]).sort(), ["faq", undefined].sort())
      assert.isTrue(durations.every((p) => p.attributes["effect_llm.user"] === undefined))
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("budget scopes follow the feature and user disclosures", () => {
    const sdk = makeSdk({ feature: "spans" })
    return Effect.gen(function*() {
      yield* Effect.forEach(
        ["feature:faq-t-scope", "user:u-t-scope", "global"],
        (scope) => CallEvent.emit({ _tag: "BudgetDecision", decision: "reserved", scope, unit: "tokens", amount: 10 }),
        { discard: true }
      ).pipe(Effect.withSpan("t-scope"))
      const [span] = spanNamed(sdk.spans.getFinishedSpans(), "t-scope")
      assert.deepStrictEqual(span!.events.map((e) => e.attributes?.["effect_llm.budget.scope"]), [
        "feature:faq-t-scope",
        "user",
        "global"
      ])
      const metrics = yield* collectMetrics(sdk.reader)
      const scopes = points(metrics, "effect_llm.budget.decisions", { "effect_llm.budget.decision": "reserved" })
        .map((p) => p.attributes["effect_llm.budget.scope"])
      assert.notInclude(scopes, "feature:faq-t-scope")
      assert.notInclude(scopes, "user:u-t-scope")
      assert.include(scopes, "feature")
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("metrics: false records spans only", () => {
    const sdk = makeSdk({ metrics: false })
    return Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "openai", model: "t-nometrics" })
      yield* model.generate(request)
      assert.strictEqual(sdk.spans.getFinishedSpans().length, 1)
      const metrics = yield* collectMetrics(sdk.reader)
      assert.deepStrictEqual(
        points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": "t-nometrics" }),
        []
      )
    }).pipe(Effect.provide(sdk.layer))
  })

  it.scoped("the fiber's metric labels are kept", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "openai", model: "t-labels" })
      yield* model.generate(request).pipe(Effect.tagMetrics("tenant", "acme"))
      const metrics = yield* collectMetrics(sdk.reader)
      const durations = points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": "t-labels" })
      assert.strictEqual(durations.length, 1)
      assert.strictEqual(durations[0]!.attributes["tenant"], "acme")
      assert.strictEqual(durations[0]!.attributes["gen_ai.provider.name"], "openai")
    }).pipe(Effect.provide(sdk.layer))
  })
})

describe("Otel tree", () => {
  it.scoped("printTree renders calls, attempts, errors and events as an indented tree", () => {
    const tree = new Otel.TreeExporter({ printOnShutdown: false })
    return Effect.gen(function*() {
      const { model } = fakeProvider({
        provider: "openai",
        model: "t-tree",
        costUsd: 0.001,
        script: [new RateLimited({ provider: "openai", model: "t-tree" })]
      })
      yield* retrying(model, 2).pipe(Telemetry.traceCall).generate(request)
      const text = tree.render()
      const lines = text.trimEnd().split("\n")
      assert.match(
        lines[0]!,
        /^chat t-tree {2}\d+ ms {2}openai\/t-tree-2026-08-07 {2}tokens 120 in \/ 42 out {2}\$0\.001000$/
      )
      assert.match(lines[1]!, /^│ \* \+\d+ ms attempt 1$/)
      assert.match(lines[2]!, /^│ \* \+\d+ ms retry \(attempt 2\) in 2\.00 s after RateLimited$/)
      assert.match(lines[3]!, /^│ \* \+\d+ ms attempt 2$/)
      assert.match(lines[4]!, /^├─ chat t-tree {2}\d+ ms {2}attempt 1 {2}openai\/t-tree {2}error RateLimited$/)
      assert.match(lines[5]!, /^└─ chat t-tree {2}\d+ ms {2}attempt 2 {2}openai\/t-tree-2026-08-07 {2}tokens 120 in/)
      assert.strictEqual(lines.length, 6)
      assert.strictEqual(Otel.printTree(tree.finishedSpans), text)
    }).pipe(Effect.provide(Otel.layerTree({ exporter: tree })))
  })

  it.scoped("layerTree prints the tree when its scope closes", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const { model } = fakeProvider({ provider: "openai", model: "t-tree-print" })
      yield* Effect.scoped(
        Layer.build(Otel.layerTree({ write: (text) => out.push(text) })).pipe(
          Effect.flatMap((context) => Effect.provide(model.generate(request), context))
        )
      )
      assert.strictEqual(out.length, 1)
      assert.match(out[0]!, /^chat t-tree-print {2}\d+ ms {2}openai\/t-tree-print-2026-08-07/)
    }))
})
