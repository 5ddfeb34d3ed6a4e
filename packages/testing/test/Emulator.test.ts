import Anthropic from "@anthropic-ai/sdk"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import OpenAI from "openai"

// logLevel "off": the SDKs log undecodable events (the Malformed tests) through console
const openai = (emu: Emulator.Service) =>
  new OpenAI({ apiKey: "sk-test-secret", baseURL: emu.openAiBaseUrl, maxRetries: 0, logLevel: "off" })
const anthropic = (emu: Emulator.Service) =>
  new Anthropic({ apiKey: "sk-ant-secret", baseURL: emu.anthropicBaseUrl, maxRetries: 0, logLevel: "off" })

const step = (s: Emulator.Step) => ({ headers: { "x-emulator-step": JSON.stringify(s) } })

const failure = (f: () => Promise<unknown>): Effect.Effect<unknown> =>
  Effect.promise(async () => {
    try {
      await f()
    } catch (error) {
      return error
    }
    throw new Error("expected the call to fail")
  })

const responsesRequest = { model: "gpt-5-mini", input: "Hello" } as const
const chatRequest = { model: "gpt-5-mini", messages: [{ role: "user" as const, content: "Hello" }] }
const messagesRequest = {
  model: "claude-haiku-4-5",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Hello" }]
}

const collect = async <A>(iterable: AsyncIterable<A>): Promise<Array<A>> => {
  const out: Array<A> = []
  for await (const item of iterable) out.push(item)
  return out
}

