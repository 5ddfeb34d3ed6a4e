/**
 * Telemetry with the real SDKs against the emulator, for both providers: the GenAI attributes of a
 * success, a retry then success, a fallback, a cache hit, a budget refusal and a streamed call
 * (through `stream` and through `streamEach`), exported through an in-memory OpenTelemetry SDK.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import {
  Budget,
  BudgetStore,
  Cache,
  CacheStore,
  Fallback,
  LanguageModel,
  ModelCatalog,
  Retry,
  Telemetry,
  Tokenizer
} from "@effect-llm/core"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Emulator } from "@effect-llm/testing"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Fiber, Layer, Redacted, Stream } from "effect"

const SECRET = "sk-telemetry-secret-key"
const PROMPT = "the prompt text that must not be recorded"

interface Setup {
  readonly name: "openai" | "anthropic"
  readonly model: string
  readonly make: (emulator: Emulator.Service) => Effect.Effect<LanguageModel.With<any>, unknown, any>
}

const setups: ReadonlyArray<Setup> = [
  {
    name: "openai",
    model: "gpt-5-mini",
    make: (emulator) =>
      Effect.map(
        Layer.build(OpenAiClient.layer({ apiKey: Redacted.make(SECRET), baseUrl: emulator.openAiBaseUrl })),
        (context) => OpenAiLanguageModel.make("gpt-5-mini").pipe(LanguageModel.provideContext(context))
      )
  },
  {
    name: "anthropic",
    model: "claude-haiku-4-5",
    make: (emulator) =>
      Effect.map(
        Layer.build(AnthropicClient.layer({ apiKey: Redacted.make(SECRET), baseUrl: emulator.anthropicBaseUrl })),
        (context) => AnthropicLanguageModel.make("claude-haiku-4-5").pipe(LanguageModel.provideContext(context))
      )
  }
]

const request = { messages: [{ role: "user" as const, content: PROMPT }], maxOutputTokens: 50, temperature: 0 }

/** The two ways of making a streamed call: an Effect `Stream`, or `streamEach` with no `Stream`. */
const streamedCalls: ReadonlyArray<{
  readonly kind: "stream" | "streamEach"
  readonly call: (model: LanguageModel.With<any>, onEvent: LanguageModel.OnEvent) => Effect.Effect<unknown, unknown>
}> = [
  { kind: "stream", call: (model, onEvent) => Stream.runForEach(model.stream(request), onEvent) },
  { kind: "streamEach", call: (model, onEvent) => model.streamEach(request, onEvent) }
]

const sdk = () => {
  const spans = new InMemorySpanExporter()
  const layer = Layer.merge(
    Layer.discard(NodeSdk.layer(() => ({
      resource: { serviceName: "e2e" },
      spanProcessor: new SimpleSpanProcessor(spans)
    }))),
    Telemetry.layer()
  )
  return { spans, layer }
}

const children = (all: ReadonlyArray<ReadableSpan>, parent: ReadableSpan) =>
  all.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)

const assertNoSecrets = (spans: ReadonlyArray<ReadableSpan>) => {
  const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })))
  assert.notInclude(text, SECRET)
  assert.notInclude(text, PROMPT)
}

