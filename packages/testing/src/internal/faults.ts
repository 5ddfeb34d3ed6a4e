/**
 * Error answers of each provider, in their wire form.
 *
 * @internal
 */
import type { Step } from "../Emulator.js"

/** @internal */
export type Provider = "openai" | "anthropic"

/** @internal */
export interface ErrorAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
}

/** @internal */
export type ErrorStep = Extract<
  Step,
  {
    readonly _tag:
      | "RateLimited"
      | "QuotaExhausted"
      | "ServerError"
      | "Overloaded"
      | "ContextLength"
      | "InvalidRequest"
      | "AuthenticationFailed"
  }
>

/** @internal */
export const isErrorStep = (step: Step): step is ErrorStep => {
  switch (step._tag) {
    case "RateLimited":
    case "QuotaExhausted":
    case "ServerError":
    case "Overloaded":
    case "ContextLength":
    case "InvalidRequest":
    case "AuthenticationFailed":
      return true
    default:
      return false
  }
}

const openAi = (message: string, type: string, param: string | null, code: string | null) => ({
  error: { message, type, param, code }
})

const anthropic = (type: string, message: string, requestId: string) => ({
  type: "error",
  error: { type, message },
  request_id: requestId
})

const retryHeaders = (step: Extract<Step, { _tag: "RateLimited" }>): Record<string, string> => {
  const headers: Record<string, string> = {}
  if (step.retryAfterMs !== undefined) {
    headers["retry-after-ms"] = String(step.retryAfterMs)
    headers["retry-after"] = String(Math.max(0, Math.ceil(step.retryAfterMs / 1000)))
  }
  if (step.retryAfterSeconds !== undefined) headers["retry-after"] = String(step.retryAfterSeconds)
  return headers
}

/** @internal */
export const DEFAULT_CONTEXT_LIMIT = { openai: 128_000, anthropic: 200_000 } as const

/** @internal */
export const errorAnswer = (
  provider: Provider,
  step: ErrorStep,
  info: { readonly model: string; readonly requestId: string; readonly inputTokens: number }
): ErrorAnswer => {
  const { model, requestId } = info
  if (provider === "openai") {
    switch (step._tag) {
      case "RateLimited": {
        const kind = step.limit ?? "requests"
        return {
          status: 429,
          headers: retryHeaders(step),
          body: openAi(
            kind === "tokens"
              ? `Rate limit reached for ${model} on tokens per min (TPM): Limit 30000, Used 30000, Requested ${info.inputTokens}. Please try again later.`
              : `Rate limit reached for ${model} on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again later.`,
            kind,
            null,
            "rate_limit_exceeded"
          )
        }
      }
      case "QuotaExhausted":
        return {
          status: 429,
          headers: {},
          body: openAi(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            null,
            "insufficient_quota"
          )
        }
      case "ServerError":
        return {
          status: step.status ?? 500,
          headers: {},
          body: openAi(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            null,
            null
          )
        }
      case "Overloaded":
        return {
          status: 503,
          headers: {},
          body: openAi("The engine is currently overloaded, please try again later.", "server_error", null, null)
        }
      case "ContextLength": {
        const limit = step.limit ?? DEFAULT_CONTEXT_LIMIT.openai
        const requested = step.requested ?? Math.max(limit + 1, info.inputTokens)
        return {
          status: 400,
          headers: {},
          body: openAi(
            `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${requested} tokens. Please reduce the length of the messages.`,
            "invalid_request_error",
            "messages",
            "context_length_exceeded"
          )
        }
      }
      case "InvalidRequest": {
        const status = step.status ?? 400
        if (status === 404) {
          return {
            status,
            headers: {},
            body: openAi(
              `The model \`${model}\` does not exist or you do not have access to it.`,
              "invalid_request_error",
              step.param ?? null,
              "model_not_found"
            )
          }
        }
        return {
          status,
          headers: {},
          body: openAi(
            `Invalid value for '${step.param ?? "temperature"}'.`,
            "invalid_request_error",
            step.param ?? "temperature",
            "invalid_value"
          )
        }
      }
      case "AuthenticationFailed": {
        const status = step.status ?? 401
        return {
          status,
          headers: {},
          body: status === 401
            ? openAi(
              "Incorrect API key provided: te**. You can find your API key at https://platform.openai.com/account/api-keys.",
              "invalid_request_error",
              null,
              "invalid_api_key"
            )
            : openAi("You are not allowed to use this model.", "invalid_request_error", null, "permission_denied")
        }
      }
    }
  }
  switch (step._tag) {
    case "RateLimited":
      return {
        status: 429,
        headers: retryHeaders(step),
        body: anthropic(
          "rate_limit_error",
          step.limit === "tokens"
            ? "This request would exceed the rate limit for your organization of 30,000 input tokens per minute."
            : "This request would exceed the rate limit for your organization of 50 requests per minute.",
          requestId
        )
      }
    case "QuotaExhausted":
      return {
        status: 402,
        headers: {},
        body: anthropic(
          "billing_error",
          "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
          requestId
        )
      }
    case "ServerError":
      return {
        status: step.status ?? 500,
        headers: {},
        body: anthropic("api_error", "Internal server error", requestId)
      }
    case "Overloaded":
      return { status: 529, headers: {}, body: anthropic("overloaded_error", "Overloaded", requestId) }
    case "ContextLength": {
      const limit = step.limit ?? DEFAULT_CONTEXT_LIMIT.anthropic
      const requested = step.requested ?? Math.max(limit + 1, info.inputTokens)
      return {
        status: 400,
        headers: {},
        body: anthropic(
          "invalid_request_error",
          `prompt is too long: ${requested} tokens > ${limit} maximum`,
          requestId
        )
      }
    }
    case "InvalidRequest": {
      const status = step.status ?? 400
      return status === 404
        ? { status, headers: {}, body: anthropic("not_found_error", `model: ${model}`, requestId) }
        : {
          status,
          headers: {},
          body: anthropic(
            "invalid_request_error",
            `${step.param ?? "temperature"}: Input should be less than or equal to 1`,
            requestId
          )
        }
    }
    case "AuthenticationFailed": {
      const status = step.status ?? 401
      return status === 401
        ? { status, headers: {}, body: anthropic("authentication_error", "invalid x-api-key", requestId) }
        : {
          status,
          headers: {},
          body: anthropic(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            requestId
          )
        }
    }
  }
}
