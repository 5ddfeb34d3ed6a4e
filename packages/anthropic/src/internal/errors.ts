import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk"
import * as LlmError from "@effect-llm/core/LlmError"
import * as ProviderKit from "@effect-llm/core/ProviderKit"
import * as Duration from "effect/Duration"

/** @internal */
export interface ErrorContext {
  readonly provider: string
  readonly model: string
  readonly requestId: string | undefined
  /** Now, in epoch milliseconds (from the Clock), to resolve `retry-after` dates. */
  readonly now: number
  /** The SDK's own timeout, reported as `Timeout` phase `total`. */
  readonly timeoutMillis: number
}

/**
 * A streamed answer that ended without `message_stop`.
 *
 * @internal
 */
export class IncompleteStream extends Error {
  constructor() {
    super("the stream ended before message_stop")
  }
}

/**
 * A 200 answer whose body is not a Messages API message.
 *
 * @internal
 */
export class UnexpectedBody extends Error {}

const quotaCodes: ReadonlySet<string> = new Set([
  "contract_spend_limit_reached",
  "enforced_spend_limit_reached",
  "linked_organization_spend_limit_reached",
  "linked_organization_billing_unavailable"
])

/**
 * Anthropic says nothing but the message text when a prompt does not fit, so this is the one
 * place where effect-llm reads an error message: "prompt is too long: 210000 tokens > 200000 maximum".
 */
const promptTooLong = /prompt is too long/i
const promptTooLongNumbers = /(\d+)\s*tokens?\s*>\s*(\d+)/

const common = (ctx: ErrorContext, requestId: string | undefined) => {
  const id = requestId ?? ctx.requestId
  return id === undefined
    ? { provider: ctx.provider, model: ctx.model }
    : { provider: ctx.provider, model: ctx.model, requestId: id }
}

const rateLimitKind = (headers: Headers | undefined): "requests" | "tokens" | undefined => {
  if (headers === undefined) return undefined
  if (headers.get("anthropic-ratelimit-requests-remaining") === "0") return "requests"
  if (
    headers.get("anthropic-ratelimit-tokens-remaining") === "0" ||
    headers.get("anthropic-ratelimit-input-tokens-remaining") === "0" ||
    headers.get("anthropic-ratelimit-output-tokens-remaining") === "0"
  ) return "tokens"
  return undefined
}

const causeText = (error: unknown): string => {
  let detail = error instanceof Error ? error.message : String(error)
  let cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const code = (cause as { code?: unknown }).code
    detail += `: ${typeof code === "string" ? `${code} ` : ""}${cause.message}`
    cause = (cause as { cause?: unknown }).cause
  }
  return detail
}

const fromApiError = (error: APIError, ctx: ErrorContext): LlmError.ProviderError => {
  const status = error.status
  const type = error.type
  const headers = error.headers
  const base = common(ctx, error.requestID ?? undefined)
  const apiMessage = error.apiMessage ?? undefined
  if (status === 429 || (status === undefined && type === "rate_limit_error")) {
    const retryAfter = ProviderKit.retryAfterMillis(headers, ctx.now)
    const limit = rateLimitKind(headers)
    return new LlmError.RateLimited({
      ...base,
      ...(retryAfter !== undefined ? { retryAfter: Duration.millis(retryAfter) } : {}),
      ...(limit !== undefined ? { limit } : {})
    })
  }
  if (
    status === 402 || type === "billing_error" || (error.errorCode !== null && quotaCodes.has(error.errorCode))
  ) {
    return new LlmError.QuotaExhausted(apiMessage !== undefined ? { ...base, detail: apiMessage } : base)
  }
  if (status === 529 || type === "overloaded_error") {
    return new LlmError.Overloaded({ ...base, status: status ?? 529 })
  }
  if (status === 401 || status === 403 || type === "authentication_error" || type === "permission_error") {
    return new LlmError.AuthenticationFailed({
      ...base,
      status: status ?? (type === "permission_error" ? 403 : 401)
    })
  }
  if (
    (status === 400 || status === 413 || status === undefined) && apiMessage !== undefined &&
    promptTooLong.test(apiMessage)
  ) {
    const numbers = promptTooLongNumbers.exec(apiMessage)
    return new LlmError.ContextLengthExceeded(
      numbers === null ? base : { ...base, requested: Number(numbers[1]), limit: Number(numbers[2]) }
    )
  }
  const detail = apiMessage !== undefined ? { detail: apiMessage } : {}
  if (status === undefined) {
    // an `error` event inside a stream: only the type says what happened
    if (type === "invalid_request_error" || type === "not_found_error" || type === "conflict_error") {
      return new LlmError.InvalidRequest({ ...base, ...detail, status: type === "not_found_error" ? 404 : 400 })
    }
    return new LlmError.ServerError({ ...base, ...detail, status: type === "timeout_error" ? 504 : 500 })
  }
  if (status >= 500 || status === 408 || type === "api_error" || type === "timeout_error") {
    return new LlmError.ServerError({ ...base, ...detail, status })
  }
  return new LlmError.InvalidRequest({ ...base, ...detail, status })
}

/**
 * Turns anything the SDK (or the body parser under it) throws into exactly one error of the taxonomy.
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
      return new LlmError.ConnectionError({ ...common(ctx, undefined), detail: causeText(error) })
    }
    return fromApiError(error, ctx)
  }
  if (error instanceof SyntaxError || error instanceof UnexpectedBody || error instanceof IncompleteStream) {
    return new LlmError.MalformedResponse({ ...common(ctx, undefined), detail: error.message })
  }
  // undici: "TypeError: terminated" (the socket closed while the body was read), ECONNRESET, ...
  if (
    error instanceof TypeError || (error instanceof Error && typeof (error as { code?: unknown }).code === "string")
  ) {
    return new LlmError.ConnectionError({ ...common(ctx, undefined), detail: causeText(error) })
  }
  return new LlmError.MalformedResponse({ ...common(ctx, undefined), detail: causeText(error) })
}
