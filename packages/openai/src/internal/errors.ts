import * as LlmError from "@effect-llm/core/LlmError"
import * as ProviderKit from "@effect-llm/core/ProviderKit"
import * as Duration from "effect/Duration"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"

/** @internal */
export interface ErrorContext {
  readonly provider: string
  readonly model: string
  /** The request id of the answer, when its headers had arrived. */
  readonly requestId: string | undefined
  /** The response headers, when they had arrived (stream errors). */
  readonly headers: Headers | undefined
  /** Now, in epoch milliseconds (from the Clock), to resolve `retry-after` dates. */
  readonly now: number
  /** The SDK's own timeout, reported as `Timeout` phase `total`. */
  readonly timeoutMillis: number
  /** The API key, scrubbed from any provider text that reaches an error. */
  readonly apiKey: string
}

/**
 * A 200 answer whose body is not what the API documents, or a stream that ended without its
 * terminal event.
 *
 * @internal
 */
export class UnexpectedBody extends Error {}

/**
 * A Responses API answer with `status: "failed"` (or a `response.failed` stream event).
 *
 * @internal
 */
export class ResponseFailed extends Error {
  constructor(readonly code: string | undefined, readonly detail: string | undefined) {
    super(detail ?? code ?? "the response failed")
  }
}

const quotaCodes: ReadonlySet<string> = new Set(["insufficient_quota", "billing_hard_limit_reached"])

/** Codes of an input moderation block (OpenAI images, Azure OpenAI's content filter). */
const inputFilterCodes: ReadonlySet<string> = new Set([
  "content_filter",
  "content_policy_violation",
  "image_content_policy_violation"
])

/** Codes of a Responses API `failed` response where the safety system stopped the output. */
const outputFilterCodes: ReadonlySet<string> = new Set(["bio_policy", "misalignment_policy_violation"])

/** Codes the API uses for server-side overload (none today: OpenAI's 503 has `code: null`). */
const overloadedCodes: ReadonlySet<string> = new Set(["overloaded", "engine_overloaded", "overloaded_error"])

const contextLimit = /maximum context length is (\d+)/i
const contextRequested = /(?:resulted in|requested|you requested|requesting) (\d+) tokens/i

const scrub = (text: string, apiKey: string): string =>
  apiKey.length >= 4 && text.includes(apiKey) ? text.split(apiKey).join("<redacted>") : text

const common = (ctx: ErrorContext, requestId: string | null | undefined) => {
  const id = requestId ?? ctx.requestId
  return id === undefined || id === null
    ? { provider: ctx.provider, model: ctx.model }
    : { provider: ctx.provider, model: ctx.model, requestId: id }
}

const providerMessage = (error: APIError, ctx: ErrorContext): string | undefined => {
  const body = error.error as { readonly message?: unknown } | undefined
  const message = body !== undefined && body !== null && typeof body === "object" ? body.message : undefined
  return typeof message === "string" && message !== "" ? scrub(message, ctx.apiKey) : undefined
}

const rateLimitKind = (
  type: string | undefined,
  headers: Headers | undefined,
  message: string | undefined
): "requests" | "tokens" | undefined => {
  if (type === "requests" || type === "tokens") return type
  if (headers !== undefined) {
    if (headers.get("x-ratelimit-remaining-requests") === "0") return "requests"
    if (headers.get("x-ratelimit-remaining-tokens") === "0") return "tokens"
  }
  // the only other place OpenAI says which limit it is: "... on tokens per min (TPM) ..."
  if (message !== undefined) {
    if (/\b(?:tokens per|TPM|TPD)\b/.test(message)) return "tokens"
    if (/\b(?:requests per|RPM|RPD)\b/.test(message)) return "requests"
  }
  return undefined
}

const contextLength = (base: ReturnType<typeof common>, message: string | undefined) => {
  if (message === undefined) return new LlmError.ContextLengthExceeded(base)
  const limit = contextLimit.exec(message)
  const requested = contextRequested.exec(message)
  return new LlmError.ContextLengthExceeded({
    ...base,
    ...(limit !== null ? { limit: Number(limit[1]) } : {}),
    ...(requested !== null ? { requested: Number(requested[1]) } : {})
  })
}

/**
 * Classifies an answer by status, type and code (never by message text, which is only read for
 * numbers and for which rate limit was hit).
 */
