/**
 * The answer to a `GenerateRequest`: text, finish reason, token usage, cost, who served it, and
 * the trail of what happened on the way (attempts, fallbacks, cache status).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 *
 * const program = Effect.gen(function*() {
 *   const completion = yield* LanguageModel.generate({ messages: [{ role: "user", content: "Hi" }] })
 *   console.log(completion.text, completion.usage.outputTokens, completion.servedModel)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why the model stopped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FinishReason = Schema.Literal("stop", "length", "content-filter", "tool-calls", "other")

/**
 * @since 0.1.0
 * @category models
 */
export type FinishReason = typeof FinishReason.Type

/**
 * Token usage of one call. `inputTokens` includes cached and cache-write tokens;
 * `outputTokens` includes reasoning tokens.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  cachedInputTokens: Schema.Number,
  cacheWriteInputTokens: Schema.Number,
  outputTokens: Schema.Number,
  reasoningTokens: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type Usage = typeof Usage.Type

/**
 * No usage at all.
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyUsage: Usage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0
}

/**
 * The sum of two usages.
 *
 * @since 0.1.0
 * @category utils
 */
export const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens
})

/**
 * One step of the trail: a call to one model and how it ended (`success`, or the error tag).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Attempt = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  outcome: Schema.String,
  durationMillis: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Attempt = typeof Attempt.Type

/**
 * Whether the answer came from a cache.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CacheStatus = Schema.Literal("hit", "miss", "bypass")

/**
 * @since 0.1.0
 * @category models
 */
export type CacheStatus = typeof CacheStatus.Type

/**
 * What the provider's rate-limit headers said on the answer, when it sent them. Client-side rate
 * limiting learns from this.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RateLimitInfo = Schema.Struct({
  limitRequests: Schema.optional(Schema.Number),
  remainingRequests: Schema.optional(Schema.Number),
  resetRequestsMillis: Schema.optional(Schema.Number),
  limitTokens: Schema.optional(Schema.Number),
  remainingTokens: Schema.optional(Schema.Number),
  resetTokensMillis: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RateLimitInfo = typeof RateLimitInfo.Type

/**
 * A completed call.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Completion = Schema.Struct({
  text: Schema.String,
  finishReason: FinishReason,
  usage: Usage,
  /** Cost in USD from the pricing catalog, when a catalog priced it. */
  costUsd: Schema.optional(Schema.Number),
  provider: Schema.String,
  /** The model that was asked for. */
  model: Schema.String,
  /** The model the provider says served the call (often a dated snapshot). */
  servedModel: Schema.String,
  responseId: Schema.optional(Schema.String),
  requestId: Schema.optional(Schema.String),
  rateLimit: Schema.optional(RateLimitInfo),
  /** Every model call made for this completion, in order; the last one answered. */
  attempts: Schema.Array(Attempt),
  cache: Schema.optional(CacheStatus),
  tier: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Completion = typeof Completion.Type
