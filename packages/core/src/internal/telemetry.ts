import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import type * as Tracer from "effect/Tracer"
import type { CallEvent } from "../CallEvent.js"
import type { Completion } from "../Completion.js"
import type { GenerateRequest } from "../GenerateRequest.js"

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal */
export type Disclosure = "omit" | "spans" | "spans-and-metrics"

/** @internal */
export interface Options {
  readonly captureContent: boolean
  readonly user: Disclosure
  readonly feature: Disclosure
  readonly metrics: boolean
}

/** @internal */
export const defaultOptions: Options = {
  captureContent: false,
  user: "omit",
  feature: "omit",
  metrics: true
}

/** @internal */
export const currentOptions: FiberRef.FiberRef<Options> = FiberRef.unsafeMake<Options>(defaultOptions)

// -----------------------------------------------------------------------------
// call state: set by `traceCall`, read by the attempt spans below it
// -----------------------------------------------------------------------------

/** @internal */
export interface CallState {
  attempts: number
}

/** @internal */
export class CurrentCall extends Context.Tag("@effect-llm/core/Telemetry/CurrentCall")<CurrentCall, CallState>() {}

/** @internal */
export const currentCall = (context: Context.Context<never>): CallState | undefined =>
  context.unsafeMap.get(CurrentCall.key) as CallState | undefined

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

const durationBoundaries = MetricBoundaries.fromIterable([
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92
])

const tokenBoundaries = MetricBoundaries.fromIterable([
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864
])

/** @internal */
export const operationDuration = Metric.histogram(
  "gen_ai.client.operation.duration",
  durationBoundaries,
  "GenAI operation duration (one provider request), in seconds"
)

/** @internal */
export const timeToFirstChunk = Metric.histogram(
  "gen_ai.client.operation.time_to_first_chunk",
  durationBoundaries,
  "Time from issuing a streaming request to receiving its first chunk, in seconds"
)

/** @internal */
export const tokenUsage = Metric.histogram(
  "gen_ai.client.token.usage",
  tokenBoundaries,
  "Number of input and output tokens used, by gen_ai.token.type"
)

/** @internal */
export const cost = Metric.counter("effect_llm.cost", {
  description: "Cost of model calls in USD (from the pricing catalog)",
  incremental: true
})

/** @internal */
export const retries = Metric.counter("effect_llm.retries", {
  description: "Retries scheduled, by reason",
  incremental: true
})

/** @internal */
export const fallbacks = Metric.counter("effect_llm.fallbacks", {
  description: "Fallbacks from one model to another, by reason",
  incremental: true
})

/** @internal */
export const cacheLookups = Metric.counter("effect_llm.cache.lookups", {
  description: "Cache lookups, by effect_llm.cache.status (hit, miss, bypass)",
  incremental: true
})

/** @internal */
export const budgetDecisions = Metric.counter("effect_llm.budget.decisions", {
  description: "Budget decisions, by effect_llm.budget.decision (reserved, reconciled, released, refused, soft-limit)",
  incremental: true
})

/** @internal */
export const rateLimitWaits = Metric.counter("effect_llm.rate_limit.waits", {
  description: "Times a call waited for a client-side rate-limit slot",
  incremental: true
})

/** @internal */
export const circuitTransitions = Metric.counter("effect_llm.circuit.transitions", {
  description: "Circuit breaker state changes, by target state",
  incremental: true
})

/** @internal */
export const contentFiltered = Metric.counter("effect_llm.content_filtered", {
  description: "Requests or answers stopped by a content filter, by stage",
  incremental: true
})

/** @internal */
export const contextTruncations = Metric.counter("effect_llm.context.truncations", {
  description: "Requests truncated to fit the context window",
  incremental: true
})

type Labels = ReadonlyArray<MetricLabel.MetricLabel>

// Label arrays are cached by value so that Effect's metric hooks (cached by array identity) are
// found without hashing a new metric key on every call. Attributes are bounded by design; the cache
// is cleared when it grows past a sane size (a misconfiguration such as users in metrics).
const labelCache = new Map<string, Labels>()

/** @internal */
export const cachedLabels = (key: string, build: () => Labels): Labels => {
  let labels = labelCache.get(key)
  if (labels === undefined) {
    if (labelCache.size >= 10_000) labelCache.clear()
    labels = build()
    labelCache.set(key, labels)
  }
  return labels
}

/** @internal */
export const withFiberLabels = (labels: Labels, fiberLabels: Labels): Labels =>
  fiberLabels.length === 0 ? labels : [...fiberLabels, ...labels]

const label = MetricLabel.make