const classify = (
  status: number | undefined,
  type: string | undefined,
  code: string | undefined,
  param: string | undefined,
  message: string | undefined,
  headers: Headers | undefined,
  base: ReturnType<typeof common>,
  ctx: ErrorContext
): LlmError.ProviderError => {
  const detail = message !== undefined ? { detail: message } : {}
  if ((code !== undefined && quotaCodes.has(code)) || (type !== undefined && quotaCodes.has(type))) {
    return new LlmError.QuotaExhausted({ ...base, ...detail })
  }
  if (
    status === 429 || code === "rate_limit_exceeded" ||
    (status === undefined && (type === "requests" || type === "tokens"))
  ) {
    const retryAfter = ProviderKit.retryAfterMillis(headers, ctx.now)
    const limit = rateLimitKind(type, headers, message)
    return new LlmError.RateLimited({
      ...base,
      ...(retryAfter !== undefined ? { retryAfter: Duration.millis(retryAfter) } : {}),
      ...(limit !== undefined ? { limit } : {})
    })
  }
  if (code === "context_length_exceeded") {
    return contextLength(base, message)
  }
  if (code !== undefined && inputFilterCodes.has(code)) {
    return new LlmError.ContentFiltered({ ...base, stage: "input", category: code })
  }
  if (code !== undefined && outputFilterCodes.has(code)) {
    return new LlmError.ContentFiltered({ ...base, stage: "output", category: code })
  }
  if (status === 401 || status === 403) return new LlmError.AuthenticationFailed({ ...base, status })
  if (
    (code !== undefined && overloadedCodes.has(code)) || (type !== undefined && overloadedCodes.has(type))
  ) {
    return new LlmError.Overloaded({ ...base, status: status ?? 503 })
  }
  const paramField = param !== undefined ? { param } : {}
  if (status === undefined) {
    // an error inside a stream (HTTP status was 200): only the type and code say what happened
    if (type === "invalid_request_error" || code === "invalid_prompt") {
      return new LlmError.InvalidRequest({ ...base, ...paramField, ...detail, status: 400 })
    }
    if (type === "authentication_error" || code === "invalid_api_key") {
      return new LlmError.AuthenticationFailed({ ...base, status: 401 })
    }
    return new LlmError.ServerError({ ...base, ...detail, status: code === "vector_store_timeout" ? 504 : 500 })
  }
  if (status >= 500 || status === 408) return new LlmError.ServerError({ ...base, ...detail, status })
  if (status >= 400) return new LlmError.InvalidRequest({ ...base, ...paramField, ...detail, status })
  return new LlmError.MalformedResponse({ ...base, detail: `unexpected status ${status}` })
}

const str = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

const causeText = (error: unknown, ctx: ErrorContext): string => {
  let detail = error instanceof Error ? error.message : String(error)
  let cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const code = (cause as { code?: unknown }).code
    detail += `: ${typeof code === "string" ? `${code} ` : ""}${cause.message}`
    cause = (cause as { cause?: unknown }).cause
  }
  return scrub(detail, ctx.apiKey)
}

/**
 * Turns anything the SDK (or the body parser under it) throws into exactly one error of the
 * taxonomy.
 *
 * @internal
 */
export const fromUnknown = (error: unknown, ctx: ErrorContext): LlmError.ProviderError => {
  if (error instanceof APIError) {
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmError.Timeout({
        ...common(ctx, undefined),
        phase: "total",
        after: Duration.millis(ctx.timeoutMillis)
      })
    }
    if (error instanceof APIUserAbortError) {
      return new LlmError.ConnectionError({ ...common(ctx, undefined), detail: "the request was aborted" })
    }
    if (error instanceof APIConnectionError) {
      return new LlmError.ConnectionError({ ...common(ctx, undefined), detail: causeText(error, ctx) })
    }
    const headers = error.headers ?? ctx.headers
    return classify(
      error.status,
      str(error.type),
      str(error.code),
      str(error.param),
      providerMessage(error, ctx),
      headers,
      common(ctx, error.requestID),
      ctx
    )
  }
  if (error instanceof ResponseFailed) {
    return classify(
      undefined,
      undefined,
      error.code,
      undefined,
      error.detail === undefined ? undefined : scrub(error.detail, ctx.apiKey),
      ctx.headers,
      common(ctx, undefined),
      ctx
    )
  }
  if (error instanceof SyntaxError || error instanceof UnexpectedBody) {
    return new LlmError.MalformedResponse({ ...common(ctx, undefined), detail: error.message })
  }
  // undici: "TypeError: terminated" (the socket closed while the body was read), ECONNRESET, ...
  if (
    error instanceof TypeError || (error instanceof Error && typeof (error as { code?: unknown }).code === "string")
  ) {
    return new LlmError.ConnectionError({ ...common(ctx, undefined), detail: causeText(error, ctx) })
  }
  return new LlmError.MalformedResponse({ ...common(ctx, undefined), detail: causeText(error, ctx) })
}
