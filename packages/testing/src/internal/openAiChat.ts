/**
 * OpenAI Chat Completions wire format (`POST /v1/chat/completions`).
 *
 * @internal
 */
import type { Answer, Wire } from "./answer.js"
import * as Sse from "./sse.js"

const usage = (answer: Answer) => ({
  prompt_tokens: answer.usage.input,
  completion_tokens: answer.usage.output,
  total_tokens: answer.usage.input + answer.usage.output,
  prompt_tokens_details: { cached_tokens: answer.usage.cachedInput, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: answer.usage.reasoning,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0
  }
})

const finishReason = (answer: Answer) =>
  answer.finish === "length" ? "length" : answer.finish === "content-filter" ? "content_filter" : "stop"

const chunk = (answer: Answer, delta: unknown, finish: string | null) => {
  const out: Record<string, unknown> = {
    id: answer.responseId,
    object: "chat.completion.chunk",
    created: answer.created,
    model: answer.model,
    service_tier: "default",
    system_fingerprint: "fp_emulator",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
  }
  if (answer.includeUsage) out.usage = null
  return out
}

/** @internal */
export const wire: Wire = {
  json: (answer) => ({
    id: answer.responseId,
    object: "chat.completion",
    created: answer.created,
    model: answer.model,
    choices: [{
      index: 0,
      message: answer.finish === "refusal"
        ? { role: "assistant", content: null, refusal: answer.text, annotations: [] }
        : { role: "assistant", content: answer.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: finishReason(answer)
    }],
    usage: usage(answer),
    service_tier: "default",
    system_fingerprint: "fp_emulator"
  }),
  streamStart: (answer) =>
    Sse.data(chunk(
      answer,
      answer.finish === "refusal" ? { role: "assistant", content: null, refusal: "" } : {
        role: "assistant",
        content: "",
        refusal: null
      },
      null
    )),
  streamDelta: (answer, text) =>
    Sse.data(chunk(answer, answer.finish === "refusal" ? { refusal: text } : { content: text }, null)),
  streamEnd: (answer) => {
    let out = Sse.data(chunk(answer, {}, finishReason(answer)))
    if (answer.includeUsage) {
      out += Sse.data({
        id: answer.responseId,
        object: "chat.completion.chunk",
        created: answer.created,
        model: answer.model,
        service_tier: "default",
        system_fingerprint: "fp_emulator",
        choices: [],
        usage: usage(answer)
      })
    }
    return out + Sse.done
  },
  streamError: () =>
    Sse.data({
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null
      }
    }),
  malformedEvent: "data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":\n\n"
}
