/**
 * Telemetry with the real policies (Retry, Fallback): the call span has one child per attempt and
 * the policies' decisions as events.
 */
import { Telemetry } from "@effect-llm/core"
import * as Fallback from "@effect-llm/core/Fallback"
import { RateLimited, ServerError } from "@effect-llm/core/LlmError"
import * as Retry from "@effect-llm/core/Retry"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import { collectMetrics, fakeProvider, makeSdk, points } from "./TelemetryHarness.js"

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