describe("Emulator", () => {
  describe("happy path", () => {
    it.scopedLive("OpenAI Responses JSON", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const { data, response } = yield* Effect.promise(() =>
          openai(emu).responses.create({ model: "gpt-5-mini", input: "Hello there, emulator" }).withResponse()
        )
        assert.strictEqual(data.status, "completed")
        assert.isTrue(data.output_text.startsWith("Echo: Hello there, emulator"))
        assert.strictEqual(data.output_text.split(" ").length, 12)
        assert.strictEqual(data.model, "gpt-5-mini-2026-08-07")
        assert.strictEqual(data.usage?.input_tokens, Math.ceil("Hello there, emulator".length / 4))
        assert.strictEqual(data.usage?.output_tokens, 12)
        assert.strictEqual(data.usage?.input_tokens_details.cached_tokens, 0)
        const requestId = response.headers.get("x-request-id")
        assert.isString(requestId)
        assert.strictEqual(response.headers.get("x-ratelimit-limit-requests"), "10000")
        assert.strictEqual(response.headers.get("x-ratelimit-remaining-requests"), "9999")
        assert.match(response.headers.get("x-ratelimit-reset-requests")!, /^\d+(\.\d+)?(ms|s)$|^\dm\d+s$/)
        const [record] = yield* emu.requests
        assert.strictEqual(record?.id, requestId)
        assert.strictEqual(record?.api, "responses")
        assert.strictEqual(record?.provider, "openai")
        assert.strictEqual(record?.model, "gpt-5-mini")
        assert.strictEqual(record?.stream, false)
        assert.isTrue(record?.completed)
        assert.isFalse(record?.disconnected)
        assert.strictEqual(record?.headers.authorization, "<redacted>")
      }))

    it.scopedLive("rateLimitScale multiplies the limits the headers announce", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make({ rateLimitScale: 1000 })
        const { response } = yield* Effect.promise(() =>
          openai(emu).responses.create({ model: "gpt-5-mini", input: "Hello" }).withResponse()
        )
        assert.strictEqual(response.headers.get("x-ratelimit-limit-requests"), "10000000")
        assert.strictEqual(response.headers.get("x-ratelimit-remaining-requests"), "9999999")
        assert.strictEqual(response.headers.get("x-ratelimit-limit-tokens"), "2000000000")
        const message = yield* Effect.promise(() => anthropic(emu).messages.create(messagesRequest).withResponse())
        assert.strictEqual(message.response.headers.get("anthropic-ratelimit-requests-limit"), "4000000")
      }))

    it.scopedLive("OpenAI Responses SSE", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{
          _tag: "Reply",
          chunks: ["Hel", "lo ", "world"],
          usage: { input: 100, cachedInput: 40, output: 30, reasoning: 20 }
        }])
        const events = yield* Effect.promise(async () =>
          collect(await openai(emu).responses.create({ model: "gpt-5-mini", input: "hi", stream: true }))
        )
        const types = events.map((e) => e.type)
        assert.strictEqual(types[0], "response.created")
        assert.strictEqual(types[types.length - 1], "response.completed")
        const deltas = events.flatMap((e) => e.type === "response.output_text.delta" ? [e.delta] : [])
        assert.deepStrictEqual(deltas, ["Hel", "lo ", "world"])
        const completed = events[events.length - 1]
        assert(completed?.type === "response.completed")
        assert.strictEqual(completed.response.usage?.input_tokens, 100)
        assert.strictEqual(completed.response.usage?.input_tokens_details.cached_tokens, 40)
        assert.strictEqual(completed.response.usage?.output_tokens, 30)
        assert.strictEqual(completed.response.usage?.output_tokens_details.reasoning_tokens, 20)
        assert.strictEqual(completed.response.output_text ?? "Hello world", "Hello world")
        const [record] = yield* emu.requests
        assert.isTrue(record?.stream)
        assert.deepStrictEqual(record?.step, {
          _tag: "Reply",
          chunks: ["Hel", "lo ", "world"],
          usage: { input: 100, cachedInput: 40, output: 30, reasoning: 20 }
        })
      }))

    it.scopedLive("Chat Completions JSON", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const { data, response } = yield* Effect.promise(() =>
          openai(emu).chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "system", content: "Be brief" }, { role: "user", content: "What is Effect?" }],
            max_completion_tokens: 5
          }).withResponse()
        )
        assert.strictEqual(data.object, "chat.completion")
        assert.strictEqual(data.choices[0]?.message.content, "Echo: What is Effect? lorem")
        assert.strictEqual(data.choices[0]?.finish_reason, "length")
        assert.strictEqual(data.usage?.completion_tokens, 5)
        assert.strictEqual(data.usage?.prompt_tokens, Math.ceil(("Be brief" + "What is Effect?").length / 4))
        assert.isString(response.headers.get("x-request-id"))
      }))

    it.scopedLive("Chat Completions SSE with include_usage", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make({ defaultChunks: 3 })
        const chunks = yield* Effect.promise(async () =>
          collect(
            await openai(emu).chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "stream me" }],
              stream: true,
              stream_options: { include_usage: true }
            })
          )
        )
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")
        assert.strictEqual(text.split(" ").length, 12)
        assert.isTrue(text.startsWith("Echo: stream me"))
        const finish = chunks.find((c) => c.choices[0]?.finish_reason != null)
        assert.strictEqual(finish?.choices[0]?.finish_reason, "stop")
        const last = chunks[chunks.length - 1]
        assert.strictEqual(last?.choices.length, 0)
        assert.strictEqual(last?.usage?.completion_tokens, 12)
        // 3 content chunks + the role chunk + the finish chunk + the usage chunk
        assert.strictEqual(chunks.length, 6)
      }))

    it.scopedLive("Chat Completions SSE without include_usage has no usage chunk", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const chunks = yield* Effect.promise(async () =>
          collect(
            await openai(emu).chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "stream me" }],
              stream: true
            })
          )
        )
        assert.isTrue(chunks.every((c) => c.usage === undefined && c.choices.length === 1))
      }))

    it.scopedLive("Anthropic Messages JSON", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "Reply", text: "Bonjour", usage: { input: 100, cachedInput: 60, cacheWrite: 10 } }])
        const { data, response } = yield* Effect.promise(() =>
          anthropic(emu).messages.create({
            model: "claude-sonnet-4-6",
            max_tokens: 1024,
            messages: [{ role: "user", content: "Say hello in French" }]
          }).withResponse()
        )
        assert.deepStrictEqual(data.content.map((b) => b.type === "text" ? b.text : ""), ["Bonjour"])
        assert.strictEqual(data.stop_reason, "end_turn")
        assert.strictEqual(data.model, "claude-sonnet-4-6-20260807")
        assert.strictEqual(data.usage.input_tokens, 30)
        assert.strictEqual(data.usage.cache_read_input_tokens, 60)
        assert.strictEqual(data.usage.cache_creation_input_tokens, 10)
        assert.strictEqual(data.usage.output_tokens, 1)
        const requestId = response.headers.get("request-id")
        assert.isString(requestId)
        assert.strictEqual(response.headers.get("anthropic-ratelimit-requests-limit"), "4000")
        assert.match(
          response.headers.get("anthropic-ratelimit-tokens-reset")!,
          /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
        )
        const [record] = yield* emu.requests
        assert.strictEqual(record?.id, requestId)
        assert.strictEqual(record?.api, "messages")
        const auth = [record?.headers["x-api-key"], record?.headers.authorization].filter((v) => v !== undefined)
        assert.isAbove(auth.length, 0)
        assert.isTrue(auth.every((v) => v === "<redacted>"))
        assert.isFalse(JSON.stringify(record).includes("sk-ant-secret"))
      }))

    it.scopedLive("Anthropic Messages SSE", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const events = yield* Effect.promise(async () =>
          collect(
            await anthropic(emu).messages.create({
              model: "claude-sonnet-4-6",
              max_tokens: 1024,
              messages: [{ role: "user", content: "Stream please" }],
              stream: true
            })
          )
        )
        const types = events.map((e) => e.type)
        assert.strictEqual(types[0], "message_start")
        assert.strictEqual(types[1], "content_block_start")
        assert.deepStrictEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"])
        const text = events.flatMap((e) =>
          e.type === "content_block_delta" && e.delta.type === "text_delta" ? [e.delta.text] : []
        ).join("")
        assert.isTrue(text.startsWith("Echo: Stream please"))
        const start = events[0]
        assert(start?.type === "message_start")
        assert.strictEqual(start.message.usage.input_tokens, Math.ceil("Stream please".length / 4))
        const delta = events.find((e) => e.type === "message_delta")
        assert(delta?.type === "message_delta")
        assert.strictEqual(delta.delta.stop_reason, "end_turn")
        assert.strictEqual(delta.usage.output_tokens, 12)
      }))

    it.scopedLive("OpenAI stream helpers (responses.stream, chat.completions.stream) accumulate the final answer", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "Reply", chunks: ["a", "b", "c"] }, { _tag: "Reply", chunks: ["x", "y"] }])
        const response = yield* Effect.promise(() =>
          openai(emu).responses.stream({ model: "gpt-5-mini", input: "x" }).finalResponse()
        )
        assert.strictEqual(response.output_text, "abc")
        assert.strictEqual(response.usage?.output_tokens, 1)
        const completion = yield* Effect.promise(() =>
          openai(emu).chat.completions.stream({
            model: "gpt-5-mini",
            messages: [{ role: "user", content: "x" }],
            stream_options: { include_usage: true }
          }).finalChatCompletion()
        )
        assert.strictEqual(completion.choices[0]?.message.content, "xy")
        assert.strictEqual(completion.usage?.completion_tokens, 1)
      }))

    it.scopedLive("Anthropic MessageStream helper accumulates the final message", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "Reply", chunks: ["a", "b", "c"] }])
        const message = yield* Effect.promise(() =>
          anthropic(emu).messages.stream({
            model: "claude-haiku-4-5",
            max_tokens: 100,
            messages: [{ role: "user", content: "x" }]
          }).finalMessage()
        )
        assert.deepStrictEqual(message.content.map((b) => b.type === "text" ? b.text : ""), ["abc"])
        assert.strictEqual(message.usage.output_tokens, 1)
      }))
  })

  describe("HTTP faults", () => {
    const openAiCases: ReadonlyArray<{
      readonly step: Emulator.Step
      readonly status: number
      readonly type: string | null
      readonly code: string | null
      readonly headers?: Record<string, string>
      readonly message?: RegExp
      readonly param?: string
    }> = [
      {
        step: { _tag: "RateLimited", retryAfterMs: 1500 },
        status: 429,
        type: "requests",
        code: "rate_limit_exceeded",
        headers: { "retry-after-ms": "1500", "retry-after": "2", "x-ratelimit-remaining-requests": "0" }
      },
      {
        step: { _tag: "RateLimited", retryAfterSeconds: 3, limit: "tokens" },
        status: 429,
        type: "tokens",
        code: "rate_limit_exceeded",
        headers: { "retry-after": "3", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "3s" }
      },
      { step: { _tag: "QuotaExhausted" }, status: 429, type: "insufficient_quota", code: "insufficient_quota" },
      { step: { _tag: "ServerError" }, status: 500, type: "server_error", code: null },
      { step: { _tag: "ServerError", status: 502 }, status: 502, type: "server_error", code: null },
      { step: { _tag: "ServerError", status: 503 }, status: 503, type: "server_error", code: null },
      { step: { _tag: "Overloaded" }, status: 503, type: "server_error", code: null, message: /overloaded/ },
      {
        step: { _tag: "ContextLength", limit: 1000, requested: 2000 },
        status: 400,
        type: "invalid_request_error",
        code: "context_length_exceeded",
        message: /maximum context length is 1000 tokens\. However, your messages resulted in 2000 tokens/
      },
      {
        step: { _tag: "InvalidRequest", param: "top_p" },
        status: 400,
        type: "invalid_request_error",
        code: "invalid_value",
        param: "top_p"
      },
      {
        step: { _tag: "InvalidRequest", status: 404 },
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found"
      },
      {
        step: { _tag: "InvalidRequest", status: 422 },
        status: 422,
        type: "invalid_request_error",
        code: "invalid_value"
      },
      { step: { _tag: "AuthenticationFailed" }, status: 401, type: "invalid_request_error", code: "invalid_api_key" },
      {
        step: { _tag: "AuthenticationFailed", status: 403 },
        status: 403,
        type: "invalid_request_error",
        code: "permission_denied"
      }
    ]

    for (const c of openAiCases) {
      it.scopedLive(`OpenAI ${JSON.stringify(c.step)} -> ${c.status}`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          for (
            const call of [
              () => openai(emu).responses.create(responsesRequest, step(c.step)),
              () => openai(emu).chat.completions.create({ ...chatRequest, stream: true }, step(c.step))
            ]
          ) {
            const error = yield* failure(call)
            assert.instanceOf(error, OpenAI.APIError)
            assert.strictEqual(error.status, c.status)
            assert.strictEqual(error.type, c.type)
            assert.strictEqual(error.code, c.code)
            if (c.param !== undefined) assert.strictEqual(error.param, c.param)
            if (c.message !== undefined) assert.match(error.message, c.message)
            for (const [name, value] of Object.entries(c.headers ?? {})) {
              assert.strictEqual(error.headers?.get(name), value, name)
            }
            const records = yield* emu.requests
            assert.strictEqual(error.requestID, records[records.length - 1]?.id)
            assert.deepStrictEqual(records[records.length - 1]?.step, c.step)
          }
        }))
    }

    const anthropicCases: ReadonlyArray<{
      readonly step: Emulator.Step
      readonly status: number
      readonly type: string
      readonly headers?: Record<string, string>
      readonly message?: RegExp
    }> = [
      {
        step: { _tag: "RateLimited", retryAfterSeconds: 7 },
        status: 429,
        type: "rate_limit_error",
        headers: { "retry-after": "7", "anthropic-ratelimit-requests-remaining": "0" }
      },
      { step: { _tag: "QuotaExhausted" }, status: 402, type: "billing_error" },
      { step: { _tag: "ServerError" }, status: 500, type: "api_error" },
      { step: { _tag: "ServerError", status: 503 }, status: 503, type: "api_error" },
      { step: { _tag: "Overloaded" }, status: 529, type: "overloaded_error" },
      {
        step: { _tag: "ContextLength", limit: 1000, requested: 2000 },
        status: 400,
        type: "invalid_request_error",
        message: /prompt is too long: 2000 tokens > 1000 maximum/
      },
      { step: { _tag: "InvalidRequest" }, status: 400, type: "invalid_request_error" },
      { step: { _tag: "InvalidRequest", status: 404 }, status: 404, type: "not_found_error" },
      { step: { _tag: "AuthenticationFailed" }, status: 401, type: "authentication_error" },
      { step: { _tag: "AuthenticationFailed", status: 403 }, status: 403, type: "permission_error" }
    ]

    for (const c of anthropicCases) {
      it.scopedLive(`Anthropic ${JSON.stringify(c.step)} -> ${c.status}`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          for (
            const call of [
              () => anthropic(emu).messages.create(messagesRequest, step(c.step)),
              () => anthropic(emu).messages.create({ ...messagesRequest, stream: true }, step(c.step))
            ]
          ) {
            const error = yield* failure(call)
            assert.instanceOf(error, Anthropic.APIError)
            assert.strictEqual(error.status, c.status)
            assert.strictEqual(error.type, c.type)
            assert.strictEqual((error.error as { type?: string }).type, "error")
            if (c.message !== undefined) assert.match(error.message, c.message)
            for (const [name, value] of Object.entries(c.headers ?? {})) {
              assert.strictEqual(error.headers?.get(name), value, name)
            }
            const records = yield* emu.requests
            assert.strictEqual(error.requestID, records[records.length - 1]?.id)
          }
        }))
    }

    it.scopedLive("ContextLength without numbers uses the provider limit and the estimated prompt", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const openAiError = yield* failure(() =>
          openai(emu).responses.create(responsesRequest, step({ _tag: "ContextLength" }))
        )
        assert.match(
          (openAiError as Error).message,
          /maximum context length is 128000 tokens\. However, your messages resulted in 128001 tokens/
        )
        const anthropicError = yield* failure(() =>
          anthropic(emu).messages.create(messagesRequest, step({ _tag: "ContextLength" }))
        )
        assert.match((anthropicError as Error).message, /prompt is too long: 200001 tokens > 200000 maximum/)
      }))
  })

  describe("answer faults", () => {
    it.scopedLive("ContentFilter: Responses incomplete, Chat content_filter, Anthropic refusal", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const filter = step({ _tag: "ContentFilter" })
        const response = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest, filter))
        assert.strictEqual(response.status, "incomplete")
        assert.strictEqual(response.incomplete_details?.reason, "content_filter")
        const events = yield* Effect.promise(async () =>
          collect(await openai(emu).responses.create({ ...responsesRequest, stream: true }, filter))
        )
        const last = events[events.length - 1]
        assert(last?.type === "response.incomplete")
        assert.strictEqual(last.response.incomplete_details?.reason, "content_filter")
        const chat = yield* Effect.promise(() => openai(emu).chat.completions.create(chatRequest, filter))
        assert.strictEqual(chat.choices[0]?.finish_reason, "content_filter")
        const chunks = yield* Effect.promise(async () =>
          collect(await openai(emu).chat.completions.create({ ...chatRequest, stream: true }, filter))
        )
        assert.strictEqual(chunks[chunks.length - 1]?.choices[0]?.finish_reason, "content_filter")
        const message = yield* Effect.promise(() => anthropic(emu).messages.create(messagesRequest, filter))
        assert.strictEqual(message.stop_reason, "refusal")
      }))

    it.scopedLive("Refusal: Responses refusal part, Chat message.refusal, Anthropic stop_reason refusal", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const refusal = step({ _tag: "Refusal", text: "I can't help with that." })
        const response = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest, refusal))
        const item = response.output[0]
        assert(item?.type === "message")
        assert.deepStrictEqual(item.content[0], { type: "refusal", refusal: "I can't help with that." })
        const events = yield* Effect.promise(async () =>
          collect(await openai(emu).responses.create({ ...responsesRequest, stream: true }, refusal))
        )
        const refused = events.flatMap((e) => e.type === "response.refusal.delta" ? [e.delta] : []).join("")
        assert.strictEqual(refused, "I can't help with that.")
        const chat = yield* Effect.promise(() => openai(emu).chat.completions.create(chatRequest, refusal))
        assert.strictEqual(chat.choices[0]?.message.refusal, "I can't help with that.")
        assert.strictEqual(chat.choices[0]?.message.content, null)
        const chunks = yield* Effect.promise(async () =>
          collect(await openai(emu).chat.completions.create({ ...chatRequest, stream: true }, refusal))
        )
        assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.refusal ?? "").join(""), "I can't help with that.")
        const message = yield* Effect.promise(() => anthropic(emu).messages.create(messagesRequest, refusal))
        assert.strictEqual(message.stop_reason, "refusal")
        const streamed = yield* Effect.promise(async () =>
          collect(await anthropic(emu).messages.create({ ...messagesRequest, stream: true }, refusal))
        )
        const delta = streamed.find((e) => e.type === "message_delta")
        assert(delta?.type === "message_delta")
        assert.strictEqual(delta.delta.stop_reason, "refusal")
      }))

    it.scopedLive("Reply with finishReason length and a served model", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const s = step({ _tag: "Reply", text: "cut short", finishReason: "length", model: "gpt-5-mini-2099-01-01" })
        const response = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest, s))
        assert.strictEqual(response.status, "incomplete")
        assert.strictEqual(response.incomplete_details?.reason, "max_output_tokens")
        assert.strictEqual(response.model, "gpt-5-mini-2099-01-01")
        const chat = yield* Effect.promise(() => openai(emu).chat.completions.create(chatRequest, s))
        assert.strictEqual(chat.choices[0]?.finish_reason, "length")
        const message = yield* Effect.promise(() => anthropic(emu).messages.create(messagesRequest, s))
        assert.strictEqual(message.stop_reason, "max_tokens")
      }))

    it.scopedLive("max tokens caps the default answer", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const response = yield* Effect.promise(() =>
          openai(emu).responses.create({ ...responsesRequest, max_output_tokens: 3 })
        )
        assert.strictEqual(response.output_text, "Echo: Hello lorem")
        assert.strictEqual(response.usage?.output_tokens, 3)
        assert.strictEqual(response.incomplete_details?.reason, "max_output_tokens")
        const message = yield* Effect.promise(() =>
          anthropic(emu).messages.create({ ...messagesRequest, max_tokens: 2 })
        )
        assert.strictEqual(message.stop_reason, "max_tokens")
        assert.strictEqual(message.usage.output_tokens, 2)
      }))
  })

  describe("transport faults", () => {
    it.scopedLive("SlowFirstByte waits before the headers, then applies its next step", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const started = Date.now()
        const { data, response } = yield* Effect.promise(() =>
          openai(emu).responses.create(
            responsesRequest,
            step({ _tag: "SlowFirstByte", delayMs: 40, then: { _tag: "Reply", text: "late" } })
          ).withResponse()
        )
        assert.isAtLeast(Date.now() - started, 35)
        assert.strictEqual(data.output_text, "late")
        assert.isString(response.headers.get("x-request-id"))
        const error = yield* failure(() =>
          anthropic(emu).messages.create(
            messagesRequest,
            step({ _tag: "SlowFirstByte", delayMs: 5, then: { _tag: "Overloaded" } })
          )
        )
        assert.strictEqual((error as InstanceType<typeof Anthropic.APIError>).status, 529)
      }))

    it.scopedLive("ChunkDelay spaces the chunks of a stream", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const times: Array<number> = []
        const started = Date.now()
        const events = yield* Effect.promise(async () => {
          const stream = await anthropic(emu).messages.create(
            { ...messagesRequest, stream: true },
            step({ _tag: "ChunkDelay", delayMs: 15, text: "one two three" })
          )
          const out = []
          for await (const event of stream) {
            if (event.type === "content_block_delta") times.push(Date.now())
            out.push(event)
          }
          return out
        })
        assert.strictEqual(events[events.length - 1]?.type, "message_stop")
        assert.strictEqual(times.length, 3)
        // a lower bound only (a busy client may read chunks sent apart in one read): the last chunk
        // cannot arrive before the two delays have passed since the request (1 ms of timer rounding)
        assert.isAtLeast(times[2]! - started, 28)
      }))

    for (const api of ["responses", "chat", "messages"] as const) {
      const streamOf = (emu: Emulator.Service, s: Emulator.Step): Promise<AsyncIterable<unknown>> =>
        api === "responses"
          ? openai(emu).responses.create({ ...responsesRequest, stream: true }, step(s))
          : api === "chat"
          ? openai(emu).chat.completions.create({ ...chatRequest, stream: true }, step(s))
          : anthropic(emu).messages.create({ ...messagesRequest, stream: true }, step(s))
      const deltaText = (event: any): string | undefined =>
        api === "responses"
          ? event.type === "response.output_text.delta" ? event.delta : undefined
          : api === "chat"
          ? event.choices?.[0]?.delta?.content || undefined
          : event.type === "content_block_delta"
          ? event.delta.text
          : undefined

      const consume = (emu: Emulator.Service, s: Emulator.Step) =>
        Effect.promise(async () => {
          const deltas: Array<string> = []
          try {
            for await (const event of await streamOf(emu, s)) {
              const text = deltaText(event)
              if (text !== undefined) deltas.push(text)
            }
            return { deltas, error: undefined as unknown }
          } catch (error) {
            return { deltas, error }
          }
        })

      it.scopedLive(`${api}: StreamError sends N chunks then the provider's error event`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          const { deltas, error } = yield* consume(emu, { _tag: "StreamError", afterChunks: 2 })
          assert.strictEqual(deltas.length, 2)
          if (api === "messages") {
            assert.instanceOf(error, Anthropic.APIError)
            assert.strictEqual((error as InstanceType<typeof Anthropic.APIError>).type, "overloaded_error")
          } else {
            assert.instanceOf(error, OpenAI.APIError)
            assert.match((error as Error).message, /server had an error/)
          }
        }))

      it.scopedLive(`${api}: Cut sends N chunks then destroys the socket`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          const { deltas, error } = yield* consume(emu, { _tag: "Cut", afterChunks: 1 })
          assert.strictEqual(deltas.length, 1)
          assert.isDefined(error)
          assert.notInstanceOf(error, OpenAI.APIError)
          assert.notInstanceOf(error, Anthropic.APIError)
          const [record] = yield* emu.requests
          assert.isFalse(record?.completed)
          assert.isFalse(record?.disconnected)
        }))

      it.scopedLive(`${api}: Malformed stream fails to decode`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          const { error } = yield* consume(emu, { _tag: "Malformed" })
          assert.instanceOf(error, SyntaxError)
        }))

      it.scopedLive(`${api}: Stall sends N chunks then nothing; the client's abort is recorded`, () =>
        Effect.gen(function*() {
          const emu = yield* Emulator.make()
          const deltas = yield* Effect.promise(async () => {
            const out: Array<string> = []
            const stream = await streamOf(emu, { _tag: "Stall", afterChunks: 2 }) as AsyncIterable<unknown> & {
              controller: AbortController
            }
            // once two deltas arrived, give a third one 30 ms to (wrongly) show up, then abort
            let timer: ReturnType<typeof setTimeout> | undefined
            try {
              for await (const event of stream) {
                const text = deltaText(event)
                if (text !== undefined) out.push(text)
                if (out.length === 2 && timer === undefined) timer = setTimeout(() => stream.controller.abort(), 30)
              }
            } catch {
              // aborted
            }
            clearTimeout(timer)
            return out
          })
          assert.strictEqual(deltas.length, 2)
          yield* waitFor(emu, (r) => r.disconnected)
          const [record] = yield* emu.requests
          assert.isTrue(record?.disconnected)
          assert.isFalse(record?.completed)
        }))
    }

    it.scopedLive("Reset destroys the socket before any byte (connection error)", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const openAiError = yield* failure(() =>
          openai(emu).responses.create(responsesRequest, step({ _tag: "Reset" }))
        )
        assert.instanceOf(openAiError, OpenAI.APIConnectionError)
        const anthropicError = yield* failure(() =>
          anthropic(emu).messages.create(messagesRequest, step({ _tag: "Reset" }))
        )
        assert.instanceOf(anthropicError, Anthropic.APIConnectionError)
        const records = yield* emu.requests
        assert.deepStrictEqual(records.map((r) => [r.completed, r.disconnected]), [[false, false], [false, false]])
      }))

    it.scopedLive("Malformed JSON body fails to decode", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const openAiError = yield* failure(() =>
          openai(emu).responses.create(responsesRequest, step({ _tag: "Malformed" }))
        )
        assert.instanceOf(openAiError, Error)
        assert.notInstanceOf(openAiError, OpenAI.APIError)
        const anthropicError = yield* failure(() =>
          anthropic(emu).messages.create(messagesRequest, step({ _tag: "Malformed" }))
        )
        assert.instanceOf(anthropicError, Error)
        const raw = yield* Effect.promise(() =>
          fetch(`${emu.openAiBaseUrl}/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-emulator-step": JSON.stringify({ _tag: "Malformed" }) },
            body: JSON.stringify(chatRequest)
          }).then(async (r) => ({ status: r.status, text: await r.text() }))
        )
        assert.strictEqual(raw.status, 200)
        assert.throws(() => JSON.parse(raw.text))
      }))

    it.scopedLive("Stall on a JSON call sends headers and then nothing", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const controller = new AbortController()
        const status = yield* Effect.promise(async () => {
          const response = await fetch(`${emu.openAiBaseUrl}/responses`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-emulator-step": JSON.stringify({ _tag: "Stall", afterChunks: 0 })
            },
            body: JSON.stringify(responsesRequest),
            signal: controller.signal
          })
          setTimeout(() => controller.abort(), 20)
          const body = await response.text().then(() => "body", () => "aborted")
          return [response.status, body]
        })
        assert.deepStrictEqual(status, [200, "aborted"])
        yield* waitFor(emu, (r) => r.disconnected)
      }))

    it.scopedLive("Cut on a JSON call sends half the body", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const error = yield* failure(() =>
          openai(emu).responses.create(responsesRequest, step({ _tag: "Cut", afterChunks: 0 }))
        )
        assert.instanceOf(error, Error)
        const [record] = yield* emu.requests
        assert.isFalse(record?.completed)
      }))

    it.scopedLive("closing the scope drops stalled connections", () =>
      Effect.gen(function*() {
        const outcome = yield* Effect.gen(function*() {
          const emu = yield* Emulator.make()
          const pending = fetch(`${emu.openAiBaseUrl}/responses`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-emulator-step": JSON.stringify({ _tag: "Stall", afterChunks: 0 })
            },
            body: JSON.stringify({ ...responsesRequest, stream: true })
          }).then((r) => r.text()).then(() => "finished", () => "dropped")
          yield* waitFor(emu, () => true)
          return pending
        }).pipe(Effect.scoped)
        assert.strictEqual(yield* Effect.promise(() => outcome), "dropped")
      }))
  })

  describe("scripts, chaos and records", () => {
    it.scopedLive("scripted steps are consumed FIFO, per-model queues first, then defaults", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "Reply", text: "one" }, { _tag: "Reply", text: "two" }])
        yield* emu.script([{ _tag: "Reply", text: "for mini" }], { model: "gpt-5-mini" })
        const ask = (model: string) =>
          Effect.promise(() => openai(emu).responses.create({ model, input: "q" }).then((r) => r.output_text))
        assert.strictEqual(yield* ask("gpt-5"), "one")
        assert.strictEqual(yield* ask("gpt-5-mini"), "for mini")
        assert.strictEqual(yield* ask("gpt-5-mini"), "two")
        assert.isTrue((yield* ask("gpt-5")).startsWith("Echo: q"))
        const records = yield* emu.requests
        assert.deepStrictEqual(records.map((r) => r.step?._tag), ["Reply", "Reply", "Reply", undefined])
      }))

    it.scopedLive("the x-emulator-step header wins and does not consume the script", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "Reply", text: "scripted" }])
        const a = yield* Effect.promise(() =>
          openai(emu).responses.create(responsesRequest, step({ _tag: "Reply", text: "from header" }))
        )
        const b = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest))
        assert.deepStrictEqual([a.output_text, b.output_text], ["from header", "scripted"])
      }))

    it.scopedLive("an x-emulator-step header that is not a step is a 400", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const error = yield* failure(() =>
          openai(emu).responses.create(responsesRequest, { headers: { "x-emulator-step": "{nope" } })
        )
        assert.instanceOf(error, OpenAI.BadRequestError)
        assert.strictEqual(error.param, "x-emulator-step")
      }))

    it.scopedLive("errors then success: the SDK's own retry sees the scripted sequence", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "RateLimited", retryAfterMs: 5 }, { _tag: "ServerError" }, {
          _tag: "Reply",
          text: "ok"
        }])
        const client = new OpenAI({ apiKey: "k", baseURL: emu.openAiBaseUrl, maxRetries: 2 })
        const response = yield* Effect.promise(() => client.responses.create(responsesRequest))
        assert.strictEqual(response.output_text, "ok")
        const records = yield* emu.requests
        assert.deepStrictEqual(records.map((r) => r.headers["x-stainless-retry-count"]), ["0", "1", "2"])
      }))

    it.scopedLive("seeded chaos is reproducible", () =>
      Effect.gen(function*() {
        const chaos = {
          rate: 0.5,
          steps: [{ _tag: "ServerError" }, { _tag: "Overloaded" }, { _tag: "QuotaExhausted" }] as const
        }
        const run = (seed: number) =>
          Effect.gen(function*() {
            const emu = yield* Emulator.make({ seed, chaos })
            const statuses: Array<number> = []
            for (let i = 0; i < 20; i++) {
              const status = yield* Effect.promise(() =>
                fetch(`${emu.url}/v1/messages`, { method: "POST", body: JSON.stringify(messagesRequest) }).then((r) =>
                  r.status
                )
              )
              statuses.push(status)
            }
            const tags = (yield* emu.requests).map((r) => r.step?._tag ?? "-")
            yield* emu.reset
            const again: Array<number> = []
            for (let i = 0; i < 20; i++) {
              again.push(
                yield* Effect.promise(() =>
                  fetch(`${emu.url}/v1/messages`, { method: "POST", body: JSON.stringify(messagesRequest) }).then((r) =>
                    r.status
                  )
                )
              )
            }
            return { statuses, tags, again }
          }).pipe(Effect.scoped)
        const a = yield* run(42)
        const b = yield* run(42)
        const c = yield* run(7)
        assert.deepStrictEqual(a.statuses, b.statuses)
        assert.deepStrictEqual(a.tags, b.tags)
        assert.deepStrictEqual(a.statuses, a.again) // reset re-seeds
        assert.notDeepEqual(a.statuses, c.statuses)
        const faults = a.tags.filter((t) => t !== "-").length
        assert.isAbove(faults, 3)
        assert.isBelow(faults, 17)
        assert.isTrue(a.statuses.every((s, i) => (a.tags[i] === "-") === (s === 200)))
      }))

    it.scopedLive("disconnects are recorded when the client aborts", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const controller = new AbortController()
        const pending = anthropic(emu).messages.create(messagesRequest, {
          ...step({ _tag: "SlowFirstByte", delayMs: 2_000 }),
          signal: controller.signal
        }).then(() => undefined, (error: unknown) => error)
        yield* emu.awaitRequest(() => true)
        controller.abort()
        const error = yield* Effect.promise(() => pending)
        assert.instanceOf(error, Anthropic.APIUserAbortError)
        yield* waitFor(emu, (r) => r.disconnected)
        const [record] = yield* emu.requests
        assert.isTrue(record?.disconnected)
        assert.isFalse(record?.completed)
      }))

    it.scoped("interrupting a fiber that runs an SDK call is seen as a disconnect (awaitRequest, any clock)", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        const fiber = yield* Effect.fork(
          Effect.tryPromise((signal) =>
            openai(emu).responses.create({ ...responsesRequest, stream: true }, {
              ...step({ _tag: "ChunkDelay", delayMs: 5_000 }),
              signal
            }).then(collect)
          )
        )
        yield* emu.awaitRequest((r) => r.stream)
        yield* Fiber.interrupt(fiber)
        const record = yield* emu.awaitRequest((r) => r.disconnected)
        assert.strictEqual(record.api, "responses")
        assert.isFalse(record.completed)
        // already-recorded matches resolve at once
        assert.strictEqual((yield* emu.awaitRequest((r) => r.disconnected)).id, record.id)
      }))

    it.scopedLive("count-tokens endpoints", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "ServerError" }])
        const input = "x".repeat(40)
        const openAiCount = yield* Effect.promise(() =>
          openai(emu).responses.inputTokens.count({ model: "gpt-5-mini", input })
        )
        assert.deepStrictEqual(openAiCount, { object: "response.input_tokens", input_tokens: 10 })
        const anthropicCount = yield* Effect.promise(() =>
          anthropic(emu).messages.countTokens({
            model: "claude-haiku-4-5",
            system: "y".repeat(8),
            messages: [{ role: "user", content: input }]
          })
        )
        assert.strictEqual(anthropicCount.input_tokens, 12)
        const records = yield* emu.requests
        assert.deepStrictEqual(records.map((r) => [r.provider, r.api]), [["openai", "count-tokens"], [
          "anthropic",
          "count-tokens"
        ]])
        // the script was not consumed by count-tokens calls
        const error = yield* failure(() => openai(emu).responses.create(responsesRequest))
        assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).status, 500)
      }))

    it.scopedLive("reset clears scripts and records", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make()
        yield* emu.script([{ _tag: "ServerError" }])
        yield* emu.script([{ _tag: "ServerError" }], { model: "gpt-5-mini" })
        yield* Effect.promise(() =>
          openai(emu).responses.create({ ...responsesRequest, model: "other" }).catch(() => undefined)
        )
        assert.strictEqual((yield* emu.requests).length, 1)
        yield* emu.reset
        assert.strictEqual((yield* emu.requests).length, 0)
        const response = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest))
        assert.strictEqual(response.status, "completed")
      }))

    it.scopedLive("latencyMs delays every answer; unknown routes are 404", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make({ latencyMs: 30 })
        const started = Date.now()
        yield* Effect.promise(() => anthropic(emu).messages.create(messagesRequest))
        assert.isAtLeast(Date.now() - started, 25)
        const status = yield* Effect.promise(() =>
          fetch(`${emu.url}/v1/nope`, { method: "POST" }).then((r) => r.status)
        )
        assert.strictEqual(status, 404)
      }))

    it.scopedLive("holdMs keeps responses open after their headers", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.make({ holdMs: 30 })
        const started = Date.now()
        const events = yield* Effect.promise(async () =>
          collect(await openai(emu).chat.completions.create({ ...chatRequest, stream: true }))
        )
        assert.isAtLeast(Date.now() - started, 25)
        assert.strictEqual(events[events.length - 1]?.choices[0]?.finish_reason, "stop")
        const response = yield* Effect.promise(() => openai(emu).responses.create(responsesRequest))
        assert.strictEqual(response.status, "completed")
      }))

    it.scopedLive("the Emulator layer serves the tag", () =>
      Effect.gen(function*() {
        const emu = yield* Emulator.Emulator
        assert.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(emu.openAiBaseUrl, `${emu.url}/v1`)
        assert.strictEqual(emu.anthropicBaseUrl, emu.url)
      }).pipe(Effect.provide(Emulator.layer())))
  })
})

const waitFor = (emu: Emulator.Service, predicate: (r: Emulator.RecordedRequest) => boolean) =>
  emu.awaitRequest(predicate).pipe(
    Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "timed out" }),
    Effect.orDie
  )
