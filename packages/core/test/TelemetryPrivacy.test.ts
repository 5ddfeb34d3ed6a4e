/**
 * Privacy: runs every telemetry scenario (success, failures of several tags, streams through
 * `stream` and `streamEach`, retries, fallback, cache hit, budget refusal) against in-memory span
 * and metric exporters and a capturing Logger, and checks that no API key, prompt, answer, user id
 * or request metadata appears in any span name, attribute, event, status, metric attribute or log
 * line — unless the options opt in.
 */
import { CallEvent, LanguageModel, Telemetry } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import {
  AuthenticationFailed,
  ConnectionError,
  ContentFiltered,
  InvalidRequest,
  RateLimited,
  ServerError,
  StreamInterrupted
} from "@effect-llm/core/LlmError"
import { assert, describe, it } from "@effect/vitest"
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Cause, Effect, Fiber, Logger, LogLevel, Redacted, Stream, TestClock } from "effect"
import {
  cached,
  collectMetrics,
  completionOf,
  fakeProvider,
  fallingBack,
  makeSdk,
  refusing,
  retrying,
  type Step
} from "./TelemetryHarness.js"

const FAKE_KEY = "sk-test-FAKEKEY-4c1d9e2b7a"
const PROMPT = "PROMPT-my-card-4111-was-declined"
const SYSTEM = "SYSTEM-you-are-a-secret-agent"
const USER = "user-alice@example.com"
const ANSWER = "The answer text" // what the fake provider answers

const secretRequest = (model: string): GenerateRequest => ({
  model,
  messages: [{ role: "system", content: SYSTEM }, { role: "user", content: PROMPT }],
  maxOutputTokens: 100,
  user: USER,
  feature: "support",
  metadata: { authorization: `Bearer ${FAKE_KEY}` }
})

/** Every scenario; each logs its failures the way an application would. */
const scenarios = (suffix: string) => {
  const apiKey = Redacted.make(FAKE_KEY)
  const logFailures = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(
      Effect.tapErrorCause((cause) => Effect.logWarning("model call failed", cause)),
      Effect.exit
    )
  const generateWith = (script: Array<Step>, name: string) => {
    const { model } = fakeProvider({ provider: "openai", model: `p-${name}-${suffix}`, script })
    return logFailures(
      Effect.logDebug("calling the provider", { apiKey }).pipe(
        Effect.zipRight(model.generate(secretRequest(`p-${name}-${suffix}`)))
      )
    )
  }
  const m = (name: string) => `p-${name}-${suffix}`
  const cutStream = (name: string) =>
    Stream.make({ _tag: "TextDelta" as const, text: ANSWER }).pipe(
      Stream.concat(Stream.fail(
        new StreamInterrupted({
          provider: "anthropic",
          model: m(name),
          partialText: ANSWER,
          detail: "socket hang up"
        })
      )),
      Telemetry.traceStream({ provider: "anthropic", model: m(name), request: secretRequest(m(name)) })
    )
  return [
    generateWith([], "ok"),
    generateWith([new RateLimited({ provider: "openai", model: m("429"), limit: "tokens" })], "429"),
    generateWith([new AuthenticationFailed({ provider: "openai", model: m("401"), status: 401 })], "401"),
    generateWith(
      [new InvalidRequest({ provider: "openai", model: m("400"), status: 400, param: "messages[1].content" })],
      "400"
    ),
    generateWith([new ServerError({ provider: "openai", model: m("500"), status: 500, detail: "upstream" })], "500"),
    generateWith([new ConnectionError({ provider: "openai", model: m("conn"), detail: "ECONNRESET" })], "conn"),
    generateWith(
      [new ContentFiltered({ provider: "openai", model: m("filter"), stage: "output", refusal: ANSWER })],
      "filter"
    ),
    generateWith(["defect"], "defect"),
    // a stream that succeeds (first chunk after 100 ms of TestClock time)
    Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "anthropic", model: m("stream"), firstChunkDelay: "100 millis" })
      const fiber = yield* Effect.fork(Stream.runDrain(model.stream(secretRequest(m("stream")))))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(fiber)
    }),
    // a stream cut after its first chunk
    logFailures(Stream.runDrain(cutStream("cut"))),
    // the same two under a call span, through streamEach
    Effect.gen(function*() {
      const { model } = fakeProvider({ provider: "anthropic", model: m("each"), firstChunkDelay: "100 millis" })
      const fiber = yield* Effect.fork(
        Telemetry.traceCall(model).streamEach(secretRequest(m("each")), () => Effect.void)
      )
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(fiber)
    }),
    logFailures(
      Telemetry.traceCall(LanguageModel.make({
        provider: "anthropic",
        model: m("each-cut"),
        generate: () => Effect.dieMessage("streamed calls only"),
        stream: () => cutStream("each-cut")
      })).streamEach(secretRequest(m("each-cut")), () => Effect.void)
    ),
    // retry-like repeated calls under a call span
    logFailures(
      retrying(
        fakeProvider({
          provider: "openai",
          model: m("retry"),
          script: [
            new RateLimited({ provider: "openai", model: m("retry") }),
            new ServerError({ provider: "openai", model: m("retry"), status: 503 })
          ]
        }).model,
        3
      ).pipe(Telemetry.traceCall).generate(secretRequest(m("retry")))
    ),
    // a fallback
    logFailures(
      Telemetry.traceCall(fallingBack(
        fakeProvider({
          provider: "openai",
          model: m("fb1"),
          script: [new RateLimited({ provider: "openai", model: m("fb1") })]
        }).model,
        fakeProvider({ provider: "anthropic", model: m("fb2") }).model
      )).generate(secretRequest(m("fb1")))
    ),
    // a cache hit
    logFailures(
      cached(fakeProvider({ provider: "openai", model: m("cache") }).model, completionOf("openai", m("cache"))).pipe(
        Telemetry.traceCall
      ).generate(secretRequest(m("cache")))
    ),
    // a budget refusal, with the user id in the budget scope
    logFailures(
      refusing(fakeProvider({ provider: "openai", model: m("budget") }).model, `user:${USER}`).pipe(
        Telemetry.traceCall
      ).generate(secretRequest(m("budget")))
    )
  ]
}