/** @internal */
export interface MetricTarget {
  readonly provider: string
  readonly requestModel: string
  readonly serverAddress?: string | undefined
  readonly serverPort?: number | undefined
}

const baseLabels = (
  target: MetricTarget,
  responseModel: string | undefined,
  errorType: string | undefined,
  feature: string | undefined,
  user: string | undefined
): Array<MetricLabel.MetricLabel> => {
  const out = [
    label("gen_ai.operation.name", "chat"),
    label("gen_ai.provider.name", target.provider),
    label("gen_ai.request.model", target.requestModel)
  ]
  if (responseModel !== undefined) out.push(label("gen_ai.response.model", responseModel))
  if (errorType !== undefined) out.push(label("error.type", errorType))
  if (target.serverAddress !== undefined) {
    out.push(label("server.address", target.serverAddress))
    if (target.serverPort !== undefined) out.push(label("server.port", String(target.serverPort)))
  }
  if (feature !== undefined) out.push(label("effect_llm.feature", feature))
  if (user !== undefined) out.push(label("effect_llm.user", user))
  return out
}

const key = (...parts: ReadonlyArray<string | number | undefined>): string => parts.join("\u0001")

type OperationKind = "duration" | "ttfc" | "input" | "output" | "cost"

/** @internal */
export interface OperationLabels {
  readonly target: MetricTarget
  readonly responseModel: string | undefined
  readonly errorType: string | undefined
  readonly feature: string | undefined
  readonly user: string | undefined
  /** The cache key of the attributes above. */
  readonly key: string
  /** The label sets built for these attributes, by kind. */
  readonly sets: { [K in OperationKind]?: Labels }
}

// The attributes of a model's last calls, by request model (a few: a stream records its first
// chunk before it knows the served model, then its end with it): a call like the ones before finds
// its label sets by comparing a few strings, without building a cache key (calls repeat their
// attributes)
const recentByModel = new Map<string, Array<OperationLabels>>()
const RECENT_PER_MODEL = 4

const sameAttributes = (
  of: OperationLabels,
  target: MetricTarget,
  responseModel: string | undefined,
  errorType: string | undefined,
  feature: string | undefined,
  user: string | undefined
): boolean =>
  of.responseModel === responseModel && of.errorType === errorType && of.feature === feature && of.user === user &&
  of.target.provider === target.provider && of.target.serverAddress === target.serverAddress &&
  of.target.serverPort === target.serverPort

/** @internal */
export const operationLabelsOf = (
  target: MetricTarget,
  responseModel: string | undefined,
  errorType: string | undefined,
  feature: string | undefined,
  user: string | undefined
): OperationLabels => {
  let recent = recentByModel.get(target.requestModel)
  if (recent !== undefined) {
    for (let i = 0; i < recent.length; i++) {
      const of = recent[i]!
      if (sameAttributes(of, target, responseModel, errorType, feature, user)) return of
    }
  }
  const of: OperationLabels = {
    target,
    responseModel,
    errorType,
    feature,
    user,
    key: key(
      target.provider,
      target.requestModel,
      responseModel,
      errorType,
      target.serverAddress,
      target.serverPort,
      feature,
      user
    ),
    sets: {}
  }
  if (recent === undefined) {
    if (recentByModel.size >= 1_000) recentByModel.clear()
    recent = []
    recentByModel.set(target.requestModel, recent)
  } else if (recent.length >= RECENT_PER_MODEL) recent.shift()
  recent.push(of)
  return of
}

/** @internal */
export const operationLabels = (kind: OperationKind, of: OperationLabels): Labels =>
  of.sets[kind] ??= cachedLabels(`${kind}\u0002${of.key}`, () => {
    const out = baseLabels(of.target, of.responseModel, of.errorType, of.feature, of.user)
    switch (kind) {
      case "duration":
      case "ttfc":
        out.push(label("unit", "s"))
        break
      case "input":
        out.push(label("gen_ai.token.type", "input"), label("unit", "{token}"))
        break
      case "output":
        out.push(label("gen_ai.token.type", "output"), label("unit", "{token}"))
        break
      case "cost":
        out.push(label("unit", "USD"))
        break
    }
    return out
  })

// -----------------------------------------------------------------------------
// attributes
// -----------------------------------------------------------------------------

/** @internal */
export const errorType = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value as { readonly _tag?: unknown } | null | undefined
    return typeof e === "object" && e !== null && typeof e._tag === "string" ? e._tag : "_OTHER"
  }
  if (Cause.isInterruptedOnly(cause)) return "Interrupted"
  return "_OTHER"
}

