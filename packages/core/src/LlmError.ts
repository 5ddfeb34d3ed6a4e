/**
 * The error taxonomy of effect-llm. Every failure of a model call is exactly one of these
 * tagged errors: serialisable (`Schema.TaggedError`), carrying the provider, the model and the
 * provider's request id, and never a secret.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel, LlmError } from "@effect-llm/core"
 *
 * const program = LanguageModel.generate({ messages: [{ role: "user", content: "Hi" }] }).pipe(
 *   Effect.catchTags({
 *     ContextLengthExceeded: (e) => Effect.succeed(`too long: ${e.requested} > ${e.limit}`),
 *     ContentFiltered: () => Effect.succeed("I can't help with that.")
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const common = {
  provider: Schema.String,
  model: Schema.String,
  requestId: Schema.optional(Schema.String)
}

const suffix = (e: { readonly provider: string; readonly model: string; readonly requestId?: string | undefined }) =>
  ` (${e.provider}/${e.model}${e.requestId ? `, request ${e.requestId}` : ""})`

/**
 * 429 from a rate limit. `retryAfter` is the delay the provider asked for
 * (`retry-after-ms` or `retry-after`), when it gave one.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("@effect-llm/core/LlmError/RateLimited")(
  "RateLimited",
  {
    ...common,
    retryAfter: Schema.optional(Schema.DurationFromMillis),
    limit: Schema.optional(Schema.Literal("requests", "tokens", "unknown"))
  }
) {
  override get message() {
    return `Rate limited${this.limit && this.limit !== "unknown" ? ` on ${this.limit}` : ""}${
      this.retryAfter ? `, retry after ${Duration.format(this.retryAfter)}` : ""
    }${suffix(this)}`
  }
}

/**
 * The account has no quota or credit left (OpenAI `insufficient_quota`, Anthropic 402 / billing).
 * Retrying does not help.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaExhausted extends Schema.TaggedError<QuotaExhausted>("@effect-llm/core/LlmError/QuotaExhausted")(
  "QuotaExhausted",
  { ...common, detail: Schema.optional(Schema.String) }
) {
  override get message() {
    return `Quota exhausted${this.detail ? `: ${this.detail}` : ""}${suffix(this)}`
  }
}

/**
 * A 5xx answer from the provider (other than Anthropic's 529, which is {@link Overloaded}).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("@effect-llm/core/LlmError/ServerError")(
  "ServerError",
  { ...common, status: Schema.Number, detail: Schema.optional(Schema.String) }
) {
  override get message() {
    return `Provider server error ${this.status}${this.detail ? `: ${this.detail}` : ""}${suffix(this)}`
  }
}

/**
 * The provider is overloaded (Anthropic 529, `overloaded_error`).
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Schema.TaggedError<Overloaded>("@effect-llm/core/LlmError/Overloaded")(
  "Overloaded",
  { ...common, status: Schema.Number }
) {
  override get message() {
    return `Provider overloaded (${this.status})${suffix(this)}`
  }
}

/**
 * The connection failed before an answer arrived: refused, reset, DNS.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>(
  "@effect-llm/core/LlmError/ConnectionError"
)(
  "ConnectionError",
  { ...common, detail: Schema.String }
) {
  override get message() {
    return `Connection failed: ${this.detail}${suffix(this)}`
  }
}

/**
 * One of effect-llm's timers fired. `phase` says which: `connect` (until the response headers),
 * `first-token`, `idle` (between chunks) or `total`.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@effect-llm/core/LlmError/Timeout")(
  "Timeout",
  {
    ...common,
    phase: Schema.Literal("connect", "first-token", "idle", "total"),
    after: Schema.DurationFromMillis
  }
) {
  override get message() {
    return `Timed out in phase ${this.phase} after ${Duration.format(this.after)}${suffix(this)}`
  }
}

/**
 * The provider rejected the request as invalid (400 / 404 / 409 / 422). Fix the request; retrying
 * or falling back does not help.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("@effect-llm/core/LlmError/InvalidRequest")(
  "InvalidRequest",
  {
    ...common,
    status: Schema.Number,
    param: Schema.optional(Schema.String),
    detail: Schema.optional(Schema.String)
  }
) {
  override get message() {
    return `Invalid request (${this.status})${this.param ? ` at ${this.param}` : ""}${
      this.detail ? `: ${this.detail}` : ""
    }${suffix(this)}`
  }
}

/**
 * 401 / 403: the key is missing, wrong or lacks permission. The key itself is never kept.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>(
  "@effect-llm/core/LlmError/AuthenticationFailed"
)(
  "AuthenticationFailed",
  { ...common, status: Schema.Number }
) {
  override get message() {
    return `Authentication failed (${this.status})${suffix(this)}`
  }
}

/**
 * The prompt (plus the requested output) does not fit the model's context window.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContextLengthExceeded extends Schema.TaggedError<ContextLengthExceeded>(
  "@effect-llm/core/LlmError/ContextLengthExceeded"
)(
  "ContextLengthExceeded",
  { ...common, limit: Schema.optional(Schema.Number), requested: Schema.optional(Schema.Number) }
) {
  override get message() {
    return `Context length exceeded${
      this.requested !== undefined || this.limit !== undefined
        ? `: ${this.requested ?? "?"} tokens requested, limit ${this.limit ?? "?"}`
        : ""
    }${suffix(this)}`
  }
}

/**
 * The provider's safety system blocked the input or the output, or the model refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContentFiltered extends Schema.TaggedError<ContentFiltered>(
  "@effect-llm/core/LlmError/ContentFiltered"
)(
  "ContentFiltered",
  {
    ...common,
    stage: Schema.Literal("input", "output"),
    category: Schema.optional(Schema.String),
    refusal: Schema.optional(Schema.String)
  }
) {
  override get message() {
    return `Content filtered at ${this.stage}${this.category ? ` (${this.category})` : ""}${suffix(this)}`
  }
}

/**
 * The provider's answer could not be decoded: an undecodable body, a broken SSE stream.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>(
  "@effect-llm/core/LlmError/MalformedResponse"
)(
  "MalformedResponse",
  { ...common, detail: Schema.String }
) {
  override get message() {
    return `Malformed response: ${this.detail}${suffix(this)}`
  }
}

/**
 * A `generateObject` answer that does not decode with the caller's schema. `raw` is the text the
 * model produced, `issue` the formatted decode error.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedOutput extends Schema.TaggedError<MalformedOutput>("@effect-llm/core/LlmError/MalformedOutput")(
  "MalformedOutput",
  { ...common, raw: Schema.String, issue: Schema.String }
) {
  override get message() {
    return `Model output does not match the schema: ${this.issue}${suffix(this)}`
  }
}

/**
 * A stream failed after its first token. `partialText` is what had arrived; effect-llm never
 * restarts such a stream silently.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamInterrupted extends Schema.TaggedError<StreamInterrupted>(
  "@effect-llm/core/LlmError/StreamInterrupted"
)(
  "StreamInterrupted",
  { ...common, partialText: Schema.String, detail: Schema.String }
) {
  override get message() {
    return `Stream interrupted after ${this.partialText.length} characters: ${this.detail}${suffix(this)}`
  }
}

/**
 * A budget policy refused the call.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>("@effect-llm/core/LlmError/BudgetExceeded")(
  "BudgetExceeded",
  {
    ...common,
    scope: Schema.String,
    unit: Schema.Literal("tokens", "usd"),
    limit: Schema.Number,
    spent: Schema.Number,
    requested: Schema.Number
  }
) {
  override get message() {
    return `Budget ${this.scope} exceeded: ${this.spent} ${this.unit} spent + ${this.requested} requested > ${this.limit}${
      suffix(this)
    }`
  }
}

/**
 * The circuit breaker for this provider and model is open; no call was made.
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>("@effect-llm/core/LlmError/CircuitOpen")(
  "CircuitOpen",
  { ...common, retryAt: Schema.DateTimeUtcFromNumber }
) {
  override get message() {
    return `Circuit open until ${DateTime.formatIso(this.retryAt)}${suffix(this)}`
  }
}

/**
 * What a provider adapter can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderError =
  | RateLimited
  | QuotaExhausted
  | ServerError
  | Overloaded
  | ConnectionError
  | Timeout
  | InvalidRequest
  | AuthenticationFailed
  | ContextLengthExceeded
  | ContentFiltered
  | MalformedResponse
  | StreamInterrupted

/**
 * Every error of the taxonomy.
 *
 * @since 0.1.0
 * @category models
 */
