import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LlmError from "@effect-llm/core/LlmError"
import * as Tokenizer from "@effect-llm/core/Tokenizer"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiTokenCounter from "../src/OpenAiTokenCounter.js"
import { apiKey, clientLayer, failureOf, requests, TestLayer, waitForRequests } from "./fixtures.js"

const MODEL = "gpt-5-mini"
const target = { provider: "openai", model: MODEL }

const system = "You are terse and exact."
const first = "token ".repeat(60)
const answer = "Noted."
const last = "How many tokens was that? Answer with a number."

const request: GenerateRequest = {
  messages: [
    { role: "system", content: system },
    { role: "user", content: first },
    { role: "assistant", content: answer },
    { role: "user", content: last }
  ]
}

/** The emulator counts one token per four characters of the prompt (instructions and input). */
const emulatorCount = Math.ceil((system.length + first.length + answer.length + last.length) / 4)

/** The emulator plus a client pointed at it that sends `step` with every request. */
const faultLayer = (step: Emulator.Step) =>
  clientLayer({ defaultHeaders: { "x-emulator-step": JSON.stringify(step) } }).pipe(
    Layer.provideMerge(Emulator.layer())
  )

/** A client pointed at a port where nothing listens (an emulator that has been shut down). */
const deadClient = Effect.gen(function*() {
  const url = yield* Effect.scoped(Effect.map(Emulator.make(), (emulator) => emulator.openAiBaseUrl))
  return yield* OpenAiClient.make({ apiKey: Redacted.make(apiKey), baseUrl: url })
})

