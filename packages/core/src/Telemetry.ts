/**
 * Tracing of model calls with the OpenTelemetry GenAI semantic conventions. Every provider call
 * gets a `chat {model}` span (kind CLIENT) with `gen_ai.*` attributes; wire it to OpenTelemetry
 * with `@effect/opentelemetry` and Effect's spans and ours form one trace.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Telemetry } from "@effect-llm/core"
 *
 * const traced = <E, R>(call: Effect.Effect<import("@effect-llm/core").Completion.Completion, E, R>) =>
 *   call.pipe(Telemetry.traceGenerate({ provider: "openai", model: "gpt-5-mini", request: { messages: [] } }))
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { Completion, Usage } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"

/**
 * What a provider adapter knows about a call before it starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallInfo {
  readonly provider: string
  readonly model: string
  readonly request: GenerateRequest
  readonly serverAddress?: string | undefined
  readonly serverPort?: number | undefined
}

/**
 * The request attributes of a call span.
 *
 * @since 0.1.0
 * @category attributes
 */
export const requestAttributes = (info: CallInfo, streaming: boolean): Record<string, unknown> => {
  const r = info.request
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": info.provider,
    "gen_ai.request.model": r.model ?? info.model,
    "gen_ai.request.stream": streaming
  }
  if (r.maxOutputTokens !== undefined) attributes["gen_ai.request.max_tokens"] = r.maxOutputTokens
  if (r.temperature !== undefined) attributes["gen_ai.request.temperature"] = r.temperature
  if (r.topP !== undefined) attributes["gen_ai.request.top_p"] = r.topP
  if (r.stop !== undefined) attributes["gen_ai.request.stop_sequences"] = r.stop
  if (r.seed !== undefined) attributes["gen_ai.request.seed"] = r.seed
  if (info.serverAddress !== undefined) attributes["server.address"] = info.serverAddress
  if (info.serverPort !== undefined) attributes["server.port"] = info.serverPort
  return attributes
}

const usageAttributes = (span: Tracer.Span, usage: Usage) => {
  span.attribute("gen_ai.usage.input_tokens", usage.inputTokens)
  span.attribute("gen_ai.usage.output_tokens", usage.outputTokens)
  if (usage.cachedInputTokens > 0) span.attribute("gen_ai.usage.cache_read.input_tokens", usage.cachedInputTokens)
  if (usage.cacheWriteInputTokens > 0) {
    span.attribute("gen_ai.usage.cache_write.input_tokens", usage.cacheWriteInputTokens)
  }
  if (usage.reasoningTokens > 0) span.attribute("gen_ai.usage.reasoning.output_tokens", usage.reasoningTokens)
}

/**
 * Records a completion's response attributes on a span.
 *
 * @since 0.1.0
 * @category attributes
 */
export const annotateCompletion = (span: Tracer.Span, completion: Completion): void => {
  if (completion.responseId !== undefined) span.attribute("gen_ai.response.id", completion.responseId)
  span.attribute("gen_ai.response.model", completion.servedModel)
  span.attribute("gen_ai.response.finish_reasons", [completion.finishReason])
  usageAttributes(span, completion.usage)
  if (completion.costUsd !== undefined) span.attribute("effect_llm.cost.usd", completion.costUsd)
  if (completion.cache !== undefined) span.attribute("effect_llm.cache.status", completion.cache)
  if (completion.tier !== undefined) span.attribute("effect_llm.tier", completion.tier)
}

const errorType = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { readonly _tag?: unknown }
    return typeof e?._tag === "string" ? e._tag : "_OTHER"
  }
  return Cause.isInterruptedOnly(cause) ? undefined : "_OTHER"
}

const spanOptions = (info: CallInfo, streaming: boolean): Tracer.SpanOptions => ({
  kind: "client",
  attributes: requestAttributes(info, streaming)
})

/**
 * Wraps one `generate` call in its `chat {model}` span.
 *
 * @since 0.1.0
 * @category tracing
 */
export const traceGenerate =
  (info: CallInfo) => <E, R>(self: Effect.Effect<Completion, E, R>): Effect.Effect<Completion, E, R> =>
    Effect.useSpan(`chat ${info.request.model ?? info.model}`, spanOptions(info, false), (span) =>
      Effect.onExit(Effect.withParentSpan(self, span), (exit) => {
        if (Exit.isSuccess(exit)) annotateCompletion(span, exit.value)
        else {
          const type = errorType(exit.cause)
          if (type !== undefined) span.attribute("error.type", type)
        }
        return Effect.void
      }))

/**
 * Wraps one `stream` call in its `chat {model}` span; the span ends with the stream and records
 * the `Finish` completion and the time to the first chunk.
 *
 * @since 0.1.0
 * @category tracing
 */
export const traceStream = (info: CallInfo) =>
<A extends { readonly _tag: string }, E, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const span = yield* Effect.makeSpanScoped(`chat ${info.request.model ?? info.model}`, spanOptions(info, true))
      const start = span.status._tag === "Started" ? span.status.startTime : 0n
      let first = true
      return self.pipe(
        Stream.tap((event) => {
          if (first) {
            first = false
            span.attribute(
              "gen_ai.response.time_to_first_chunk",
              Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
            )
          }
          if (event._tag === "Finish") annotateCompletion(span, (event as unknown as { completion: Completion }).completion)
          return Effect.void
        }),
        Stream.tapErrorCause((cause) => {
          const type = errorType(cause)
          if (type !== undefined) span.attribute("error.type", type)
          return Effect.void
        }),
        Stream.provideService(Tracer.ParentSpan, span)
      )
    })
  )
