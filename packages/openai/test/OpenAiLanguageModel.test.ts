import { LanguageModel, LlmError, type StreamEvent, Timeout } from "@effect-llm/core"
import { Emulator, StreamCalls } from "@effect-llm/testing"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Schema, Stream, Tracer } from "effect"

const isTextDelta = (event: StreamEvent.StreamEvent) => event._tag === "TextDelta"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"
import {
  apiKey,
  clientLayer,
  deltaText,
  drain,
  errorOf,
  failureOf,
  hello,
  lastRequest,
  modes,
  runStreamed,
  script,
  streamApis,
  takeFirst,
  TestLayer,
  waitForRequests
} from "./fixtures.js"

const apis = ["responses", "chat-completions"] as const

/** A tracer that keeps every span it makes (over the tracer in context). */
const recordingTracer = Effect.tracerWith((base) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (...args) => {
      const span = base.span(...args)
      spans.push(span)
      return span
    },
    context: (f, fiber) => base.context(f, fiber)
  })
  return Effect.succeed({ recording, spans })
})

// Real HTTP over loopback: the live clock (no TestServices) so that waiting for the emulator works.
layer(TestLayer, { excludeTestServices: true })("OpenAiLanguageModel", (it) => {
  for (const api of apis) {
    const model = OpenAiLanguageModel.make("gpt-5-mini", { api })

    describe(api, () => {
      // ---------------------------------------------------------------------------------------------
      // success
      // ---------------------------------------------------------------------------------------------

      it.effect("generate: text, usage (cached + reasoning), request id, rate limits, served model", () =>
        Effect.gen(function*() {
          yield* script([{
            _tag: "Reply",
            text: "Hi from the emulator",
            usage: { input: 120, output: 30, cachedInput: 64, reasoning: 12 },
            model: "gpt-5-mini-2026-01-15"
          }])
          const completion = yield* model.generate(hello)
          const request = yield* lastRequest
          assert.strictEqual(request.api, api)
          assert.strictEqual(request.stream, false)
          assert.strictEqual(completion.text, "Hi from the emulator")
          assert.strictEqual(completion.finishReason, "stop")
          assert.deepStrictEqual(completion.usage, {
            inputTokens: 120,
            cachedInputTokens: 64,
            cacheWriteInputTokens: 0,
            outputTokens: 30,
            reasoningTokens: 12
          })
          assert.strictEqual(completion.provider, "openai")
          assert.strictEqual(completion.model, "gpt-5-mini")
          assert.strictEqual(completion.servedModel, "gpt-5-mini-2026-01-15")
          assert.strictEqual(completion.requestId, request.id)
          assert.isString(completion.responseId)
          assert.strictEqual(completion.rateLimit?.limitRequests, 10_000)
          assert.strictEqual(completion.rateLimit?.limitTokens, 2_000_000)
          assert.isNumber(completion.rateLimit?.remainingRequests)
          assert.isNumber(completion.rateLimit?.remainingTokens)
          assert.isNumber(completion.rateLimit?.resetRequestsMillis)
          assert.isNumber(completion.rateLimit?.resetTokensMillis)
          assert.strictEqual(completion.attempts.length, 1)
          assert.strictEqual(completion.attempts[0]!.outcome, "success")
          assert.strictEqual(request.headers["authorization"], "<redacted>")
          assert.match(request.headers["user-agent"]!, /^OpenAI\/JS \d/)
        }))

      for (const via of streamApis) {
        it.effect(`${via}: deltas in order, then one Finish with the full completion`, () =>
          Effect.gen(function*() {
            yield* script([{
              _tag: "Reply",
              chunks: ["Hel", "lo ", "wor", "ld"],
              usage: { input: 50, output: 9, cachedInput: 32, reasoning: 3 }
            }])
            const { events, exit } = yield* runStreamed(model, hello, via)
            assert.isTrue(Exit.isSuccess(exit))
            const request = yield* lastRequest
            assert.strictEqual(request.stream, true)
            assert.deepStrictEqual(
              events.slice(0, -1).map((e) => e._tag === "TextDelta" ? e.text : e._tag),
              ["Hel", "lo ", "wor", "ld"]
            )
            const last = events[events.length - 1]!
            assert.strictEqual(last._tag, "Finish")
            if (last._tag !== "Finish") return
            const completion = last.completion
            assert.strictEqual(completion.text, "Hello world")
            assert.strictEqual(completion.finishReason, "stop")
            assert.deepStrictEqual(completion.usage, {
              inputTokens: 50,
              cachedInputTokens: 32,
              cacheWriteInputTokens: 0,
              outputTokens: 9,
              reasoningTokens: 3
            })
            assert.strictEqual(completion.servedModel, "gpt-5-mini-2026-08-07")
            assert.strictEqual(completion.requestId, request.id)
            assert.isString(completion.responseId)
            assert.strictEqual(completion.rateLimit?.limitRequests, 10_000)
            if (api === "chat-completions") {
              assert.deepStrictEqual((request.body as Record<string, unknown>)["stream_options"], {
                include_usage: true
              })
            }
          }))
      }

      it.effect("stream: the events of one network read come as one chunk, events sent apart come apart", () =>
        Effect.gen(function*() {
          const textsPerChunk = <E, R>(stream: Stream.Stream<StreamEvent.StreamEvent, E, R>) =>
            Effect.map(
              Stream.runCollect(Stream.chunks(stream)),
              (chunks) => Chunk.toReadonlyArray(chunks).map((chunk) => Chunk.filter(chunk, isTextDelta).length)
            )
          // the emulator writes a whole answer at once: its deltas and the Finish share a chunk
          yield* script([{ _tag: "Reply", chunks: ["Hel", "lo ", "wor", "ld"] }])
          assert.deepStrictEqual(yield* textsPerChunk(model.stream(hello)), [4])
          // 30 ms between the deltas: one chunk each
          yield* script([{ _tag: "ChunkDelay", delayMs: 30, text: "a b c" }])
          const apart = yield* textsPerChunk(model.stream(hello))
          assert.deepStrictEqual(apart.filter((n) => n > 0), [1, 1, 1])
        }))

      it.effect("streamEach: the events of one network read come in turn, in order, before the next macrotask", () =>
        Effect.gen(function*() {
          const groups = Effect.map(StreamCalls.macrotaskGroups(model, hello, "streamEach"), ({ exit, groups }) => {
            assert.isTrue(Exit.isSuccess(exit), String(exit))
            return groups
          })
          // the emulator writes a whole answer at once: its deltas and the Finish come together
          yield* script([{ _tag: "Reply", chunks: ["Hel", "lo ", "wor", "ld"] }])
          assert.deepStrictEqual(yield* groups, [["Hel", "lo ", "wor", "ld", "Finish"]])
          // 30 ms between the deltas: one group each
          yield* script([{ _tag: "ChunkDelay", delayMs: 30, text: "a b c" }])
          const apart = yield* groups
          assert.deepStrictEqual(apart.flat(), ["a", " b", " c", "Finish"])
          assert.deepStrictEqual(
            apart.map((group) => group.filter((e) => e !== "Finish").length).filter((n) => n > 0),
            [
              1,
              1,
              1
            ]
          )
        }))

      for (const mode of modes) {
        it.effect(`${mode}: finish reason length`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Reply", text: "cut short", finishReason: "length" }])
            const completion = mode === "generate"
              ? yield* model.generate(hello)
              : yield* Effect.flatMap(runStreamed(model, hello, mode), ({ events, exit }) => {
                assert.isTrue(Exit.isSuccess(exit))
                const last = events[events.length - 1]!
                return last._tag === "Finish" ? Effect.succeed(last.completion) : Effect.die("no Finish")
              })
            assert.strictEqual(completion.finishReason, "length")
            assert.strictEqual(completion.text, "cut short")
          }))
      }

      it.effect("maps the request onto the wire", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "Reply", text: "ok" }])
          yield* model.generate({
            messages: [
              { role: "system", content: "Be brief." },
              { role: "user", content: "Hi" },
              { role: "assistant", content: "Hello!" },
              { role: "user", content: [{ type: "text", text: "Look: " }, { type: "image", url: "https://x/y.png" }] }
            ],
            maxOutputTokens: 77,
            temperature: 0.3,
            topP: 0.9,
            stop: ["END"],
            seed: 7,
            user: "user-42",
            feature: "faq",
            metadata: { a: "b" }
          })
          const body = (yield* lastRequest).body as Record<string, unknown>
          assert.strictEqual(body["model"], "gpt-5-mini")
          assert.strictEqual(body["temperature"], 0.3)
          assert.strictEqual(body["top_p"], 0.9)
          // `user`, `feature` and `metadata` are effect-llm's own and are not sent by default
          assert.isUndefined(body["user"])
          assert.isUndefined(body["safety_identifier"])
          assert.isUndefined(body["metadata"])
          if (api === "responses") {
            assert.strictEqual(body["instructions"], "Be brief.")
            assert.strictEqual(body["max_output_tokens"], 77)
            assert.isUndefined(body["stop"])
            assert.isUndefined(body["seed"])
            assert.deepStrictEqual(body["input"], [
              { role: "user", content: "Hi" },
              { role: "assistant", content: "Hello!" },
              {
                role: "user",
                content: [
                  { type: "input_text", text: "Look: " },
                  { type: "input_image", image_url: "https://x/y.png", detail: "auto" }
                ]
              }
            ])
          } else {
            assert.strictEqual(body["max_completion_tokens"], 77)
            assert.deepStrictEqual(body["stop"], ["END"])
            assert.strictEqual(body["seed"], 7)
            assert.deepStrictEqual(body["messages"], [
              { role: "system", content: "Be brief." },
              { role: "user", content: "Hi" },
              { role: "assistant", content: "Hello!" },
              {
                role: "user",
                content: [{ type: "text", text: "Look: " }, {
                  type: "image_url",
                  image_url: { url: "https://x/y.png" }
                }]
              }
            ])
          }
        }))

      it.effect("forwardUser sends the user as safety_identifier; request.model overrides the model", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "Reply", text: "ok" }])
          const forwarding = OpenAiLanguageModel.make("gpt-5-mini", { api, forwardUser: "safety_identifier" })
          const completion = yield* forwarding.generate({ ...hello, user: "hash-1", model: "gpt-5-nano" })
          const request = yield* lastRequest
          assert.strictEqual((request.body as Record<string, unknown>)["safety_identifier"], "hash-1")
          assert.strictEqual(request.model, "gpt-5-nano")
          assert.strictEqual(completion.model, "gpt-5-nano")
        }))

      // ---------------------------------------------------------------------------------------------
      // every row of the error mapping, for generate, stream and streamEach
      // ---------------------------------------------------------------------------------------------

      for (const mode of modes) {
        const error = errorOf(model, mode)

        it.effect(`${mode}: 429 with retry-after (seconds) -> RateLimited with the delay and request id`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "RateLimited", retryAfterSeconds: 7 }])
            const e = yield* error(hello)
            const request = yield* lastRequest
            assert.strictEqual(e._tag, "RateLimited")
            if (e._tag !== "RateLimited") return
            assert.strictEqual(Duration.toMillis(e.retryAfter!), 7000)
            assert.strictEqual(e.limit, "requests")
            assert.strictEqual(e.requestId, request.id)
            assert.strictEqual(e.provider, "openai")
            assert.strictEqual(e.model, "gpt-5-mini")
            assert.isTrue(LlmError.isRetryable(e))
          }))

        it.effect(`${mode}: 429 with retry-after-ms on tokens -> RateLimited with the exact delay`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "RateLimited", retryAfterMs: 1500, limit: "tokens" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "RateLimited")
            if (e._tag !== "RateLimited") return
            assert.strictEqual(Duration.toMillis(e.retryAfter!), 1500)
            assert.strictEqual(e.limit, "tokens")
          }))

        it.effect(`${mode}: 429 insufficient_quota -> QuotaExhausted, never RateLimited`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "QuotaExhausted" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "QuotaExhausted")
            assert.isFalse(LlmError.isRetryable(e))
            assert.strictEqual(e.requestId, (yield* lastRequest).id)
          }))

        for (const status of [500, 502, 503] as const) {
          it.effect(`${mode}: ${status} -> ServerError`, () =>
            Effect.gen(function*() {
              yield* script([{ _tag: "ServerError", status }])
              const e = yield* error(hello)
              assert.strictEqual(e._tag, "ServerError")
              if (e._tag === "ServerError") assert.strictEqual(e.status, status)
              assert.strictEqual(e.requestId, (yield* lastRequest).id)
            }))
        }

        it.effect(`${mode}: 503 "overloaded" -> ServerError 503 (OpenAI sends no type or code for it)`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Overloaded" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "ServerError")
            if (e._tag === "ServerError") assert.strictEqual(e.status, 503)
          }))

        it.effect(`${mode}: context_length_exceeded -> ContextLengthExceeded with the numbers`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "ContextLength", limit: 128_000, requested: 131_072 }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "ContextLengthExceeded")
            if (e._tag !== "ContextLengthExceeded") return
            assert.strictEqual(e.limit, 128_000)
            assert.strictEqual(e.requested, 131_072)
          }))

        it.effect(`${mode}: content_filter finish -> ContentFiltered at the output stage`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "ContentFilter" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "ContentFiltered")
            if (e._tag !== "ContentFiltered") return
            assert.strictEqual(e.stage, "output")
            assert.strictEqual(e.requestId, (yield* lastRequest).id)
          }))

        it.effect(`${mode}: refusal -> ContentFiltered with the refusal text`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Refusal", text: "I can't help with that." }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "ContentFiltered")
            if (e._tag !== "ContentFiltered") return
            assert.strictEqual(e.stage, "output")
            assert.strictEqual(e.refusal, "I can't help with that.")
          }))

        for (const status of [400, 404, 409, 422] as const) {
          it.effect(`${mode}: ${status} -> InvalidRequest with status and param`, () =>
            Effect.gen(function*() {
              yield* script([{ _tag: "InvalidRequest", status, param: "temperature" }])
              const e = yield* error(hello)
              assert.strictEqual(e._tag, "InvalidRequest")
              if (e._tag !== "InvalidRequest") return
              assert.strictEqual(e.status, status)
              assert.strictEqual(e.param, "temperature")
              assert.isFalse(LlmError.isFallbackable(e))
            }))
        }

        for (const status of [401, 403] as const) {
          it.effect(`${mode}: ${status} -> AuthenticationFailed`, () =>
            Effect.gen(function*() {
              yield* script([{ _tag: "AuthenticationFailed", status }])
              const e = yield* error(hello)
              assert.strictEqual(e._tag, "AuthenticationFailed")
              if (e._tag === "AuthenticationFailed") assert.strictEqual(e.status, status)
            }))
        }

        it.effect(`${mode}: connection reset -> ConnectionError`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Reset" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "ConnectionError")
          }))

        it.effect(`${mode}: undecodable body -> MalformedResponse`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Malformed" }])
            const e = yield* error(hello)
            assert.strictEqual(e._tag, "MalformedResponse")
          }))
      }

      // ---------------------------------------------------------------------------------------------
      // stream failures around the first token
      // ---------------------------------------------------------------------------------------------

      for (const via of streamApis) {
        it.effect(`${via}: error event after the first token -> StreamInterrupted with the partial text`, () =>
          Effect.gen(function*() {
            // the default answer is split into chunks; StreamError sends the first two then an error event
            yield* script([{ _tag: "StreamError", afterChunks: 2 }])
            const { events, exit } = yield* runStreamed(model, hello, via)
            const e = failureOf(exit)
            assert.strictEqual(e._tag, "StreamInterrupted")
            if (e._tag !== "StreamInterrupted") return
            assert.strictEqual(e.partialText, deltaText(events))
            assert.isTrue(e.partialText.length > 0)
            assert.include(e.detail, "ServerError")
            assert.strictEqual(e.requestId, (yield* lastRequest).id)
            assert.isFalse(events.some((event) => event._tag === "Finish"))
          }))

        it.effect(`${via}: error event before the first token -> the underlying tag`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "StreamError", afterChunks: 0 }])
            const { events, exit } = yield* runStreamed(model, hello, via)
            assert.strictEqual(events.length, 0)
            assert.strictEqual(failureOf(exit)._tag, "ServerError")
          }))

        it.effect(`${via}: cut after the first token -> StreamInterrupted with the partial text`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Cut", afterChunks: 2 }])
            const { events, exit } = yield* runStreamed(model, hello, via)
            const e = failureOf(exit)
            assert.strictEqual(e._tag, "StreamInterrupted")
            if (e._tag !== "StreamInterrupted") return
            assert.strictEqual(events.length, 2)
            assert.strictEqual(e.partialText, deltaText(events))
            assert.include(e.detail, "ConnectionError")
          }))

        it.effect(`${via}: cut before the first token -> ConnectionError`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Cut", afterChunks: 0 }])
            const { events, exit } = yield* runStreamed(model, hello, via)
            assert.strictEqual(events.length, 0)
            assert.strictEqual(failureOf(exit)._tag, "ConnectionError")
          }))
      }

      it.effect("generate: a body cut half-way -> ConnectionError", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "Cut", afterChunks: 0 }])
          const e = failureOf(yield* Effect.exit(model.generate(hello)))
          assert.strictEqual(e._tag, "ConnectionError")
        }))

      // ---------------------------------------------------------------------------------------------
      // interruption aborts the HTTP request
      // ---------------------------------------------------------------------------------------------

      it.effect("interrupting generate aborts the request (the emulator sees a disconnect)", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
          const fiber = yield* Effect.fork(model.generate(hello))
          yield* waitForRequests((all) => all.length === 1)
          yield* Fiber.interrupt(fiber)
          const [request] = yield* waitForRequests((all) => all[0]?.disconnected === true)
          assert.isTrue(request!.disconnected)
          assert.isFalse(request!.completed)
        }))

      for (const via of streamApis) {
        it.effect(`${via}: leaving mid-way aborts the request (the emulator sees a disconnect)`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "ChunkDelay", delayMs: 2_000, text: "a b c d e f g h i j k l" }])
            const first = yield* takeFirst(model, hello, via)
            assert.strictEqual(first.length, 1)
            const [request] = yield* waitForRequests((all) => all[0]?.disconnected === true)
            assert.isTrue(request!.disconnected)
            assert.isFalse(request!.completed)
          }))

        it.effect(`${via}: interrupting the fiber running it aborts the request`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
            const fiber = yield* Effect.fork(drain(model, hello, via))
            yield* waitForRequests((all) => all.length === 1)
            yield* Fiber.interrupt(fiber)
            const [request] = yield* waitForRequests((all) => all[0]?.disconnected === true)
            assert.isTrue(request!.disconnected)
          }))
      }

      // ---------------------------------------------------------------------------------------------
      // the connect timeout (Timeout.currentConnectTimeout)
      // ---------------------------------------------------------------------------------------------

      for (const mode of modes) {
        it.effect(`${mode}: headers later than the connect timeout -> Timeout phase connect, request aborted`, () =>
          Effect.gen(function*() {
            const emulator = yield* Emulator.Emulator
            yield* script([{ _tag: "SlowFirstByte", delayMs: 2_000 }])
            const started = Date.now()
            const e = yield* errorOf(model, mode)(hello).pipe(
              Effect.locally(Timeout.currentConnectTimeout, Duration.millis(100))
            )
            const elapsed = Date.now() - started
            assert.strictEqual(e._tag, "Timeout")
            if (e._tag !== "Timeout") return
            assert.strictEqual(e.phase, "connect")
            assert.strictEqual(Duration.toMillis(e.after), 100)
            assert.strictEqual(e.provider, "openai")
            assert.strictEqual(e.model, "gpt-5-mini")
            assert.isAtLeast(elapsed, 90)
            assert.isBelow(elapsed, 1_500)
            const request = yield* emulator.awaitRequest((r) => r.disconnected)
            assert.isFalse(request.completed)
          }))

        it.effect(`${mode}: Timeout.withTimeouts({ connect }) -> Timeout phase connect`, () =>
          Effect.gen(function*() {
            const emulator = yield* Emulator.Emulator
            yield* script([{ _tag: "SlowFirstByte", delayMs: 2_000 }])
            const timed = model.pipe(Timeout.withTimeouts({ connect: "100 millis" }))
            const e = yield* errorOf(timed, mode)(hello)
            assert.strictEqual(e._tag, "Timeout")
            if (e._tag !== "Timeout") return
            assert.strictEqual(e.phase, "connect")
            assert.strictEqual(Duration.toMillis(e.after), 100)
            yield* emulator.awaitRequest((r) => r.disconnected)
          }))
      }

      for (const via of streamApis) {
        it.effect(`${via}: the connect timeout ends with the headers (a slow body is not a connect timeout)`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "ChunkDelay", delayMs: 250, text: "a b c d" }])
            const timed = model.pipe(Timeout.withTimeouts({ connect: "500 millis" }))
            const started = Date.now()
            const { events, exit } = yield* runStreamed(timed, hello, via)
            assert.isTrue(Exit.isSuccess(exit), String(exit))
            // the body outlasts the connect timeout, whose margin is wide enough for a loaded machine to send
            // the headers in time
            assert.isAbove(Date.now() - started, 600)
            assert.strictEqual(deltaText(events), "a b c d")
            assert.isTrue((yield* lastRequest).completed)
          }))
      }

      it.effect("generate: headers within the connect timeout -> the answer", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "SlowFirstByte", delayMs: 30, then: { _tag: "Reply", text: "in time" } }])
          const completion = yield* model.generate(hello).pipe(
            Effect.locally(Timeout.currentConnectTimeout, Duration.seconds(2))
          )
          assert.strictEqual(completion.text, "in time")
          assert.isTrue((yield* lastRequest).completed)
        }))

      for (const via of streamApis) {
        it.effect(`${via}: a finished stream is not reported as a disconnect`, () =>
          Effect.gen(function*() {
            yield* script([{ _tag: "Reply", chunks: ["a", "b"] }])
            yield* drain(model, hello, via)
            const request = yield* lastRequest
            assert.isTrue(request.completed)
            assert.isFalse(request.disconnected)
          }))
      }

      // ---------------------------------------------------------------------------------------------
      // generateObject, the layer, secrets
      // ---------------------------------------------------------------------------------------------

      it.effect("generateObject through the provider asks for JSON and decodes the answer", () =>
        Effect.gen(function*() {
          const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
          yield* script([{ _tag: "Reply", text: "{\"name\":\"Ada\",\"age\":36}" }])
          const result = yield* LanguageModel.generateObjectWith(model, {
            messages: [{ role: "user", content: "Invent a person" }],
            schema: Person,
            schemaName: "person"
          })
          assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
          const body = (yield* lastRequest).body as Record<string, any>
          const format = api === "responses" ? body["text"]["format"] : body["response_format"]
          if (api === "responses") {
            assert.strictEqual(format.type, "json_schema")
            assert.strictEqual(format.name, "person")
            assert.strictEqual(format.strict, false)
            assert.deepStrictEqual(format.schema.required, ["name", "age"])
          } else {
            assert.strictEqual(format.type, "json_schema")
            assert.strictEqual(format.json_schema.name, "person")
            assert.deepStrictEqual(format.json_schema.schema.required, ["name", "age"])
          }
        }))

      it.effect("generateObject: an answer that does not match -> MalformedOutput with the raw text", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "Reply", text: "{\"name\":\"Ada\"}" }])
          const exit = yield* Effect.exit(
            LanguageModel.generateObjectWith(model, {
              messages: [{ role: "user", content: "Invent a person" }],
              schema: Schema.Struct({ name: Schema.String, age: Schema.Number })
            })
          )
          const e = failureOf(exit)
          assert.strictEqual(e._tag, "MalformedOutput")
          if (e._tag === "MalformedOutput") assert.strictEqual(e.raw, "{\"name\":\"Ada\"}")
        }))

      it.effect("the model layer serves LanguageModel", () =>
        Effect.gen(function*() {
          yield* script([{ _tag: "Reply", text: "through the tag" }])
          const completion = yield* LanguageModel.generate(hello).pipe(
            Effect.provide(OpenAiLanguageModel.model("gpt-5-mini", { api }))
          )
          assert.strictEqual(completion.text, "through the tag")
        }))

      it.effect("the API key never appears in an error (message, JSON, cause)", () =>
        Effect.gen(function*() {
          const steps: ReadonlyArray<Emulator.Step> = [
            { _tag: "AuthenticationFailed", status: 401 },
            { _tag: "InvalidRequest", status: 400, param: "input" },
            { _tag: "RateLimited", retryAfterMs: 10 },
            { _tag: "Reset" },
            { _tag: "Malformed" }
          ]
          for (const step of steps) {
            yield* script([step])
            const exit = yield* Effect.exit(model.generate(hello))
            const e = failureOf(exit)
            for (const text of [e.message, JSON.stringify(e), String(e), JSON.stringify(exit)]) {
              assert.notInclude(text, apiKey)
              assert.notInclude(text, apiKey.slice(3, 20))
            }
          }
        }))
    })
  }

  describe("client, telemetry and options", () => {
    it.effect("without the fetchWithTimeout hook, calls pass an AbortSignal and interruption still aborts", () =>
      Effect.gen(function*() {
        const service = yield* OpenAiClient.OpenAiClient
        const model = OpenAiLanguageModel.fromClient({ ...service, hooked: false }, "gpt-5-mini")
        const slow = { _tag: "SlowFirstByte", delayMs: 20_000 } as const
        yield* script([slow, slow, slow])
        const generate = yield* Effect.fork(model.generate(hello))
        yield* waitForRequests((all) => all.length === 1)
        yield* Fiber.interrupt(generate)
        yield* waitForRequests((all) => all[0]?.disconnected === true)
        for (const [i, via] of streamApis.entries()) {
          const stream = yield* Effect.fork(drain(model, hello, via))
          yield* waitForRequests((all) => all.length === i + 2)
          yield* Fiber.interrupt(stream)
          yield* waitForRequests((all) => all[i + 1]?.disconnected === true)
        }
        const all = yield* waitForRequests((all) => all.length === 3)
        assert.isTrue(all.every((request) => request.disconnected))
      }))

    it.effect("without the fetchWithTimeout hook, the connect timeout still aborts (generate, stream, streamEach)", () =>
      Effect.gen(function*() {
        const service = yield* OpenAiClient.OpenAiClient
        const emulator = yield* Emulator.Emulator
        const model = OpenAiLanguageModel.fromClient({ ...service, hooked: false }, "gpt-5-mini")
        for (const mode of modes) {
          yield* script([{ _tag: "SlowFirstByte", delayMs: 2_000 }])
          const e = yield* errorOf(model, mode)(hello).pipe(
            Effect.locally(Timeout.currentConnectTimeout, Duration.millis(100))
          )
          assert.strictEqual(e._tag, "Timeout")
          if (e._tag === "Timeout") assert.strictEqual(e.phase, "connect")
          yield* emulator.awaitRequest((r) => r.disconnected)
        }
      }))

    it.effect("every call gets a chat span with the server address and port", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const emulator = yield* Emulator.Emulator
        const port = Number(new URL(emulator.url).port)
        const model = OpenAiLanguageModel.make("gpt-5-mini")
        yield* script([
          { _tag: "Reply", text: "traced" },
          { _tag: "Reply", chunks: ["a", "b"] },
          { _tag: "Reply", chunks: ["c", "d"] }
        ])
        yield* model.generate(hello).pipe(Effect.withTracer(recording))
        for (const via of streamApis) yield* drain(model, hello, via).pipe(Effect.withTracer(recording))
        const chats = spans.filter((span) => span.name === "chat gpt-5-mini")
        assert.strictEqual(chats.length, 3)
        for (const span of chats) {
          const attributes = (span as unknown as { attributes: Map<string, unknown> }).attributes
          assert.strictEqual(attributes.get("server.address"), "127.0.0.1")
          assert.strictEqual(attributes.get("server.port"), port)
          assert.strictEqual(attributes.get("gen_ai.provider.name"), "openai")
          assert.strictEqual(attributes.get("gen_ai.response.model"), "gpt-5-mini-2026-08-07")
          assert.strictEqual(span.status._tag, "Ended")
        }
      }))

    for (const via of streamApis) {
      it.effect(`${via}: a call left early or interrupted still ends its chat span`, () =>
        Effect.gen(function*() {
          const { recording, spans } = yield* recordingTracer
          const model = OpenAiLanguageModel.make("gpt-5-mini")
          // left after its first event (inside its onEvent, for streamEach)
          yield* script([{ _tag: "ChunkDelay", delayMs: 2_000, text: "a b c d e f g h i j k l" }])
          assert.strictEqual((yield* takeFirst(model, hello, via).pipe(Effect.withTracer(recording))).length, 1)
          // interrupted while it waits for its headers
          yield* script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
          const fiber = yield* Effect.fork(drain(model, hello, via).pipe(Effect.withTracer(recording)))
          yield* waitForRequests((all) => all.length === 1)
          yield* Fiber.interrupt(fiber)
          const chats = spans.filter((span) => span.name === "chat gpt-5-mini")
          assert.strictEqual(chats.length, 2)
          for (const span of chats) assert.strictEqual(span.status._tag, "Ended")
        }))
    }

    it.effect("connection refused -> ConnectionError", () =>
      Effect.gen(function*() {
        // a port nothing listens on: bind one, then close it
        const port = yield* Effect.promise(() =>
          import("node:net").then((net) =>
            new Promise<number>((resolve) => {
              const server = net.createServer()
              server.listen(0, "127.0.0.1", () => {
                const address = server.address() as { port: number }
                server.close(() => resolve(address.port))
              })
            })
          )
        )
        const model = OpenAiLanguageModel.make("gpt-5-mini")
        for (const mode of modes) {
          const e = yield* errorOf(model, mode)(hello).pipe(
            Effect.provide(clientLayer({ baseUrl: `http://127.0.0.1:${port}/v1` }))
          )
          assert.strictEqual(e._tag, "ConnectionError")
          if (e._tag === "ConnectionError") assert.include(e.detail, "ECONNREFUSED")
          assert.notInclude(JSON.stringify(e), apiKey)
        }
      }))

    it.effect("the SDK's own timeout -> Timeout phase total (generate, stream, streamEach)", () =>
      Effect.gen(function*() {
        for (const mode of modes) {
          yield* script([{ _tag: "SlowFirstByte", delayMs: 5_000 }])
          const e = yield* errorOf(OpenAiLanguageModel.make("gpt-5-mini"), mode)(hello).pipe(
            Effect.provide(clientLayer({ timeout: "100 millis" }))
          )
          assert.strictEqual(e._tag, "Timeout")
          if (e._tag !== "Timeout") return
          assert.strictEqual(e.phase, "total")
          assert.strictEqual(Duration.toMillis(e.after), 100)
        }
      }))

    it.effect("a custom provider name is carried on completions and errors", () =>
      Effect.gen(function*() {
        const model = OpenAiLanguageModel.make("llama-3", { api: "chat-completions", provider: "groq" })
        yield* script([{ _tag: "Reply", text: "ok" }, { _tag: "ServerError" }])
        const completion = yield* model.generate(hello)
        assert.strictEqual(completion.provider, "groq")
        assert.strictEqual(model.provider, "groq")
        const e = failureOf(yield* Effect.exit(model.generate(hello)))
        assert.strictEqual(e.provider, "groq")
      }))

    it.effect("maxTokensField and systemRole options (chat completions)", () =>
      Effect.gen(function*() {
        const model = OpenAiLanguageModel.make("gpt-5-mini", {
          api: "chat-completions",
          maxTokensField: "max_tokens",
          systemRole: "developer"
        })
        yield* script([{ _tag: "Reply", text: "ok" }])
        yield* model.generate({
          ...hello,
          messages: [{ role: "system", content: "S" }, ...hello.messages],
          maxOutputTokens: 5
        })
        const body = (yield* lastRequest).body as Record<string, any>
        assert.strictEqual(body["max_tokens"], 5)
        assert.isUndefined(body["max_completion_tokens"])
        assert.deepStrictEqual(body["messages"][0], { role: "developer", content: "S" })
      }))
  })
})
