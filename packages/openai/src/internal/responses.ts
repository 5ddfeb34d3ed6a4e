import { emptyUsage, type FinishReason, type Usage } from "@effect-llm/core/Completion"
import type { GenerateRequest, Message } from "@effect-llm/core/GenerateRequest"
import type {
  Response,
  ResponseCreateParamsBase,
  ResponseInputItem,
  ResponseInputMessageContentList,
  ResponseStreamEvent
} from "openai/resources/responses/responses"
import { type CallInfo, makeOutcome, num, type Outcome, textOf } from "./completion.js"
import { ResponseFailed, UnexpectedBody } from "./errors.js"
import { forwardUser, type ModelOptions } from "./options.js"

const userContent = (content: Message["content"]): string | ResponseInputMessageContentList => {
  if (typeof content === "string") return content
  const parts: ResponseInputMessageContentList = []
  for (const part of content) {
    if (part.type === "text") parts.push({ type: "input_text", text: part.text })
    else parts.push({ type: "input_image", image_url: part.url, detail: "auto" })
  }
  return parts
}

/**
 * Maps a request to Responses API parameters. Leading system messages become `instructions`
 * (joined by a blank line), later ones stay in place as `system` input messages. `stop` and `seed`
 * have no Responses equivalent and are not sent; `user` is sent as `safety_identifier` only when
 * the model's `forwardUser` option asks for it.
 *
 * @internal
 */
export const toBody = (
  model: string,
  options: ModelOptions,
  request: GenerateRequest,
  stream: boolean
): ResponseCreateParamsBase => {
  const messages = request.messages
  let instructions: string | undefined
  let i = 0
  for (; i < messages.length; i++) {
    const message = messages[i]!
    if (message.role !== "system") break
    const text = textOf(message.content)
    instructions = instructions === undefined ? text : `${instructions}\n\n${text}`
  }
  const input: Array<ResponseInputItem> = []
  for (; i < messages.length; i++) {
    const message = messages[i]!
    input.push(
      message.role === "user"
        ? { role: "user", content: userContent(message.content) }
        : { role: message.role, content: textOf(message.content) }
    )
  }
  const body: ResponseCreateParamsBase = { model, input }
  if (instructions !== undefined) body.instructions = instructions
  if (request.maxOutputTokens !== undefined) body.max_output_tokens = request.maxOutputTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  const format = request.responseFormat
  if (format !== undefined && format.type === "json") {
    body.text = format.schema !== undefined
      ? {
        format: { type: "json_schema", name: format.name ?? "response", schema: format.schema, strict: false }
      }
      : { format: { type: "json_object" } }
  }
  if (options.store !== undefined) body.store = options.store
  if (options.reasoningEffort !== undefined) body.reasoning = { effort: options.reasoningEffort }
  forwardUser(body, options, request)
  if (stream) body.stream = true
  return body
}

interface RawUsage {
  readonly input_tokens?: unknown
  readonly input_tokens_details?: { readonly cached_tokens?: unknown } | null
  readonly output_tokens?: unknown
  readonly output_tokens_details?: { readonly reasoning_tokens?: unknown } | null
}

const toUsage = (usage: RawUsage | null | undefined): Usage =>
  usage == null
    ? emptyUsage
    : {
      inputTokens: num(usage.input_tokens),
      cachedInputTokens: num(usage.input_tokens_details?.cached_tokens),
      cacheWriteInputTokens: 0,
      outputTokens: num(usage.output_tokens),
      reasoningTokens: num(usage.output_tokens_details?.reasoning_tokens)
    }

const finishReason = (response: Response, toolCalls: boolean): FinishReason => {
  switch (response.status) {
    case "completed":
      return toolCalls ? "tool-calls" : "stop"
    case "incomplete": {
      const reason = response.incomplete_details?.reason
      return reason === "max_output_tokens" ? "length" : reason === "content_filter" ? "content-filter" : "other"
    }
    case "failed": {
      const error = response.error
      throw new ResponseFailed(error?.code ?? undefined, error?.message ?? undefined)
    }
    default:
      return "other"
  }
}

/** Text, refusal and whether the model called a tool, from a response's output items. */
const readOutput = (response: Response): { text: string; refusal: string; toolCalls: boolean } => {
  let text = ""
  let refusal = ""
  let toolCalls = false
  const output = response.output
  if (!Array.isArray(output)) throw new UnexpectedBody("the answer has no output")
  for (let i = 0; i < output.length; i++) {
    const item = output[i]!
    if (item.type === "message") {
      const content = item.content
      for (let j = 0; j < content.length; j++) {
        const part = content[j]!
        if (part.type === "output_text") text += part.text
        else if (part.type === "refusal") refusal += part.refusal
      }
    } else if (item.type === "function_call" || item.type === "custom_tool_call") toolCalls = true
  }
  return { text, refusal, toolCalls }
}

/**
 * A non-streaming answer. Throws `UnexpectedBody` when the body is not a response object and
 * `ResponseFailed` for `status: "failed"`.
 *
 * @internal
 */
export const fromResponse = (info: CallInfo, data: unknown, headers: Headers, now: number): Outcome => {
  if (typeof data !== "object" || data === null || (data as { object?: unknown }).object !== "response") {
    throw new UnexpectedBody("the answer is not a Responses API response")
  }
  const response = data as Response
  const { refusal, text, toolCalls } = readOutput(response)
  return makeOutcome(
    info,
    text,
    refusal,
    finishReason(response, toolCalls),
    toUsage(response.usage),
    typeof response.model === "string" ? response.model : undefined,
    typeof response.id === "string" ? response.id : undefined,
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
  refusal = ""
  final: Response | undefined = undefined
  get done(): boolean {
    return this.final !== undefined
  }

  /** Records one event; returns its text when it is a text delta. Throws `ResponseFailed`. */
  event(event: ResponseStreamEvent): string | undefined {
    switch (event.type) {
      case "response.output_text.delta": {
        this.text += event.delta
        return event.delta
      }
      case "response.refusal.delta": {
        this.refusal += event.delta
        return undefined
      }
      case "response.refusal.done": {
        this.refusal = event.refusal
        return undefined
      }
      case "response.completed":
      case "response.incomplete": {
        this.final = event.response
        return undefined
      }
      case "response.failed": {
        const error = event.response.error
        throw new ResponseFailed(error?.code ?? undefined, error?.message ?? undefined)
      }
      case "error": {
        throw new ResponseFailed(event.code ?? undefined, event.message)
      }
      default:
        return undefined
    }
  }

  outcome(info: CallInfo, headers: Headers, now: number): Outcome {
    const response = this.final
    if (response === undefined) throw new UnexpectedBody("the stream ended before response.completed")
    let toolCalls = false
    if (Array.isArray(response.output)) {
      for (const item of response.output) {
        if (item.type === "function_call" || item.type === "custom_tool_call") toolCalls = true
      }
    }
    return makeOutcome(
      info,
      this.text,
      this.refusal,
      finishReason(response, toolCalls),
      toUsage(response.usage),
      typeof response.model === "string" ? response.model : undefined,
      typeof response.id === "string" ? response.id : undefined,
      headers,
      now
    )
  }
}