export type LlmError = ProviderError | MalformedOutput | BudgetExceeded | CircuitOpen

/**
 * The tags of the taxonomy.
 *
 * @since 0.1.0
 * @category models
 */
export type Tag = LlmError["_tag"]

/**
 * The schema of every error of the taxonomy (for caches, logs and messages between processes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlmError: Schema.Union<[
  typeof RateLimited,
  typeof QuotaExhausted,
  typeof ServerError,
  typeof Overloaded,
  typeof ConnectionError,
  typeof Timeout,
  typeof InvalidRequest,
  typeof AuthenticationFailed,
  typeof ContextLengthExceeded,
  typeof ContentFiltered,
  typeof MalformedResponse,
  typeof StreamInterrupted,
  typeof MalformedOutput,
  typeof BudgetExceeded,
  typeof CircuitOpen
]> = Schema.Union(
  RateLimited,
  QuotaExhausted,
  ServerError,
  Overloaded,
  ConnectionError,
  Timeout,
  InvalidRequest,
  AuthenticationFailed,
  ContextLengthExceeded,
  ContentFiltered,
  MalformedResponse,
  StreamInterrupted,
  MalformedOutput,
  BudgetExceeded,
  CircuitOpen
)

/**
 * All tags, in the order of the taxonomy table.
 *
 * @since 0.1.0
 * @category constants
 */
