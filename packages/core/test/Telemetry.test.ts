import { CallEvent, LanguageModel, Telemetry } from "@effect-llm/core"
import { InvalidRequest, RateLimited } from "@effect-llm/core/LlmError"
import * as Otel from "@effect-llm/core/Otel"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Fiber, FiberRef, Layer, Stream, TestClock } from "effect"
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
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 42,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_creation.input_tokens": 8,
        "gen_ai.usage.reasoning.output_tokens": 12,
        "effect_llm.request_id": "req_456",
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

  it.scoped("stream: gen_ai.request.stream, time to first chunk (TestClock), the Finish completion", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "anthropic", model: "t-stream", firstChunkDelay: "250 millis" })
      const traced = Telemetry.traceCall(model)
      const fiber = yield* Effect.fork(Stream.runCollect(traced.stream(request)))
      yield* TestClock.adjust("250 millis")
      const events = yield* Fiber.join(fiber)
      assert.strictEqual(events.length, 3)

      const spans = sdk.spans.getFinishedSpans()
      const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
      const attempt = spans.find((s) => s.attributes["effect_llm.span.role"] === "attempt")!
      assert.strictEqual(attempt.parentSpanContext?.spanId, call.spanContext().spanId)
      for (const span of [call, attempt]) {
        assert.strictEqual(span.attributes["gen_ai.request.stream"], true)
        assert.strictEqual(span.attributes["gen_ai.response.time_to_first_chunk"], 0.25)
        assert.deepStrictEqual(span.attributes["gen_ai.response.finish_reasons"], ["stop"])
        assert.strictEqual(span.attributes["gen_ai.usage.input_tokens"], 120)
      }
      assert.strictEqual(attempt.kind, SpanKind.CLIENT)
      assert.strictEqual(attempt.attributes["effect_llm.attempt"], 1)

      const metrics = yield* collectMetrics(sdk.reader)
      const ttfc = points(metrics, "gen_ai.client.operation.time_to_first_chunk", {
        "gen_ai.request.model": "t-stream"
      })
      assert.strictEqual(histogramPoint(ttfc[0]).count, 1)
      assert.strictEqual(histogramPoint(ttfc[0]).sum, 0.25)
      const duration = points(metrics, "gen_ai.client.operation.duration", { "gen_ai.request.model": "t-stream" })
      assert.strictEqual(histogramPoint(duration[0]).sum, 0.25)
      const output = points(metrics, "gen_ai.client.token.usage", {
        "gen_ai.request.model": "t-stream",
        "gen_ai.token.type": "output"
      })
      assert.strictEqual(histogramPoint(output[0]).sum, 42)
    }).pipe(Effect.provide(sdk.layer))
  })

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