describe.each(setups)("telemetry through $name", (setup) => {
  /** A provider attempt's span: CLIENT, with the GenAI attributes of the test's request. */
  const assertClientRequest = (span: ReadableSpan) => {
    const a = span.attributes
    assert.strictEqual(span.kind, 2) // CLIENT
    assert.strictEqual(a["gen_ai.operation.name"], "chat")
    assert.strictEqual(a["gen_ai.provider.name"], setup.name)
    assert.strictEqual(a["gen_ai.request.model"], setup.model)
    assert.strictEqual(a["gen_ai.request.max_tokens"], 50)
    assert.strictEqual(a["gen_ai.request.temperature"], 0)
  }
  const run = <A, E>(
    body: (
      model: LanguageModel.With<any>,
      emulator: Emulator.Service,
      spans: InMemorySpanExporter
    ) => Effect.Effect<A, E, any>
  ) => {
    const { layer, spans } = sdk()
    return Effect.gen(function*() {
      const emulator = yield* Emulator.make({ seed: 3 })
      const model = yield* setup.make(emulator)
      return yield* body(model, emulator, spans)
    }).pipe(Effect.scoped, Effect.provide(layer)) as Effect.Effect<A, E>
  }

  it.live("a success: one CLIENT span with the GenAI request and response attributes", () =>
    run((model, emulator, spans) =>
      Effect.gen(function*() {
        const completion = yield* model.generate(request)
        const [span] = spans.getFinishedSpans().filter((s) => s.name === `chat ${setup.model}`)
        assert.isDefined(span)
        const a = span!.attributes
        assertClientRequest(span!)
        assert.strictEqual(a["gen_ai.request.stream"], false)
        assert.strictEqual(a["gen_ai.response.model"], completion.servedModel)
        assert.match(String(a["gen_ai.response.model"]), /\d/)
        assert.strictEqual(a["gen_ai.response.id"], completion.responseId)
        assert.deepStrictEqual(a["gen_ai.response.finish_reasons"], ["stop"])
        assert.strictEqual(a["gen_ai.usage.input_tokens"], completion.usage.inputTokens)
        assert.strictEqual(a["gen_ai.usage.output_tokens"], completion.usage.outputTokens)
        assert.strictEqual(a["server.address"], "127.0.0.1")
        assert.strictEqual(a["server.port"], Number(new URL(emulator.url).port))
        assertNoSecrets(spans.getFinishedSpans())
      })
    ))

  it.live("a retry then success: a call span with two attempt children and a retry event", () =>
    run((model, emulator, spans) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "RateLimited", retryAfterMs: 10 }])
        const traced = model.pipe(
          Retry.withPolicy({ ...Retry.standard, schedule: Retry.backoff({ base: "5 millis" }) }),
          Telemetry.traceCall
        )
        yield* traced.generate(request)
        const finished = spans.getFinishedSpans()
        const call = finished.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        assert.isDefined(call)
        const attempts = children(finished, call)
        assert.deepStrictEqual(attempts.map((s) => s.attributes["effect_llm.attempt"]), [1, 2])
        assert.strictEqual(attempts[0]!.attributes["error.type"], "RateLimited")
        assert.isUndefined(attempts[1]!.attributes["error.type"])
        const retry = call.events.find((e) => e.name === "effect_llm.retry")
        assert.isDefined(retry)
        assert.strictEqual(retry!.attributes!["effect_llm.retry.reason"], "RateLimited")
        assertNoSecrets(finished)
      })
    ))

  it.live("a fallback: the attempts of both models under one call span, and a fallback event", () =>
    run((model, emulator, spans) =>
      Effect.gen(function*() {
        const other = setups.find((s) => s.name !== setup.name)!
        const backup = yield* other.make(emulator)
        yield* emulator.script([{ _tag: "ServerError", status: 503 }], { model: setup.model })
        const traced = model.pipe(Fallback.to(backup), Telemetry.traceCall)
        const completion = yield* traced.generate(request)
        assert.strictEqual(completion.provider, other.name)
        const finished = spans.getFinishedSpans()
        const call = finished.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        const attempts = children(finished, call)
        assert.deepStrictEqual(attempts.map((s) => s.attributes["gen_ai.provider.name"]), [setup.name, other.name])
        assert.strictEqual(call.attributes["gen_ai.provider.name"], other.name)
        assert.isDefined(call.events.find((e) => e.name === "effect_llm.fallback"))
      })
    ))

  it.live("a cache hit: the call span says hit and has no attempt", () =>
    run((model, _emulator, spans) =>
      Effect.gen(function*() {
        const traced = model.pipe(Cache.withCache(), Telemetry.traceCall)
        yield* traced.generate(request)
        spans.reset()
        const hit = yield* traced.generate(request)
        assert.strictEqual(hit.cache, "hit")
        const finished = spans.getFinishedSpans()
        const call = finished.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        assert.strictEqual(call.attributes["effect_llm.cache.status"], "hit")
        assert.strictEqual(children(finished, call).length, 0)
      }).pipe(Effect.provide(CacheStore.layerMemory()))
    ))

  it.live("a budget refusal: error.type BudgetExceeded and a refused budget event, no attempt", () =>
    run((model, emulator, spans) =>
      Effect.gen(function*() {
        const traced = model.pipe(
          Budget.enforce({ perUser: [Budget.usd(0.000001, Budget.daily())] }),
          Telemetry.traceCall
        )
        const error = yield* Effect.flip(traced.generate({ ...request, user: "alice" }))
        assert.strictEqual(error._tag, "BudgetExceeded")
        const finished = spans.getFinishedSpans()
        const call = finished.find((s) => s.attributes["effect_llm.span.role"] === "call")!
        assert.strictEqual(call.attributes["error.type"], "BudgetExceeded")
        assert.isDefined(call.events.find((e) => e.name === "effect_llm.budget"))
        assert.strictEqual(children(finished, call).length, 0)
        assert.strictEqual((yield* emulator.requests).length, 0)
        // the user id is not recorded unless allowed
        assert.notInclude(JSON.stringify(finished.map((s) => [s.attributes, s.events])), "alice")
      }).pipe(Effect.provide(Layer.mergeAll(BudgetStore.layerMemory, ModelCatalog.layer, Tokenizer.layer)))
    ))

  for (const { call, kind } of streamedCalls) {
    it.live(`a ${kind}: gen_ai.request.stream, time to first chunk and the usage of the Finish`, () =>
      run((model, emulator, spans) =>
        Effect.gen(function*() {
          const events: Array<StreamEvent> = []
          yield* call(model, (event) => Effect.sync(() => events.push(event)))
          const finish = events.find((e) => e._tag === "Finish")!
          const chats = spans.getFinishedSpans().filter((s) => s.name === `chat ${setup.model}`)
          assert.strictEqual(chats.length, 1)
          const [span] = chats
          const a = span!.attributes
          assert.strictEqual(a["gen_ai.request.stream"], true)
          assert.isAbove(Number(a["gen_ai.response.time_to_first_chunk"]), 0)
          assert.strictEqual(
            a["gen_ai.usage.output_tokens"],
            finish._tag === "Finish" ? finish.completion.usage.outputTokens : -1
          )
          // the provider attempt: a CLIENT span with the GenAI request and response attributes
          assertClientRequest(span!)
          if (finish._tag === "Finish") {
            assert.strictEqual(a["gen_ai.response.model"], finish.completion.servedModel)
            assert.strictEqual(a["gen_ai.response.id"], finish.completion.responseId)
            assert.strictEqual(a["gen_ai.usage.input_tokens"], finish.completion.usage.inputTokens)
          }
          assert.deepStrictEqual(a["gen_ai.response.finish_reasons"], ["stop"])
          assert.strictEqual(a["server.address"], "127.0.0.1")
          assert.strictEqual(a["server.port"], Number(new URL(emulator.url).port))
          assert.isUndefined(a["error.type"])
          assertNoSecrets(spans.getFinishedSpans())
        })
      ))

    it.live(`a ${kind} retried then answered: a call span with two streamed attempt children and a retry event`, () =>
      run((model, emulator, spans) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "RateLimited", retryAfterMs: 10 }])
          const traced = model.pipe(
            Retry.withPolicy({ ...Retry.standard, schedule: Retry.backoff({ base: "5 millis" }) }),
            Telemetry.traceCall
          )
          const events: Array<StreamEvent> = []
          yield* call(traced, (event) => Effect.sync(() => events.push(event)))
          assert.strictEqual(events[events.length - 1]?._tag, "Finish")
          const finished = spans.getFinishedSpans()
          const calls = finished.filter((s) => s.attributes["effect_llm.span.role"] === "call")
          assert.strictEqual(calls.length, 1)
          const attempts = children(finished, calls[0]!)
          assert.deepStrictEqual(attempts.map((s) => s.attributes["effect_llm.attempt"]), [1, 2])
          assert.deepStrictEqual(attempts.map((s) => s.attributes["gen_ai.request.stream"]), [true, true])
          assert.strictEqual(attempts[0]!.attributes["error.type"], "RateLimited")
          assert.isUndefined(attempts[1]!.attributes["error.type"])
          assert.isAbove(Number(attempts[1]!.attributes["gen_ai.response.time_to_first_chunk"]), 0)
          assert.strictEqual(calls[0]!.attributes["effect_llm.attempts"], 2)
          const retry = calls[0]!.events.find((e) => e.name === "effect_llm.retry")
          assert.isDefined(retry)
          assert.strictEqual(retry!.attributes!["effect_llm.retry.reason"], "RateLimited")
          assertNoSecrets(finished)
        })
      ))

    it.live(`a ${kind} through Retry alone: one chat span per request, the first failed, the second answered`, () =>
      run((model, emulator, spans) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "ServerError", status: 503 }])
          const retried = model.pipe(
            Retry.withPolicy({ ...Retry.standard, schedule: Retry.backoff({ base: "5 millis" }) })
          )
          yield* call(retried, () => Effect.void)
          const chats = spans.getFinishedSpans().filter((s) => s.name === `chat ${setup.model}`)
          assert.strictEqual(chats.length, 2)
          assert.deepStrictEqual(chats.map((s) => s.attributes["gen_ai.request.stream"]), [true, true])
          assert.strictEqual(chats[0]!.attributes["error.type"], "ServerError")
          assert.isUndefined(chats[1]!.attributes["error.type"])
          assert.isNumber(chats[1]!.attributes["gen_ai.usage.output_tokens"])
          assert.strictEqual((yield* emulator.requests).length, 2)
        })
      ))

    it.live(`a ${kind} cut after its first text: the attempt span records StreamInterrupted`, () =>
      run((model, emulator, spans) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "Cut", afterChunks: 2 }])
          const seen: Array<StreamEvent> = []
          const error = yield* Effect.flip(call(model, (event) => Effect.sync(() => seen.push(event))))
          assert.strictEqual((error as { _tag: string })._tag, "StreamInterrupted")
          assert.deepStrictEqual(seen.map((e) => e._tag), ["TextDelta", "TextDelta"])
          const chats = spans.getFinishedSpans().filter((s) => s.name === `chat ${setup.model}`)
          assert.strictEqual(chats.length, 1)
          assert.strictEqual(chats[0]!.attributes["error.type"], "StreamInterrupted")
          assert.isAbove(Number(chats[0]!.attributes["gen_ai.response.time_to_first_chunk"]), 0)
        })
      ))

    it.live(`a ${kind} interrupted while it waits for its first event: the attempt span ends, Interrupted`, () =>
      run((model, emulator, spans) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 5000 }])
          const fiber = yield* Effect.fork(call(model, () => Effect.void))
          yield* emulator.awaitRequest(() => true)
          yield* Fiber.interrupt(fiber)
          yield* emulator.awaitRequest((r) => r.disconnected)
          const chats = spans.getFinishedSpans().filter((s) => s.name === `chat ${setup.model}`)
          assert.strictEqual(chats.length, 1, "the attempt span ended")
          assert.strictEqual(chats[0]!.attributes["error.type"], "Interrupted")
          assert.strictEqual(chats[0]!.attributes["gen_ai.request.stream"], true)
        })
      ))
  }
})
