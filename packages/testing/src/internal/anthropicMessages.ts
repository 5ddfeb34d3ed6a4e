/**
 * Anthropic Messages wire format (`POST /v1/messages`).
 *
 * @internal
 */
import type { Answer, Wire } from "./answer.js"
import * as Sse from "./sse.js"

const stopReason = (answer: Answer) =>
  answer.finish === "length"
    ? "max_tokens"
    : answer.finish === "refusal" || answer.finish === "content-filter"
    ? "refusal"
    : "end_turn"

/** Anthropic counts uncached input only in `input_tokens`. */
const inputTokens = (answer: Answer) =>
  Math.max(0, answer.usage.input - answer.usage.cachedInput - answer.usage.cacheWrite)

const message = (answer: Answer, final: boolean) => ({
  id: answer.responseId,
  type: "message",
  role: "assistant",
  model: answer.model,
  content: final && answer.text.length > 0 ? [{ type: "text", text: answer.text }] : [],
  stop_reason: final ? stopReason(answer) : null,
  stop_sequence: null,
  usage: {
    input_tokens: inputTokens(answer),
    cache_creation_input_tokens: answer.usage.cacheWrite,
    cache_read_input_tokens: answer.usage.cachedInput,
    output_tokens: final ? answer.usage.output : 1,
    service_tier: "standard"
  }
})

/** @internal */
export const wire: Wire = {
  json: (answer) => message(answer, true),
  streamStart: (answer) =>
    Sse.event("message_start", { type: "message_start", message: message(answer, false) }) +
    Sse.event("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" }
    }) +
    Sse.event("ping", { type: "ping" }),
  streamDelta: (_answer, text) =>
    Sse.event("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text }
    }),
  streamEnd: (answer) =>
    Sse.event("content_block_stop", { type: "content_block_stop", index: 0 }) +
    Sse.event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason(answer), stop_sequence: null },
      usage: { output_tokens: answer.usage.output }
    }) +
    Sse.event("message_stop", { type: "message_stop" }),
  streamError: () => Sse.event("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
  malformedEvent: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":\n\n"
}

/** The body of `POST /v1/messages/count_tokens`. @internal */
export const countTokens = (tokens: number) => ({ input_tokens: tokens })