/** @internal */
export const exitErrorType = (exit: Exit.Exit<unknown, unknown>): string | undefined =>
  Exit.isSuccess(exit) ? undefined : errorType(exit.cause)

/** @internal */
export interface RequestInfo {
  readonly provider: string
  readonly model: string
  readonly request: GenerateRequest
  readonly serverAddress?: string | undefined
  readonly serverPort?: number | undefined
}

/** @internal */
export interface AttributeSink {
  readonly attribute: (key: string, value: unknown) => void
}

/**
 * Sets a string-array attribute. `@effect/opentelemetry` turns arrays into JSON strings; the
 * conventions want arrays, so the underlying OpenTelemetry span (when there is one) gets the array.
 *
 * @internal
 */
export const arrayAttribute = (span: AttributeSink, key: string, value: ReadonlyArray<string>): void => {
  span.attribute(key, value)
  const otel = (span as { readonly span?: { readonly setAttribute?: unknown } }).span
  if (otel !== undefined && typeof otel.setAttribute === "function") {
    ;(otel as { setAttribute(key: string, value: ReadonlyArray<string>): unknown }).setAttribute(key, value)
  }
}

/** @internal */
export const writeRequestAttributes = (
  span: AttributeSink,
  info: RequestInfo,
  streaming: boolean,
  options: Options
): void => {
  const r = info.request
  span.attribute("gen_ai.operation.name", "chat")
  span.attribute("gen_ai.provider.name", info.provider)
  span.attribute("gen_ai.request.model", r.model ?? info.model)
  span.attribute("gen_ai.request.stream", streaming)
  if (r.maxOutputTokens !== undefined) span.attribute("gen_ai.request.max_tokens", r.maxOutputTokens)
  if (r.temperature !== undefined) span.attribute("gen_ai.request.temperature", r.temperature)
  if (r.topP !== undefined) span.attribute("gen_ai.request.top_p", r.topP)
  if (r.stop !== undefined) arrayAttribute(span, "gen_ai.request.stop_sequences", r.stop)
  if (r.seed !== undefined) span.attribute("gen_ai.request.seed", r.seed)
  if (r.responseFormat !== undefined) span.attribute("gen_ai.output.type", r.responseFormat.type)
  if (info.serverAddress !== undefined) span.attribute("server.address", info.serverAddress)
  if (info.serverPort !== undefined) span.attribute("server.port", info.serverPort)
  if (r.tier !== undefined) span.attribute("effect_llm.request.tier", r.tier)
  if (r.feature !== undefined && options.feature !== "omit") span.attribute("effect_llm.feature", r.feature)
  if (r.user !== undefined && options.user !== "omit") span.attribute("effect_llm.user", r.user)
  if (options.captureContent) writeInputContent(span, r)
}

const writeInputContent = (span: AttributeSink, request: GenerateRequest): void => {
  const system: Array<{ readonly type: "text"; readonly content: string }> = []
  const messages: Array<unknown> = []
  for (const message of request.messages) {
    const parts: Array<unknown> = []
    if (typeof message.content === "string") {
      parts.push({ type: "text", content: message.content })
    } else {
      for (const part of message.content) {
        parts.push(part.type === "text" ? { type: "text", content: part.text } : { type: "uri", uri: part.url })
      }
    }
    if (message.role === "system") {
      for (const part of parts) system.push(part as { type: "text"; content: string })
    } else {
      messages.push({ role: message.role, parts })
    }
  }
  if (system.length > 0) span.attribute("gen_ai.system_instructions", JSON.stringify(system))
  span.attribute("gen_ai.input.messages", JSON.stringify(messages))
}

/** @internal */
export const writeCompletionAttributes = (span: Tracer.Span, completion: Completion, options: Options): void => {
  if (completion.responseId !== undefined) span.attribute("gen_ai.response.id", completion.responseId)
  span.attribute("gen_ai.response.model", completion.servedModel)
  arrayAttribute(span, "gen_ai.response.finish_reasons", [completion.finishReason])
  const usage = completion.usage
  span.attribute("gen_ai.usage.input_tokens", usage.inputTokens)
  span.attribute("gen_ai.usage.output_tokens", usage.outputTokens)
  if (usage.cachedInputTokens > 0) span.attribute("gen_ai.usage.cache_read.input_tokens", usage.cachedInputTokens)
  if (usage.cacheWriteInputTokens > 0) {
    span.attribute("gen_ai.usage.cache_creation.input_tokens", usage.cacheWriteInputTokens)
  }
  if (usage.reasoningTokens > 0) span.attribute("gen_ai.usage.reasoning.output_tokens", usage.reasoningTokens)
  if (completion.requestId !== undefined) span.attribute("effect_llm.request_id", completion.requestId)
  if (completion.costUsd !== undefined) span.attribute("effect_llm.cost.usd", completion.costUsd)
  if (completion.cache !== undefined) span.attribute("effect_llm.cache.status", completion.cache)
  if (completion.tier !== undefined) span.attribute("effect_llm.tier", completion.tier)
  if (options.captureContent) {
    span.attribute(
      "gen_ai.output.messages",
      JSON.stringify([{
        role: "assistant",
        parts: [{ type: "text", content: completion.text }],
        finish_reason: completion.finishReason
      }])
    )
  }
}

