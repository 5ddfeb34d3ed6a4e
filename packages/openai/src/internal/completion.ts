import type { Completion, FinishReason, RateLimitInfo, Usage } from "@effect-llm/core/Completion"
import type { Content } from "@effect-llm/core/GenerateRequest"
import * as LlmError from "@effect-llm/core/LlmError"
import * as ProviderKit from "@effect-llm/core/ProviderKit"

/** @internal */
export interface CallInfo {
  readonly provider: string
  readonly model: string
  readonly started: number
}

/** @internal */
export type MutableCompletion = { -readonly [K in keyof Completion]: Completion[K] }

/** @internal */
export type MutableUsage = { -readonly [K in keyof Usage]: Usage[K] }

/** @internal */
export const zeroUsage = (): MutableUsage => ({
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0
})

/**
 * Reads `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets like `"1s"`, `"6m0s"`).
 *
 * @internal
 */
export const rateLimitInfo = (headers: Headers): RateLimitInfo | undefined => {
  const info: { -readonly [K in keyof RateLimitInfo]: RateLimitInfo[K] } = {}
  let any = false
  const limitRequests = ProviderKit.numberHeader(headers, "x-ratelimit-limit-requests")
  if (limitRequests !== undefined) (info.limitRequests = limitRequests), (any = true)
  const remainingRequests = ProviderKit.numberHeader(headers, "x-ratelimit-remaining-requests")
  if (remainingRequests !== undefined) (info.remainingRequests = remainingRequests), (any = true)
  const resetRequests = ProviderKit.parseResetMillis(headers.get("x-ratelimit-reset-requests") ?? undefined)
  if (resetRequests !== undefined) (info.resetRequestsMillis = resetRequests), (any = true)
  const limitTokens = ProviderKit.numberHeader(headers, "x-ratelimit-limit-tokens")
  if (limitTokens !== undefined) (info.limitTokens = limitTokens), (any = true)
  const remainingTokens = ProviderKit.numberHeader(headers, "x-ratelimit-remaining-tokens")
  if (remainingTokens !== undefined) (info.remainingTokens = remainingTokens), (any = true)
  const resetTokens = ProviderKit.parseResetMillis(headers.get("x-ratelimit-reset-tokens") ?? undefined)
  if (resetTokens !== undefined) (info.resetTokensMillis = resetTokens), (any = true)
  return any ? info : undefined
}

/**
 * A completion, or the `ContentFiltered` failure it turned out to be (a refusal or a
 * `content_filter` finish).
 *
 * @internal
 */
export type Outcome = MutableCompletion | LlmError.ContentFiltered

/** @internal */
export const isFiltered = (outcome: Outcome): outcome is LlmError.ContentFiltered =>
  (outcome as { readonly _tag?: unknown })._tag === "ContentFiltered"

/**
 * `finishReason` of `"content-filter"` (the provider's filter) or a refusal become `ContentFiltered`
 * at the output stage; anything else is a completion.
 *
 * @internal
 */
export const makeOutcome = (
  info: CallInfo,
  text: string,
  refusal: string,
  finishReason: FinishReason,
  usage: Usage,
  servedModel: string | undefined,
  responseId: string | undefined,
  headers: Headers,
  now: number
): Outcome => {
  const requestId = headers.get("x-request-id")
  if (refusal !== "" || finishReason === "content-filter") {
    return new LlmError.ContentFiltered({
      provider: info.provider,
      model: info.model,
      ...(requestId !== null ? { requestId } : {}),
      stage: "output",
      ...(refusal !== "" ? { refusal } : { category: "content_filter" })
    })
  }
  const completion: MutableCompletion = {
    text,
    finishReason,
    usage,
    provider: info.provider,
    model: info.model,
    servedModel: servedModel ?? info.model,
    attempts: [{ provider: info.provider, model: info.model, outcome: "success", durationMillis: now - info.started }]
  }
  if (responseId !== undefined) completion.responseId = responseId
  if (requestId !== null) completion.requestId = requestId
  const rateLimit = rateLimitInfo(headers)
  if (rateLimit !== undefined) completion.rateLimit = rateLimit
  return completion
}

/** @internal */
export const textOf = (content: Content): string => {
  if (typeof content === "string") return content
  let out = ""
  for (const part of content) if (part.type === "text") out += part.text
  return out
}

/** @internal */
export const num = (value: unknown): number => typeof value === "number" && Number.isFinite(value) ? value : 0
