import { emptyUsage, type FinishReason, type Usage } from "@effect-llm/core/Completion"
import type { GenerateRequest, Message } from "@effect-llm/core/GenerateRequest"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam
} from "openai/resources/chat/completions/completions"
import { type CallInfo, makeOutcome, num, type Outcome, textOf } from "./completion.js"
import { UnexpectedBody } from "./errors.js"
import { forwardUser, type ModelOptions } from "./options.js"

const userContent = (content: Message["content"]): string | Array<ChatCompletionContentPart> => {
  if (typeof content === "string") return content
  const parts: Array<ChatCompletionContentPart> = []
  for (const part of content) {
    if (part.type === "text") parts.push({ type: "text", text: part.text })
    else parts.push({ type: "image_url", image_url: { url: part.url } })
  }
  return parts
}

/**
 * Maps a request to Chat Completions parameters: system messages keep their place (as `system`, or
 * `developer` with the `systemRole` option), `maxOutputTokens` becomes `max_completion_tokens` (or
 * `max_tokens` for older compatible servers), `stop`, `seed` and `response_format` are sent as is.
 * Streams ask for a final usage chunk (`stream_options.include_usage`).
 *
 * @internal
 */
export const toBody = (
  model: string,
  options: ModelOptions,
  request: GenerateRequest,
  stream: boolean
): ChatCompletionCreateParamsBase => {
  const source = request.messages
  const messages: Array<ChatCompletionMessageParam> = []
  for (let i = 0; i < source.length; i++) {
    const message = source[i]!
    switch (message.role) {
      case "system":
        messages.push({ role: options.systemRole, content: textOf(message.content) })
        break
      case "user":
        messages.push({ role: "user", content: userContent(message.content) })
        break
      case "assistant":
        messages.push({ role: "assistant", content: textOf(message.content) })
        break
    }
  }
  const body: ChatCompletionCreateParamsBase = { model, messages }
  if (request.maxOutputTokens !== undefined) body[options.maxTokensField] = request.maxOutputTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop as Array<string>
  if (request.seed !== undefined) body.seed = request.seed
  const format = request.responseFormat
  if (format !== undefined && format.type === "json") {
    body.response_format = format.schema !== undefined
      ? { type: "json_schema", json_schema: { name: format.name ?? "response", schema: format.schema, strict: false } }
      : { type: "json_object" }
  }
  if (options.store !== undefined) body.store = options.store
  if (options.reasoningEffort !== undefined) body.reasoning_effort = options.reasoningEffort
  forwardUser(body, options, request)
  if (stream) {
    body.stream = true
    if (options.streamUsage) body.stream_options = { include_usage: true }
  }
  return body
}

interface RawUsage {
  readonly prompt_tokens?: unknown
  readonly prompt_tokens_details?: { readonly cached_tokens?: unknown } | null
  readonly completion_tokens?: unknown
  readonly completion_tokens_details?: { readonly reasoning_tokens?: unknown } | null
}

const toUsage = (usage: RawUsage | null | undefined): Usage =>
  usage == null
    ? emptyUsage
    : {
      inputTokens: num(usage.prompt_tokens),
      cachedInputTokens: num(usage.prompt_tokens_details?.cached_tokens),
      cacheWriteInputTokens: 0,
      outputTokens: num(usage.completion_tokens),
      reasoningTokens: num(usage.completion_tokens_details?.reasoning_tokens)
    }

const finishReason = (reason: string | null | undefined): FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    default:
      return "other"
  }
}

/**
 * A non-streaming answer. Throws `UnexpectedBody` when the body is not a chat completion.
 *
 * @internal
 */
export const fromCompletion = (info: CallInfo, data: unknown, headers: Headers, now: number): Outcome => {
  const completion = data as ChatCompletion
  if (typeof data !== "object" || data === null || !Array.isArray(completion.choices)) {
    throw new UnexpectedBody("the answer is not a chat completion")
  }
  const choice = completion.choices[0]
  if (choice === undefined || typeof choice.message !== "object" || choice.message === null) {
    throw new UnexpectedBody("the chat completion has no choice")
  }
  const message = choice.message
  return makeOutcome(
    info,
    typeof message.content === "string" ? message.content : "",
    typeof message.refusal === "string" ? message.refusal : "",
    finishReason(choice.finish_reason),
    toUsage(completion.usage),
    typeof completion.model === "string" ? completion.model : undefined,
    typeof completion.id === "string" ? completion.id : undefined,
    headers,
    now
  )
}

/**
 * Accumulates the chunks of a streamed answer.
 *
 * @internal
 */
export class StreamState {
  text = ""
  refusal = ""
  id: string | undefined = undefined
  servedModel: string | undefined = undefined
  finishReason: string | undefined = undefined
  usage: RawUsage | undefined = undefined
  get done(): boolean {
    return this.finishReason !== undefined
  }

  /** Records one chunk; returns its text when it carries some. */
  event(chunk: ChatCompletionChunk): string | undefined {
    if (typeof chunk !== "object" || chunk === null || !Array.isArray(chunk.choices)) {
      throw new UnexpectedBody("a stream chunk is not a chat completion chunk")
    }
    if (this.id === undefined && typeof chunk.id === "string") this.id = chunk.id
    if (typeof chunk.model === "string" && chunk.model !== "") this.servedModel = chunk.model
    if (chunk.usage != null) this.usage = chunk.usage
    const choice = chunk.choices[0]
    if (choice === undefined) return undefined
    if (choice.finish_reason != null) this.finishReason = choice.finish_reason
    const delta = choice.delta
    if (delta == null) return undefined
    if (typeof delta.refusal === "string") this.refusal += delta.refusal
    const content = delta.content
    if (typeof content === "string" && content !== "") {
      this.text += content
      return content
    }
    return undefined
  }

  outcome(info: CallInfo, headers: Headers, now: number): Outcome {
    if (this.finishReason === undefined) throw new UnexpectedBody("the stream ended before a finish_reason")
    return makeOutcome(
      info,
      this.text,
      this.refusal,
      finishReason(this.finishReason),
      toUsage(this.usage),
      this.servedModel,
      this.id,
      headers,
      now
    )
  }
}