export const tags: ReadonlyArray<Tag> = [
  "RateLimited",
  "QuotaExhausted",
  "ServerError",
  "Overloaded",
  "ConnectionError",
  "Timeout",
  "InvalidRequest",
  "AuthenticationFailed",
  "ContextLengthExceeded",
  "ContentFiltered",
  "MalformedResponse",
  "StreamInterrupted",
  "MalformedOutput",
  "BudgetExceeded",
  "CircuitOpen"
]

const tagSet: ReadonlySet<string> = new Set(tags)

/**
 * Whether a value is an error of the taxonomy.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLlmError = (u: unknown): u is LlmError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tagSet.has(u._tag) &&
  Predicate.hasProperty(u, "provider")

const transientTags: ReadonlySet<Tag> = new Set<Tag>([
  "RateLimited",
  "ServerError",
  "Overloaded",
  "ConnectionError",
  "Timeout",
  "MalformedResponse"
])

/**
 * Transient: the same request may succeed if sent again later (rate limit, 5xx, overload,
 * connection, timeout, malformed response). This is the default "retry" set.
 *
 * @since 0.1.0
 * @category classification
 */
export const isTransient = (e: LlmError): boolean => transientTags.has(e._tag)

/**
 * Retryable by default: the transient errors. `StreamInterrupted` is not: a stream is never
 * restarted silently once the caller has seen tokens.
 *
 * @since 0.1.0
 * @category classification
 */
export const isRetryable: (e: LlmError) => boolean = isTransient

const callerSideTags: ReadonlySet<Tag> = new Set<Tag>([
  "InvalidRequest",
  "ContextLengthExceeded",
  "ContentFiltered",
  "MalformedOutput",
  "BudgetExceeded"
])

/**
 * Caller-side: the request (or the caller's own policy) is the cause, so sending the same request
 * to the same model again gives the same answer.
 *
 * @since 0.1.0
 * @category classification
 */
export const isCallerSide = (e: LlmError): boolean => callerSideTags.has(e._tag)

/**
 * Provider-side: the provider, the account or the network is the cause (the complement of
 * {@link isCallerSide}). These count for circuit breakers.
 *
 * @since 0.1.0
 * @category classification
 */
export const isProviderSide = (e: LlmError): boolean => !callerSideTags.has(e._tag)

const fallbackTags: ReadonlySet<Tag> = new Set<Tag>([
  "RateLimited",
  "QuotaExhausted",
  "ServerError",
  "Overloaded",
  "ConnectionError",
  "Timeout",
  "AuthenticationFailed",
  "CircuitOpen",
  "MalformedResponse"
])

/**
 * Whether another model (usually on another provider) may answer where this one failed: the
 * default fallback set. Never `InvalidRequest`.
 *
 * @since 0.1.0
 * @category classification
 */
export const isFallbackable = (e: LlmError): boolean => fallbackTags.has(e._tag)