describe("OpenAiTokenCounter", () => {
  it.effect("countTokens returns the endpoint's count for the mapped request", () =>
    Effect.gen(function*() {
      const counter = yield* OpenAiTokenCounter.make
      assert.strictEqual(counter.provider, "openai")
      const tokens = yield* counter.countTokens(request, MODEL)
      assert.strictEqual(tokens, emulatorCount)
      const all = yield* requests
      assert.strictEqual(all.length, 1)
      const recorded = all[0]!
      assert.strictEqual(recorded.api, "count-tokens")
      assert.strictEqual(recorded.path, "/v1/responses/input_tokens")
      assert.strictEqual(recorded.model, MODEL)
      assert.notInclude(JSON.stringify(recorded.headers), apiKey)
      assert.deepStrictEqual(recorded.body, {
        model: MODEL,
        instructions: system,
        input: [
          { role: "user", content: first },
          { role: "assistant", content: answer },
          { role: "user", content: last }
        ]
      })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a JSON schema and image parts are sent as the Responses API takes them", () =>
    Effect.gen(function*() {
      const counter = yield* OpenAiTokenCounter.make
      const schema = { type: "object", properties: { n: { type: "number" } }, required: ["n"] }
      yield* counter.countTokens({
        messages: [{
          role: "user",
          content: [{ type: "text", text: "What is this?" }, { type: "image", url: "https://example.com/a.png" }]
        }],
        responseFormat: { type: "json", name: "count", schema },
        maxOutputTokens: 100
      }, "gpt-5")
      const [recorded] = yield* requests
      assert.deepStrictEqual(recorded!.body, {
        model: "gpt-5",
        input: [{
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" }
          ]
        }],
        text: { format: { type: "json_schema", name: "count", schema, strict: false } }
      })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("Tokenizer.count with exact: true uses the endpoint through the layer; other counts stay local", () =>
    Effect.gen(function*() {
      const exact = yield* Tokenizer.count(request, target, { exact: true })
      assert.strictEqual(exact, emulatorCount)
      const local = yield* Tokenizer.make().count(request, target)
      assert.notStrictEqual(local, emulatorCount, "the test needs a request whose local count differs")
      assert.strictEqual((yield* requests).length, 1)
      // not asked for exactness, or another provider's target: no request
      assert.strictEqual(yield* Tokenizer.count(request, target), local)
      yield* Tokenizer.count(request, { provider: "anthropic", model: "claude-haiku-4-5" }, { exact: true })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(OpenAiTokenCounter.layer.pipe(Layer.provideMerge(TestLayer)))))

  it.effect("endpoint errors are typed errors of the taxonomy", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Emulator.Step, (error: LlmError.ProviderError) => void]> = [
        [{ _tag: "RateLimited", retryAfterSeconds: 3 }, (error) => {
          assert.strictEqual(error._tag, "RateLimited")
          assert.strictEqual(Duration.toMillis((error as LlmError.RateLimited).retryAfter!), 3_000)
        }],
        [{ _tag: "InvalidRequest", status: 404 }, (error) => {
          assert.strictEqual(error._tag, "InvalidRequest")
          assert.strictEqual((error as LlmError.InvalidRequest).status, 404)
        }],
        [{ _tag: "AuthenticationFailed" }, (error) => assert.strictEqual(error._tag, "AuthenticationFailed")],
        [{ _tag: "ServerError", status: 502 }, (error) => {
          assert.strictEqual(error._tag, "ServerError")
          assert.strictEqual((error as LlmError.ServerError).status, 502)
        }],
        [{ _tag: "Reset" }, (error) => assert.strictEqual(error._tag, "ConnectionError")]
      ]
      for (const [step, check] of cases) {
        yield* Effect.gen(function*() {
          const counter = yield* OpenAiTokenCounter.make
          const error = failureOf(yield* Effect.exit(counter.countTokens(request, MODEL)))
          assert.isTrue(LlmError.isLlmError(error), `not a taxonomy error: ${String(error)}`)
          check(error)
          assert.strictEqual(error.provider, "openai")
          assert.strictEqual(error.model, MODEL)
          const [recorded] = yield* requests
          assert.strictEqual(recorded!.api, "count-tokens")
          if (step._tag !== "Reset") assert.strictEqual(error.requestId, recorded!.id)
          assert.notInclude(JSON.stringify(error), apiKey)
          assert.notInclude(error.message, apiKey)
        }).pipe(Effect.provide(faultLayer(step)))
      }
    }))

  it.effect("when the endpoint fails, Tokenizer.count falls back to the local count", () =>
    Effect.gen(function*() {
      const client = yield* deadClient
      const counter = OpenAiTokenCounter.fromClient(client)
      const error = failureOf(yield* Effect.exit(counter.countTokens(request, MODEL)))
      assert.strictEqual(error._tag, "ConnectionError")
      const local = yield* Tokenizer.make().count(request, target)
      const exact = yield* Tokenizer.count(request, target, { exact: true }).pipe(
        Effect.provide(OpenAiTokenCounter.layer.pipe(Layer.provide(Layer.succeed(OpenAiClient.OpenAiClient, client))))
      )
      assert.strictEqual(exact, local)
    }))

  it.effect("when the endpoint answers with an error, Tokenizer.count falls back to the local count", () =>
    Effect.gen(function*() {
      const exact = yield* Tokenizer.count(request, target, { exact: true })
      assert.strictEqual(exact, yield* Tokenizer.make().count(request, target))
      const [recorded] = yield* requests
      assert.strictEqual(recorded!.api, "count-tokens")
    }).pipe(
      Effect.provide(OpenAiTokenCounter.layer.pipe(Layer.provideMerge(faultLayer({ _tag: "ServerError" }))))
    ))

  it.live("interrupting a count aborts its request", () =>
    Effect.gen(function*() {
      const counter = yield* OpenAiTokenCounter.make
      const fiber = yield* Effect.fork(counter.countTokens(request, MODEL))
      yield* waitForRequests((all) => all.length === 1)
      yield* Fiber.interrupt(fiber)
      const [recorded] = yield* waitForRequests((all) => all[0]!.disconnected)
      assert.isFalse(recorded!.completed)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
    }).pipe(Effect.provide(faultLayer({ _tag: "SlowFirstByte", delayMs: 10_000 }))))
})
