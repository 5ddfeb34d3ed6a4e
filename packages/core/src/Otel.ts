/**
 * One-line OpenTelemetry setup for effect-llm on Node: `Otel.layer` exports Effect's spans and
 * metrics (ours included) over OTLP/HTTP and installs the telemetry listener that turns policy
 * decisions into span events; `Otel.layerTree` prints the trace tree of a run to the terminal
 * instead (what `pnpm demo --trace` uses).
 *
 * This module needs the optional peer dependencies `@effect/opentelemetry`,
 * `@opentelemetry/sdk-trace-base`, `@opentelemetry/sdk-metrics`,
 * `@opentelemetry/exporter-trace-otlp-http` and `@opentelemetry/exporter-metrics-otlp-http`; the
 * rest of effect-llm does not. With an OpenTelemetry SDK of your own, skip this module and provide
 * `Telemetry.layer()` next to your `NodeSdk.layer(...)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Otel from "@effect-llm/core/Otel"
 *
 * declare const program: Effect.Effect<void>
 *
 * // OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)
 * program.pipe(Effect.provide(Otel.layer({ serviceName: "support-desk" })))
 *
 * // or: print the trace tree when the program ends
 * program.pipe(Effect.provide(Otel.layerTree()))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import {
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { renderTree, type TreeOptions } from "./internal/telemetryTree.js"
import * as Telemetry from "./Telemetry.js"

/**
 * Options of `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `service.name` of the resource. */
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** More resource attributes (`deployment.environment.name`, ...). */
  readonly resourceAttributes?: Record<string, string> | undefined
  /**
   * Base URL of the OTLP/HTTP endpoint (`/v1/traces` and `/v1/metrics` are appended). Defaults to
   * the standard `OTEL_EXPORTER_OTLP_*` environment variables, then `http://localhost:4318`.
   */
  readonly endpoint?: string | undefined
  /** Headers for the collector (API keys as `Redacted`). */
  readonly headers?: Record<string, string | Redacted.Redacted<string>> | undefined
  /** Export metrics too (default `true`). */
  readonly metrics?: boolean | undefined
  /** How often metrics are exported (default 60 seconds). */
  readonly metricsInterval?: Duration.DurationInput | undefined
  /** What telemetry records beyond metadata (content capture, users, features). */
  readonly telemetry?: Partial<Telemetry.Options> | undefined
  /** How long shutdown may take to flush (default 3 seconds). */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

const plainHeaders = (
  headers: Record<string, string | Redacted.Redacted<string>> | undefined
): Record<string, string> | undefined => {
  if (headers === undefined) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = Redacted.isRedacted(v) ? Redacted.value(v) : v
  return out
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, "")}${path}`

/**
 * Exports traces (batched) and metrics (periodically) over OTLP/HTTP and installs the telemetry
 * listener. Everything is flushed when the layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Resource.Resource> => {
  const sdk = NodeSdk.layer(() => {
    const headers = plainHeaders(options.headers)
    const traceExporter = new OTLPTraceExporter({
      ...(options.endpoint !== undefined ? { url: join(options.endpoint, "/v1/traces") } : {}),
      ...(headers !== undefined ? { headers } : {})
    })
    const metricReader = options.metrics === false ? undefined : new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({
        ...(options.endpoint !== undefined ? { url: join(options.endpoint, "/v1/metrics") } : {}),
        ...(headers !== undefined ? { headers } : {})
      }),
      exportIntervalMillis: Duration.toMillis(options.metricsInterval ?? Duration.seconds(60))
    })
    return {
      resource: {
        serviceName: options.serviceName,
        ...(options.serviceVersion !== undefined ? { serviceVersion: options.serviceVersion } : {}),
        ...(options.resourceAttributes !== undefined ? { attributes: options.resourceAttributes } : {})
      },
      spanProcessor: new BatchSpanProcessor(traceExporter),
      ...(metricReader !== undefined ? { metricReader } : {}),
      ...(options.shutdownTimeout !== undefined ? { shutdownTimeout: options.shutdownTimeout } : {})
    }
  })
  return Layer.merge(sdk, Telemetry.layer(options.telemetry))
}

/**
 * A span exporter that keeps the spans it is given and renders them as an indented tree, with
 * durations, the key GenAI attributes and the span events (retries, fallbacks, cache lookups...).
 * By default it prints the tree when it shuts down (at the end of the program).
 *
 * @since 0.1.0
 * @category tree
 */
export class TreeExporter implements SpanExporter {
  private spans: Array<ReadableSpan> = []
  private readonly write: (text: string) => void
  private readonly printOnShutdown: boolean
  private readonly treeOptions: TreeOptions

  constructor(options?: {
    /** Where the tree goes (default: standard output). */
    readonly write?: ((text: string) => void) | undefined
    /** Print the tree on shutdown (default `true`). */
    readonly printOnShutdown?: boolean | undefined
    /** Show every attribute instead of the key ones. */
    readonly allAttributes?: boolean | undefined
  }) {
    this.write = options?.write ?? ((text) => {
      globalThis.process?.stdout?.write(text)
    })
    this.printOnShutdown = options?.printOnShutdown ?? true
    this.treeOptions = { allAttributes: options?.allAttributes ?? false }
  }

  export(spans: Array<ReadableSpan>, resultCallback: Parameters<SpanExporter["export"]>[1]): void {
    for (const span of spans) this.spans.push(span)
    resultCallback({ code: 0 })
  }

  /** The spans collected so far. */
  get finishedSpans(): ReadonlyArray<ReadableSpan> {
    return this.spans
  }

  /** The tree of the spans collected so far. */
  render(): string {
    return renderTree(this.spans, this.treeOptions)
  }

  /** Prints the tree of the spans collected so far and forgets them. */
  print(): void {
    if (this.spans.length === 0) return
    this.write(this.render())
    this.spans = []
  }

  /** Forgets the spans collected so far. */
  reset(): void {
    this.spans = []
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    if (this.printOnShutdown) this.print()
    return Promise.resolve()
  }
}

/**
 * Renders spans as an indented trace tree (one tree per root span, children by start time).
 *
 * @since 0.1.0
 * @category tree
 */
export const printTree = (
  spans: ReadonlyArray<ReadableSpan>,
  options?: { readonly allAttributes?: boolean | undefined }
): string => renderTree(spans, { allAttributes: options?.allAttributes ?? false })

/**
 * Traces to the terminal: every span goes to a `TreeExporter` and the tree is printed when the
 * layer's scope closes; also installs the telemetry listener. No metrics are exported.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTree = (options?: {
  readonly serviceName?: string | undefined
  readonly write?: ((text: string) => void) | undefined
  readonly allAttributes?: boolean | undefined
  readonly exporter?: TreeExporter | undefined
  readonly telemetry?: Partial<Telemetry.Options> | undefined
}): Layer.Layer<Resource.Resource> =>
  Layer.merge(
    NodeSdk.layer(() => ({
      resource: { serviceName: options?.serviceName ?? "effect-llm" },
      spanProcessor: new SimpleSpanProcessor(
        options?.exporter ??
          new TreeExporter({ write: options?.write, allAttributes: options?.allAttributes })
      )
    })),
    Telemetry.layer(options?.telemetry)
  )