const spanTexts = (spans: ReadonlyArray<ReadableSpan>): Array<string> =>
  spans.flatMap((span) => [
    span.name,
    span.status.message ?? "",
    ...Object.entries(span.attributes).flatMap(([k, v]) => [k, JSON.stringify(v)]),
    ...span.events.flatMap((event) => [
      event.name,
      ...Object.entries(event.attributes ?? {}).flatMap(([k, v]) => [k, JSON.stringify(v)])
    ]),
    ...span.links.flatMap((link) => Object.entries(link.attributes ?? {}).flatMap(([k, v]) => [k, String(v)]))
  ])

const metricTexts = (metrics: ResourceMetrics): Array<string> =>
  metrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((m) => [
      m.descriptor.name,
      m.descriptor.description,
      ...(m.dataPoints as Array<{ attributes: Record<string, unknown> }>).flatMap((p) =>
        Object.entries(p.attributes).flatMap(([k, v]) => [k, String(v)])
      )
    ])
  )

const run = (suffix: string, options?: Partial<Telemetry.Options>) => {
  const sdk = makeSdk(options)
  const logs: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    logs.push(
      [
        logLevel.label,
        JSON.stringify(message),
        JSON.stringify([...annotations]),
        Cause.isEmpty(cause) ? "" : Cause.pretty(cause, { renderErrorCause: true })
      ].join(" ")
    )
  })
  return Effect.gen(function*() {
    yield* Effect.forEach(scenarios(suffix), (scenario) => scenario, { discard: true })
    const spans = sdk.spans.getFinishedSpans()
    const metrics = yield* collectMetrics(sdk.reader)
    return { spans, spanTexts: spanTexts(spans), metricTexts: metricTexts(metrics), logs }
  }).pipe(
    CallEvent.listen(Telemetry.logListener),
    Effect.provide(sdk.layer),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Logger.withMinimumLogLevel(LogLevel.All)
  )
}

const containing = (texts: ReadonlyArray<string>, needle: string) => texts.filter((t) => t.includes(needle))

describe("Telemetry privacy", () => {
  it.scoped("by default: no API key, prompt, answer, user id or metadata in spans, metrics or logs", () =>
    Effect.gen(function*() {
      const result = yield* run("default")
      // the scenarios did produce telemetry
      assert.isAtLeast(result.spans.length, 17)
      assert.isAtLeast(result.logs.length, 10)
      assert.isTrue(result.spanTexts.includes("effect_llm.retry"))
      assert.isTrue(result.logs.some((l) => l.includes("RateLimited")))
      for (const secret of [FAKE_KEY, PROMPT, SYSTEM, ANSWER, USER, "alice"]) {
        assert.deepStrictEqual(containing(result.spanTexts, secret), [], `span text contains ${secret}`)
        assert.deepStrictEqual(containing(result.metricTexts, secret), [], `metric text contains ${secret}`)
      }
      for (const secret of [FAKE_KEY, PROMPT, SYSTEM, ANSWER]) {
        assert.deepStrictEqual(containing(result.logs, secret), [], `log line contains ${secret}`)
      }
      // the telemetry's own log lines carry no user id either (the application's log of a
      // BudgetExceeded does: its message names the budget scope)
      const eventLogs = result.logs.filter((l) => l.includes("effect_llm.event"))
      assert.isAtLeast(eventLogs.length, 5)
      assert.deepStrictEqual(containing(eventLogs, "alice"), [])
    }))

  it.scoped("with content capture on: prompt and answer appear, the key and metadata still never do", () =>
    Effect.gen(function*() {
      const result = yield* run("optin", { captureContent: true, user: "spans" })
      assert.isAbove(containing(result.spanTexts, PROMPT).length, 0)
      assert.isAbove(containing(result.spanTexts, SYSTEM).length, 0)
      assert.isAbove(containing(result.spanTexts, ANSWER).length, 0)
      assert.isAbove(containing(result.spanTexts, USER).length, 0)
      assert.deepStrictEqual(containing(result.spanTexts, FAKE_KEY), [])
      assert.deepStrictEqual(containing(result.metricTexts, FAKE_KEY), [])
      assert.deepStrictEqual(containing(result.logs, FAKE_KEY), [])
      // users in spans only: metrics stay free of user ids
      assert.deepStrictEqual(containing(result.metricTexts, USER), [])
      assert.deepStrictEqual(containing(result.metricTexts, PROMPT), [])
    }))

  it.effect("the log listener keeps user ids out of budget lines", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => {
        logs.push(JSON.stringify(message))
      })
      yield* CallEvent.emit({
        _tag: "BudgetDecision",
        decision: "refused",
        scope: `user:${USER}`,
        unit: "usd",
        amount: 1
      }).pipe(
        CallEvent.listen(Telemetry.logListener),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      assert.strictEqual(logs.length, 1)
      assert.include(logs[0]!, "budget user: refused")
      assert.notInclude(logs[0]!, USER)
    }))
})
