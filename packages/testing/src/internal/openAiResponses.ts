/**
 * OpenAI Responses API wire format (`POST /v1/responses`).
 *
 * @internal
 */
import type { Answer, Wire } from "./answer.js"
import * as Sse from "./sse.js"

const itemId = (answer: Answer) => `msg_${answer.responseId.slice(5)}`

const usage = (answer: Answer) => ({
  input_tokens: answer.usage.input,
  input_tokens_details: { cached_tokens: answer.usage.cachedInput },
  output_tokens: answer.usage.output,
  output_tokens_details: { reasoning_tokens: answer.usage.reasoning },
  total_tokens: answer.usage.input + answer.usage.output
})

const part = (answer: Answer, text: string) =>
  answer.finish === "refusal"
    ? { type: "refusal", refusal: text }
    : { type: "output_text", text, annotations: [], logprobs: [] }

const item = (answer: Answer, status: "in_progress" | "completed" | "incomplete", text: string | undefined) => ({
  id: itemId(answer),
  type: "message",
  status,
  role: "assistant",
  content: text === undefined ? [] : [part(answer, text)]
})

const status = (answer: Answer): "completed" | "incomplete" =>
  answer.finish === "length" || answer.finish === "content-filter" ? "incomplete" : "completed"

const response = (answer: Answer, final: boolean) => {
  const st = final ? status(answer) : "in_progress"
  return {
    id: answer.responseId,
    object: "response",
    created_at: answer.created,
    status: st,
    background: false,
    error: null,
    incomplete_details: final && st === "incomplete"
      ? { reason: answer.finish === "length" ? "max_output_tokens" : "content_filter" }
      : null,
    instructions: null,
    max_output_tokens: answer.maxTokens ?? null,
    model: answer.model,
    output: final ? [item(answer, st, answer.text)] : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: true,
    temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    usage: final ? usage(answer) : null,
    user: null,
    metadata: {}
  }
}

const PRELUDE = 4

/** @internal */
export const wire: Wire = {
  json: (answer) => {
    const body = response(answer, true) as Record<string, unknown>
    return body
  },
  streamStart: (answer) => {
    const id = itemId(answer)
    const refusal = answer.finish === "refusal"
    return Sse.event("response.created", {
      type: "response.created",
      sequence_number: 0,
      response: response(answer, false)
    }) +
      Sse.event("response.in_progress", {
        type: "response.in_progress",
        sequence_number: 1,
        response: response(answer, false)
      }) +
      Sse.event("response.output_item.added", {
        type: "response.output_item.added",
        sequence_number: 2,
        output_index: 0,
        item: item(answer, "in_progress", undefined)
      }) +
      Sse.event("response.content_part.added", {
        type: "response.content_part.added",
        sequence_number: 3,
        item_id: id,
        output_index: 0,
        content_index: 0,
        part: refusal ? { type: "refusal", refusal: "" } : { type: "output_text", text: "", annotations: [] }
      })
  },
  streamDelta: (answer, text, index) =>
    answer.finish === "refusal"
      ? Sse.event("response.refusal.delta", {
        type: "response.refusal.delta",
        sequence_number: PRELUDE + index,
        item_id: itemId(answer),
        output_index: 0,
        content_index: 0,
        delta: text
      })
      : Sse.event("response.output_text.delta", {
        type: "response.output_text.delta",
        sequence_number: PRELUDE + index,
        item_id: itemId(answer),
        output_index: 0,
        content_index: 0,
        delta: text,
        logprobs: []
      }),
  streamEnd: (answer, deltas) => {
    const id = itemId(answer)
    const seq = PRELUDE + deltas
    const refusal = answer.finish === "refusal"
    const st = status(answer)
    const final = response(answer, true)
    return (refusal
      ? Sse.event("response.refusal.done", {
        type: "response.refusal.done",
        sequence_number: seq,
        item_id: id,
        output_index: 0,
        content_index: 0,
        refusal: answer.text
      })
      : Sse.event("response.output_text.done", {
        type: "response.output_text.done",
        sequence_number: seq,
        item_id: id,
        output_index: 0,
        content_index: 0,
        text: answer.text,
        logprobs: []
      })) +
      Sse.event("response.content_part.done", {
        type: "response.content_part.done",
        sequence_number: seq + 1,
        item_id: id,
        output_index: 0,
        content_index: 0,
        part: part(answer, answer.text)
      }) +
      Sse.event("response.output_item.done", {
        type: "response.output_item.done",
        sequence_number: seq + 2,
        output_index: 0,
        item: item(answer, st, answer.text)
      }) +
      (st === "completed"
        ? Sse.event("response.completed", { type: "response.completed", sequence_number: seq + 3, response: final })
        : Sse.event("response.incomplete", { type: "response.incomplete", sequence_number: seq + 3, response: final }))
  },
  streamError: (_answer, deltas) =>
    Sse.event("error", {
      type: "error",
      sequence_number: PRELUDE + deltas,
      code: "server_error",
      message: "The server had an error while processing your request. Sorry about that!",
      param: null
    }),
  malformedEvent: "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\n\n"
}

/** The body of `POST /v1/responses/input_tokens`. @internal */
export const inputTokens = (tokens: number) => ({ object: "response.input_tokens", input_tokens: tokens })
