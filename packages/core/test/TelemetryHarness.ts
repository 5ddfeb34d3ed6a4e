/**
 * Shared test kit of the telemetry tests: an in-memory OpenTelemetry SDK (spans and metrics), a
 * scripted fake provider that calls `Telemetry.traceGenerate` / `traceStream` as a real adapter does,
 * and small policy stand-ins that emit `CallEvent`s the way Retry, Fallback, Cache and Budget do.
 */
import { CallEvent, LanguageModel, StreamEvent, Telemetry } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { BudgetExceeded, type LlmError } from "@effect-llm/core/LlmError"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { DataPoint, Histogram, MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { type Duration, Effect, Layer, Stream } from "effect"

export class TestMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

export interface Sdk {
  readonly spans: InMemorySpanExporter
  readonly reader: TestMetricReader
  readonly layer: Layer.Layer<never>
}

/** A fresh in-memory SDK plus the telemetry listener. */
export const makeSdk = (options?: Partial<Telemetry.Options>): Sdk => {
  const spans = new InMemorySpanExporter()
  const reader = new TestMetricReader()
  const sdk = NodeSdk.layer(() => ({
    resource: { serviceName: "telemetry-test" },
    spanProcessor: new SimpleSpanProcessor(spans),
    metricReader: reader
  }))
  return { spans, reader, layer: Layer.merge(Layer.discard(sdk), Telemetry.layer(options)) }
}

export const collectMetrics = (reader: TestMetricReader): Effect.Effect<ResourceMetrics> =>
  Effect.promise(() => reader.collect()).pipe(Effect.map((result) => result.resourceMetrics))

export const metric = (metrics: ResourceMetrics, name: string): MetricData | undefined => {
  for (const scope of metrics.scopeMetrics) {
    for (const m of scope.metrics) if (m.descriptor.name === name) return m
  }
  return undefined
}

/** The data points of a metric whose attributes include all of `match`. */
export const points = (
  metrics: ResourceMetrics,
  name: string,
  match: Record<string, string>
): Array<DataPoint<unknown>> => {
  const m = metric(metrics, name)
  if (m === undefined) return []
  return (m.dataPoints as Array<DataPoint<unknown>>).filter((p) =>
    Object.entries(match).every(([k, v]) => p.attributes[k] === v)
  )
}

export const histogramPoint = (point: DataPoint<unknown> | undefined): Histogram => {
  if (point === undefined) throw new Error("no data point")
  return point.value as Histogram
}

export const spanNamed = (spans: ReadonlyArray<ReadableSpan>, name: string): Array<ReadableSpan> =>
  spans.filter((s) => s.name === name)

export const usage = {
  inputTokens: 120,
  cachedInputTokens: 100,
  cacheWriteInputTokens: 8,
  outputTokens: 42,
  reasoningTokens: 12
}

export const completionOf = (provider: string, model: string, overrides?: Partial<Completion>): Completion => ({
  text: "The answer text",
  finishReason: "stop",
  usage,
  provider,
  model,
  servedModel: `${model}-2026-08-07`,
  responseId: "resp_123",
  requestId: "req_456",
  attempts: [{ provider, model, outcome: "success" }],
  ...overrides
})

export type Step = "ok" | LlmError | "defect"

/**
 * A fake provider: each `generate` consumes one step of the script (answers "ok" when empty) and is
 * traced by `Telemetry.traceGenerate` as a real adapter is; `stream` answers with three chunks, the
 * first after `firstChunkDelay` (TestClock time).
 */
export const fakeProvider = (options: {
  readonly provider: string
  readonly model: string
  readonly script?: Array<Step>
  readonly costUsd?: number
  readonly firstChunkDelay?: Duration.DurationInput
}) => {
  const script = options.script ?? []
  const calls: Array<GenerateRequest> = []
  const info = (request: GenerateRequest): Telemetry.CallInfo => ({
    provider: options.provider,
    model: options.model,
    request,
    serverAddress: "api.example.test",
    serverPort: 443
  })
  const model = LanguageModel.make<LlmError, never>({
    provider: options.provider,
    model: options.model,
    generate: (request) =>
      Effect.suspend(() => {
        calls.push(request)
        const step = script.shift() ?? "ok"
        if (step === "ok") {
          return Effect.succeed(
            completionOf(
              options.provider,
              request.model ?? options.model,
              options.costUsd !== undefined ? { costUsd: options.costUsd } : {}
            )
          )
        }
        if (step === "defect") return Effect.die(new Error("boom"))
        return Effect.fail(step)
      }).pipe(Telemetry.traceGenerate(info(request))),
    stream: (request) =>
      Stream.fromEffect(
        Effect.sleep(options.firstChunkDelay ?? "0 millis").pipe(Effect.as(StreamEvent.textDelta("The answer")))
      ).pipe(
        Stream.concat(Stream.make(
          StreamEvent.textDelta(" text"),
          StreamEvent.finish(completionOf(options.provider, request.model ?? options.model))
        )),
        Telemetry.traceStream(info(request))
      )
  })
  return { model, calls }
}

/** A stand-in for the Retry policy: retries any failure up to `times`, emitting `RetryScheduled`. */
export const retrying = <E extends { readonly _tag: string }, R>(
  model: LanguageModel.With<E, R>,
  times: number
): LanguageModel.With<E, R> =>
  LanguageModel.transform(model, {
    generate: (generate) => (request) => {
      const loop = (attempt: number): Effect.Effect<Completion, E, R> =>
        CallEvent.emit({ _tag: "AttemptStarted", provider: model.provider, model: model.model, attempt }).pipe(
          Effect.zipRight(generate(request)),
          Effect.catchAll((error) =>
            attempt > times ? Effect.fail(error) : CallEvent.emit({
              _tag: "RetryScheduled",
              provider: model.provider,
              model: model.model,
              attempt: attempt + 1, // as Retry does: the attempt that comes next
              delayMillis: 2000,
              reason: error._tag as LlmError["_tag"]
            }).pipe(Effect.zipRight(loop(attempt + 1)))
          )
        )
      return loop(1)
    },
    stream: (stream) => stream
  })

/** A stand-in for Fallback: on failure, emits `FallbackTriggered` and asks the second model. */
export const fallingBack = <E1 extends { readonly _tag: string }, E2>(
  primary: LanguageModel.With<E1>,
  secondary: LanguageModel.With<E2>
): LanguageModel.With<E1 | E2> =>
  LanguageModel.make({
    provider: primary.provider,
    model: primary.model,
    generate: (request) =>
      primary.generate(request).pipe(
        Effect.catchAll((error): Effect.Effect<Completion, E1 | E2> =>
          CallEvent.emit({
            _tag: "FallbackTriggered",
            from: { provider: primary.provider, model: primary.model },
            to: { provider: secondary.provider, model: secondary.model },
            reason: error._tag as LlmError["_tag"]
          }).pipe(Effect.zipRight(secondary.generate({ ...request, model: secondary.model })))
        )
      ),
    stream: (request) => primary.stream(request)
  })

/** A stand-in for the cache: answers from the cache without calling the model. */
export const cached = <E, R>(model: LanguageModel.With<E, R>, hit: Completion): LanguageModel.With<E, R> =>
  LanguageModel.transform(model, {
    generate: () => () =>
      CallEvent.emit({ _tag: "CacheLookup", status: "hit", provider: model.provider, model: model.model }).pipe(
        Effect.as({ ...hit, cache: "hit" as const })
      ),
    stream: (stream) => stream
  })

/** A stand-in for the budget policy: refuses every call. */
export const refusing = <E, R>(
  model: LanguageModel.With<E, R>,
  scope: string
): LanguageModel.With<E | BudgetExceeded, R> =>
  LanguageModel.transform<E, R, E | BudgetExceeded, R>(model, {
    generate: () => () =>
      CallEvent.emit({ _tag: "BudgetDecision", decision: "refused", scope, unit: "usd", amount: 0.5 }).pipe(
        Effect.zipRight(
          Effect.fail(
            new BudgetExceeded({
              provider: model.provider,
              model: model.model,
              scope,
              unit: "usd",
              limit: 5,
              spent: 4.9,
              requested: 0.5
            })
          )
        )
      ),
    stream: (stream) => stream
  })