// -----------------------------------------------------------------------------
// call events
// -----------------------------------------------------------------------------

/** @internal */
export const scopeKind = (scope: string): string => {
  const i = scope.indexOf(":")
  return i === -1 ? scope : scope.slice(0, i)
}

/**
 * A budget scope as it may be recorded: `user:<id>` and `feature:<name>` follow the `user` and
 * `feature` disclosures (cut to `user` / `feature` when omitted), other scopes are kept.
 *
 * @internal
 */
export const disclosedScope = (scope: string, options: Options, where: "spans" | "metrics"): string => {
  const kind = scopeKind(scope)
  if (kind === scope) return scope
  const disclosure = kind === "user" ? options.user : kind === "feature" ? options.feature : "spans-and-metrics"
  const allowed = where === "spans" ? disclosure !== "omit" : disclosure === "spans-and-metrics"
  return allowed ? scope : kind
}

/** @internal */
export interface EventRecord {
  readonly name: string
  readonly attributes: Record<string, unknown>
}

/** @internal */
export const eventRecord = (event: CallEvent, options: Options): EventRecord => {
  switch (event._tag) {
    case "AttemptStarted":
      return {
        name: "effect_llm.attempt",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.attempt": event.attempt
        }
      }
    case "RetryScheduled":
      return {
        name: "effect_llm.retry",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.attempt": event.attempt,
          "effect_llm.retry.delay_ms": event.delayMillis,
          "effect_llm.retry.reason": event.reason
        }
      }
    case "RateLimitWait":
      return {
        name: "effect_llm.rate_limit.wait",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.rate_limit.delay_ms": event.delayMillis,
          "effect_llm.rate_limit.limit": event.limit
        }
      }
    case "CircuitStateChanged":
      return {
        name: "effect_llm.circuit.state_change",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.circuit.from": event.from,
          "effect_llm.circuit.to": event.to
        }
      }
    case "FallbackTriggered":
      return {
        name: "effect_llm.fallback",
        attributes: {
          "effect_llm.fallback.from.provider": event.from.provider,
          "effect_llm.fallback.from.model": event.from.model,
          "effect_llm.fallback.to.provider": event.to.provider,
          "effect_llm.fallback.to.model": event.to.model,
          "effect_llm.fallback.reason": event.reason
        }
      }
    case "FirstToken":
      return {
        name: "effect_llm.first_token",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.first_token.after_ms": event.afterMillis
        }
      }
    case "CacheLookup":
      return {
        name: "effect_llm.cache.lookup",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.cache.status": event.status
        }
      }
    case "BudgetDecision":
      return {
        name: "effect_llm.budget",
        attributes: {
          "effect_llm.budget.decision": event.decision,
          "effect_llm.budget.scope": disclosedScope(event.scope, options, "spans"),
          "effect_llm.budget.unit": event.unit,
          "effect_llm.budget.amount": event.amount
        }
      }
    case "ContextTruncated":
      return {
        name: "effect_llm.context.truncated",
        attributes: {
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.context.dropped_messages": event.droppedMessages,
          "effect_llm.context.tokens": event.tokens,
          "effect_llm.context.limit": event.limit
        }
      }
    case "ContentFiltered":
      return {
        name: "effect_llm.content_filtered",
        attributes: event.category === undefined
          ? {
            "gen_ai.provider.name": event.provider,
            "gen_ai.request.model": event.model,
            "effect_llm.content_filter.stage": event.stage
          }
          : {
            "gen_ai.provider.name": event.provider,
            "gen_ai.request.model": event.model,
            "effect_llm.content_filter.stage": event.stage,
            "effect_llm.content_filter.category": event.category
          }
      }
    case "TierSelected":
      return {
        name: "effect_llm.tier.selected",
        attributes: {
          "effect_llm.tier": event.tier,
          "gen_ai.provider.name": event.provider,
          "gen_ai.request.model": event.model,
          "effect_llm.tier.reason": event.reason
        }
      }
    default:
      // an event added to CallEvent after this list was written
      return { name: `effect_llm.${(event as { readonly _tag: string })._tag}`, attributes: {} }
  }
}

