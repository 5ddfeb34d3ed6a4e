import type Anthropic from "@anthropic-ai/sdk"
import { transformJSONSchema } from "@anthropic-ai/sdk/lib/transform-json-schema"
import {
  type Completion,
  emptyUsage,
  type FinishReason,
  type RateLimitInfo,
  type Usage
} from "@effect-llm/core/Completion"
import type { Content, GenerateRequest, Message } from "@effect-llm/core/GenerateRequest"
import { UnexpectedBody } from "./errors.js"

/** @internal */
export type Params = Anthropic.MessageCreateParamsNonStreaming

/** @internal */
export interface ModelOptions {
  readonly maxTokens: number | undefined
  readonly structuredOutput: "native" | "prompt"
}

/**
 * A `max_tokens` for a request that gives no `maxOutputTokens`: the models' documented output
 * limits where they are small, else 16384 (below the point where Anthropic asks for streaming).
 *
 * @internal
 */
export const defaultMaxTokens = (model: string): number => {
  if (model.startsWith("claude-3-5") || model.startsWith("claude-3.5")) return 8192
  if (model.startsWith("claude-3-")) return model.startsWith("claude-3-7") ? 16384 : 4096
  return 16384
}

/**
 * The SDK refuses a non-streaming call whose expected duration (one hour per 128,000 output tokens)
 * is above ten minutes, i.e. `max_tokens` above 21,333; long calls also risk idle-connection
 * drops. `generate` streams under the hood above this.
 *
 * @internal
 */
export const streamingThreshold = 21_333

const jsonInstruction = "Answer with one JSON value only: no prose before or after it and no Markdown code fences."

const dataUrl = /^data:([^;,]+);base64,(.*)$/s

const contentBlocks = (content: Content): Array<Anthropic.ContentBlockParam> => {
  if (typeof content === "string") return [{ type: "text", text: content }]
  const blocks: Array<Anthropic.ContentBlockParam> = []
  for (const part of content) {
    if (part.type === "text") blocks.push({ type: "text", text: part.text })
    else {
      const match = dataUrl.exec(part.url)
      blocks.push(
        match === null
          ? { type: "image", source: { type: "url", url: part.url } }
          : {
            type: "image",
            source: {
              type: "base64",
              media_type: (part.mediaType ?? match[1]) as Anthropic.Base64ImageSource["media_type"],
              data: match[2]!
            }
          }
      )
    }
  }
  return blocks
}

const simpleContent = (content: Content): string | Array<Anthropic.ContentBlockParam> =>
  typeof content === "string" ? content : contentBlocks(content)

/**
 * Maps a request to Messages API parameters: system messages to `system`, consecutive turns of one
 * role merged (the API wants user and assistant to alternate), `maxOutputTokens` to the required
 * `max_tokens`, `stop` to `stop_sequences`. Not sent: `temperature` and `topP` (the Messages API of
 * `@anthropic-ai/sdk` 1.x has no sampling parameters any more), `seed` (never supported), `user`,
 * `feature` and `cache` (effect-llm's own).
 *
 * @internal
 */
export const toParams = (model: string, options: ModelOptions, request: GenerateRequest): Params => {
  let system: string | undefined
  const messages: Array<Anthropic.MessageParam> = []
  let lastRole: "user" | "assistant" | undefined
  const input = request.messages
  for (let i = 0; i < input.length; i++) {
    const message: Message = input[i]!
    if (message.role === "system") {
      const text = typeof message.content === "string" ? message.content : contentText(message.content)
      system = system === undefined ? text : `${system}\n\n${text}`
      continue
    }
    if (message.role === lastRole) {
      const previous = messages[messages.length - 1]!
      const merged = typeof previous.content === "string"
        ? [{ type: "text", text: previous.content } as Anthropic.ContentBlockParam]
        : previous.content as Array<Anthropic.ContentBlockParam>
      messages[messages.length - 1] = { role: message.role, content: [...merged, ...contentBlocks(message.content)] }
      continue
    }
    lastRole = message.role
    messages.push({ role: message.role, content: simpleContent(message.content) })
  }
  const params: Params = {
    model,
    max_tokens: request.maxOutputTokens ?? options.maxTokens ?? defaultMaxTokens(model),
    messages
  }
  const format = request.responseFormat
  if (format !== undefined && format.type === "json") {
    const schema = format.schema
    let native = false
    if (schema !== undefined && options.structuredOutput === "native" && schema["type"] === "object") {
      try {
        params.output_config = { format: { type: "json_schema", schema: transformJSONSchema(schema) } }
        native = true
      } catch {
        native = false
      }
    }
    if (!native) {
      const instruction = schema === undefined
        ? jsonInstruction
        : `${jsonInstruction} It must match this JSON Schema:\n${JSON.stringify(schema)}`
      system = system === undefined ? instruction : `${system}\n\n${instruction}`
    }
  }
  if (system !== undefined) params.system = system
  if (request.stop !== undefined && request.stop.length > 0) params.stop_sequences = request.stop as Array<string>
  return params
}

