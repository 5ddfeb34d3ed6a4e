/**
 * Telemetry with the real policies (Retry, Fallback): the call span has one child per attempt and
 * the policies' decisions as events.
 */
import { LanguageModel, StreamEvent, Telemetry } from "@effect-llm/core"
import * as Fallback from "@effect-llm/core/Fallback"
import { type LlmError, RateLimited, ServerError } from "@effect-llm/core/LlmError"
import * as Retry from "@effect-llm/core/Retry"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Stream, TestClock } from "effect"
import { apis, runEvents } from "./streamApis.js"
import { collectMetrics, completionOf, fakeProvider, makeSdk, points } from "./TelemetryHarness.js"

const request = { messages: [{ role: "user" as const, content: "hello" }] }

describe("Telemetry with the real policies", () => {
  it.scoped("Retry.withPolicy: attempts as child spans, the retry with its delay as an event", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const { model } = fakeProvider({
        provider: "openai",
        model: "t-real-retry",
        script: [new RateLimited({ provider: "openai", model: "t-real-retry", retryAfter: Duration.seconds(3) })]
      })
      const traced = model.pipe(Retry.withPolicy(Retry.standard), Telemetry.traceCall)
      const fiber = yield* Effect.fork(traced.generate(request))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(fiber)

      const spans = sdk.spans.getFinishedSpans()
      const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
      const attempts = spans.filter((s) => s.attributes["effect_llm.span.role"] === "attempt")
      assert.deepStrictEqual(attempts.map((a) => a.attributes["error.type"]), ["RateLimited", undefined])
      assert.isTrue(attempts.every((a) => a.parentSpanContext?.spanId === call.spanContext().spanId))
      const retry = call.events.find((e) => e.name === "effect_llm.retry")!
      assert.strictEqual(retry.attributes?.["effect_llm.retry.reason"], "RateLimited")
      assert.strictEqual(retry.attributes?.["effect_llm.retry.delay_ms"], 3000)
      const metrics = yield* collectMetrics(sdk.reader)
      assert.strictEqual(points(metrics, "effect_llm.retries", { "gen_ai.request.model": "t-real-retry" })[0]!.value, 1)
    }).pipe(Effect.provide(sdk.layer))
  })

  for (const api of apis) {
    it.scoped(`Retry.withPolicy, a streamed call: the attempts and the retry under one call span (${api})`, () => {
      const sdk = makeSdk()
      const name = `t-real-retry-stream-${api}`
      let calls = 0
      const model = LanguageModel.make<LlmError, never>({
        provider: "openai",
        model: name,
        generate: () => Effect.dieMessage("streamed calls only"),
        stream: (request) =>
          Stream.suspend(() =>
            ++calls === 1
              ? Stream.fail(new RateLimited({ provider: "openai", model: name, retryAfter: Duration.seconds(3) }))
              : Stream.make(StreamEvent.textDelta("The answer text"), StreamEvent.finish(completionOf("openai", name)))
          ).pipe(Telemetry.traceStream({ provider: "openai", model: name, request }))
      })
      return Effect.gen(function*() {
        const traced = model.pipe(Retry.withPolicy(Retry.standard), Telemetry.traceCall)
        const fiber = yield* Effect.fork(runEvents(traced, request, api))
        yield* TestClock.adjust("3 seconds")
        const events = yield* Fiber.join(fiber)
        assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "Finish"])

        const spans = sdk.spans.getFinishedSpans()
        const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        const attempts = spans.filter((s) => s.attributes["effect_llm.span.role"] === "attempt")
        assert.strictEqual(spans.length, 3)
        assert.deepStrictEqual(attempts.map((a) => a.attributes["error.type"]), ["RateLimited", undefined])
        assert.deepStrictEqual(attempts.map((a) => a.attributes["effect_llm.attempt"]), [1, 2])
        assert.isTrue(attempts.every((a) => a.parentSpanContext?.spanId === call.spanContext().spanId))
        assert.strictEqual(call.attributes["gen_ai.request.stream"], true)
        assert.strictEqual(call.attributes["effect_llm.attempts"], 2)
        assert.strictEqual(call.attributes["gen_ai.usage.output_tokens"], 42)
        assert.strictEqual(call.attributes["gen_ai.response.time_to_first_chunk"], 3)
        assert.isUndefined(call.attributes["error.type"])
        const retry = call.events.find((e) => e.name === "effect_llm.retry")!
        assert.strictEqual(retry.attributes?.["effect_llm.retry.reason"], "RateLimited")
        assert.strictEqual(retry.attributes?.["effect_llm.retry.delay_ms"], 3000)
      }).pipe(Effect.provide(sdk.layer))
    })
  }

  it.scoped("Fallback.to: both providers' attempts under one call span, the fallback as an event", () => {
    const sdk = makeSdk()
    return Effect.gen(function*() {
      const primary = fakeProvider({
        provider: "openai",
        model: "t-real-fb1",
        script: [new ServerError({ provider: "openai", model: "t-real-fb1", status: 503 })]
      })
      const secondary = fakeProvider({ provider: "anthropic", model: "t-real-fb2" })
      const traced = primary.model.pipe(Fallback.to(secondary.model), Telemetry.traceCall)
      const completion = yield* traced.generate(request)
      assert.strictEqual(completion.provider, "anthropic")

      const spans = sdk.spans.getFinishedSpans()
      const call = spans.find((s) => s.attributes["effect_llm.span.role"] === "call")!
      const attempts = spans.filter((s) => s.attributes["effect_llm.span.role"] === "attempt")
      assert.deepStrictEqual(attempts.map((a) => a.attributes["gen_ai.provider.name"]), ["openai", "anthropic"])
      assert.strictEqual(call.attributes["gen_ai.provider.name"], "anthropic")
      assert.strictEqual(call.attributes["effect_llm.attempts"], 2)
      const fallback = call.events.find((e) => e.name === "effect_llm.fallback")!
      assert.strictEqual(fallback.attributes?.["effect_llm.fallback.reason"], "ServerError")
      assert.strictEqual(fallback.attributes?.["effect_llm.fallback.to.model"], "t-real-fb2")
    }).pipe(Effect.provide(sdk.layer))
  })
})