/** @internal */
export const recordEventMetric = (event: CallEvent, options: Options, fiberLabels: Labels): void => {
  switch (event._tag) {
    case "RetryScheduled": {
      const labels = cachedLabels(key("retry", event.provider, event.model, event.reason), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model),
        label("effect_llm.retry.reason", event.reason)
      ])
      retries.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "FallbackTriggered": {
      const labels = cachedLabels(
        key("fallback", event.from.provider, event.from.model, event.to.provider, event.to.model, event.reason),
        () => [
          label("effect_llm.fallback.from.provider", event.from.provider),
          label("effect_llm.fallback.from.model", event.from.model),
          label("effect_llm.fallback.to.provider", event.to.provider),
          label("effect_llm.fallback.to.model", event.to.model),
          label("effect_llm.fallback.reason", event.reason)
        ]
      )
      fallbacks.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "CacheLookup": {
      const labels = cachedLabels(key("cache", event.provider, event.model, event.status), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model),
        label("effect_llm.cache.status", event.status)
      ])
      cacheLookups.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "BudgetDecision": {
      const scope = disclosedScope(event.scope, options, "metrics")
      const labels = cachedLabels(key("budget", event.decision, scope, event.unit), () => [
        label("effect_llm.budget.decision", event.decision),
        label("effect_llm.budget.scope", scope),
        label("effect_llm.budget.unit", event.unit)
      ])
      budgetDecisions.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "RateLimitWait": {
      const labels = cachedLabels(key("ratelimit", event.provider, event.model, event.limit), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model),
        label("effect_llm.rate_limit.limit", event.limit)
      ])
      rateLimitWaits.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "CircuitStateChanged": {
      const labels = cachedLabels(key("circuit", event.provider, event.model, event.to), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model),
        label("effect_llm.circuit.to", event.to)
      ])
      circuitTransitions.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "ContentFiltered": {
      const labels = cachedLabels(key("filter", event.provider, event.model, event.stage), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model),
        label("effect_llm.content_filter.stage", event.stage)
      ])
      contentFiltered.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    case "ContextTruncated": {
      const labels = cachedLabels(key("truncate", event.provider, event.model), () => [
        label("gen_ai.provider.name", event.provider),
        label("gen_ai.request.model", event.model)
      ])
      contextTruncations.unsafeUpdate(1, withFiberLabels(labels, fiberLabels))
      return
    }
    default:
      return
  }
}

// -----------------------------------------------------------------------------
// safe exits: what an exporter records of a failure (exception event, status message)
// -----------------------------------------------------------------------------

const safeFields = ["status", "param", "phase", "limit", "requested", "stage", "category", "unit"] as const

/** @internal */
export const safeMessage = (error: unknown): { readonly name: string; readonly message: string } => {
  if (typeof error !== "object" || error === null) return { name: "_OTHER", message: "_OTHER" }
  const e = error as Record<string, unknown>
  const tag = typeof e._tag === "string" ? e._tag : undefined
  if (tag === undefined) {
    const name = error instanceof Error ? error.name : "_OTHER"
    return { name, message: `${name} (message withheld: enable captureContent to record it)` }
  }
  const details: Array<string> = []
  for (const field of safeFields) {
    const value = e[field]
    if (typeof value === "string" || typeof value === "number") details.push(`${field} ${value}`)
  }
  if (typeof e.scope === "string") details.push(`scope ${scopeKind(e.scope)}`)
  if (typeof e.requestId === "string") details.push(`request ${e.requestId}`)
  const target = typeof e.provider === "string" && typeof e.model === "string" ? ` from ${e.provider}/${e.model}` : ""
  return { name: tag, message: `${tag}${target}${details.length > 0 ? ` (${details.join(", ")})` : ""}` }
}

class RedactedFailure extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
    this.stack = `${name}: ${message}`
  }
}

/**
 * The exit a span is ended with: failures are replaced by their tag and the fields known to be
 * free of content (status, param, phase, ...), since error details may echo prompts or answers.
 *
 * @internal
 */
export const safeExit = (exit: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> => {
  if (exit._tag === "Success" || Cause.isInterruptedOnly(exit.cause)) return exit
  const failure = Cause.failureOption(exit.cause)
  const error = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
  const safe = safeMessage(error)
  return Exit.fail(new RedactedFailure(safe.name, safe.message))
}