const contentText = (content: ReadonlyArray<{ readonly type: string; readonly text?: string }>): string => {
  let out = ""
  for (const part of content) if (part.type === "text" && part.text !== undefined) out += part.text
  return out
}

/** @internal */
export const finishReason = (stopReason: string | null | undefined): FinishReason => {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool-calls"
    case "refusal":
      return "content-filter"
    default:
      return "other"
  }
}

/** @internal */
export interface RawUsage {
  readonly input_tokens?: number | null | undefined
  readonly output_tokens?: number | null | undefined
  readonly cache_read_input_tokens?: number | null | undefined
  readonly cache_creation_input_tokens?: number | null | undefined
  readonly output_tokens_details?: { readonly thinking_tokens?: number | null | undefined } | null | undefined
}

/** @internal */
export const toUsage = (usage: RawUsage | null | undefined): Usage => {
  if (usage == null) {
    return emptyUsage
  }
  const cached = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  return {
    inputTokens: (usage.input_tokens ?? 0) + cached + cacheWrite,
    cachedInputTokens: cached,
    cacheWriteInputTokens: cacheWrite,
    outputTokens: usage.output_tokens ?? 0,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0
  }
}

const resetMillis = (value: string | null, now: number): number | undefined => {
  if (value === null) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

const num = (value: string | null): number | undefined => {
  if (value === null) return undefined
  const n = Number(value)
  return value !== "" && Number.isFinite(n) ? n : undefined
}

/**
 * Reads `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (falling back to the
 * `input-tokens` headers for tokens). Resets are RFC 3339 times, turned into milliseconds from `now`.
 *
 * @internal
 */
export const rateLimitInfo = (headers: Headers, now: number): RateLimitInfo | undefined => {
  const info: { -readonly [K in keyof RateLimitInfo]: RateLimitInfo[K] } = {}
  let any = false
  const limitRequests = num(headers.get("anthropic-ratelimit-requests-limit"))
  if (limitRequests !== undefined) (info.limitRequests = limitRequests), (any = true)
  const remainingRequests = num(headers.get("anthropic-ratelimit-requests-remaining"))
  if (remainingRequests !== undefined) (info.remainingRequests = remainingRequests), (any = true)
  const resetRequests = resetMillis(headers.get("anthropic-ratelimit-requests-reset"), now)
  if (resetRequests !== undefined) (info.resetRequestsMillis = resetRequests), (any = true)
  const limitTokens = num(headers.get("anthropic-ratelimit-tokens-limit")) ??
    num(headers.get("anthropic-ratelimit-input-tokens-limit"))
  if (limitTokens !== undefined) (info.limitTokens = limitTokens), (any = true)
  const remainingTokens = num(headers.get("anthropic-ratelimit-tokens-remaining")) ??
    num(headers.get("anthropic-ratelimit-input-tokens-remaining"))
  if (remainingTokens !== undefined) (info.remainingTokens = remainingTokens), (any = true)
  const resetTokens = resetMillis(headers.get("anthropic-ratelimit-tokens-reset"), now) ??
    resetMillis(headers.get("anthropic-ratelimit-input-tokens-reset"), now)
  if (resetTokens !== undefined) (info.resetTokensMillis = resetTokens), (any = true)
  return any ? info : undefined
}

/** @internal */
export interface CallInfo {
  readonly provider: string
  readonly model: string
  readonly started: number
}

/** @internal */
export type MutableCompletion = { -readonly [K in keyof Completion]: Completion[K] }

/** @internal */
export const makeCompletion = (
  info: CallInfo,
  text: string,
  stopReason: string | null | undefined,
  usage: Usage,
  servedModel: string | undefined,
  responseId: string | undefined,
  headers: Headers,
  now: number
): MutableCompletion => {
  const completion: MutableCompletion = {
    text,
    finishReason: finishReason(stopReason),
    usage,
    provider: info.provider,
    model: info.model,
    servedModel: servedModel ?? info.model,
    attempts: [{ provider: info.provider, model: info.model, outcome: "success", durationMillis: now - info.started }]
  }
  if (responseId !== undefined) completion.responseId = responseId
  const requestId = headers.get("request-id")
  if (requestId !== null) completion.requestId = requestId
  const rateLimit = rateLimitInfo(headers, now)
  if (rateLimit !== undefined) completion.rateLimit = rateLimit
  return completion
}

/**
 * A non-streaming answer to a completion. Throws `UnexpectedBody` when the body is not a message.
 *
 * @internal
 */
export const fromMessage = (info: CallInfo, data: unknown, headers: Headers, now: number): MutableCompletion => {
  const message = data as Anthropic.Message
  if (typeof data !== "object" || data === null || !Array.isArray(message.content)) {
    throw new UnexpectedBody("the answer is not a Messages API message")
  }
  return makeCompletion(
    info,
    contentText(message.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>),
    message.stop_reason,
    toUsage(message.usage),
    typeof message.model === "string" ? message.model : undefined,
    typeof message.id === "string" ? message.id : undefined,
    headers,
    now
  )
}

/**
 * Accumulates the events of a streamed answer.
 *
 * @internal
 */
export class StreamState {
  text = ""
  id: string | undefined = undefined
  servedModel: string | undefined = undefined
  stopReason: string | null | undefined = undefined
  stopped = false
  input = 0
  output = 0
  cacheRead = 0
  cacheWrite = 0
  thinking = 0

  /** Records one event; returns its text when it is a text delta. */
  event(event: Anthropic.RawMessageStreamEvent): string | undefined {
    switch (event.type) {
      case "content_block_delta": {
        const delta = event.delta
        if (delta.type === "text_delta") {
          this.text += delta.text
          return delta.text
        }
        return undefined
      }
      case "message_start": {
        const message = event.message
        this.id = message.id
        this.servedModel = message.model
        this.usage(message.usage)
        return undefined
      }
      case "message_delta": {
        this.stopReason = event.delta.stop_reason
        this.usage(event.usage)
        return undefined
      }
      case "message_stop": {
        this.stopped = true
        return undefined
      }
      default:
        return undefined
    }
  }

  private usage(usage: RawUsage | null | undefined) {
    if (usage == null) return
    if (usage.input_tokens != null) this.input = usage.input_tokens
    if (usage.output_tokens != null) this.output = usage.output_tokens
    if (usage.cache_read_input_tokens != null) this.cacheRead = usage.cache_read_input_tokens
    if (usage.cache_creation_input_tokens != null) this.cacheWrite = usage.cache_creation_input_tokens
    const thinking = usage.output_tokens_details?.thinking_tokens
    if (thinking != null) this.thinking = thinking
  }

  completion(info: CallInfo, headers: Headers, now: number): MutableCompletion {
    return makeCompletion(
      info,
      this.text,
      this.stopReason,
      {
        inputTokens: this.input + this.cacheRead + this.cacheWrite,
        cachedInputTokens: this.cacheRead,
        cacheWriteInputTokens: this.cacheWrite,
        outputTokens: this.output,
        reasoningTokens: this.thinking
      },
      this.servedModel,
      this.id,
      headers,
      now
    )
  }
}
