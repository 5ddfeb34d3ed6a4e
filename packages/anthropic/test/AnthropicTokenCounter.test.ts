import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as LlmError from "@effect-llm/core/LlmError"
import * as Tokenizer from "@effect-llm/core/Tokenizer"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import * as AnthropicClient from "../src/AnthropicClient.js"
import * as AnthropicTokenCounter from "../src/AnthropicTokenCounter.js"
import { apiKey, MODEL, waitFor, withEmulator } from "./fixtures.js"

const target = { provider: "anthropic", model: MODEL }

const system = "You are terse and exact."
const first = "token ".repeat(60)
const second = "Count them all."
const answer = "Noted."
const last = "How many tokens was that? Answer with a number."

const request: GenerateRequest = {
  messages: [
    { role: "system", content: system },
    { role: "user", content: first },
    { role: "user", content: second },
    { role: "assistant", content: answer },
    { role: "user", content: last }
  ],
  maxOutputTokens: 100,
  stop: ["END"]
}

/** The emulator counts one token per four characters of the prompt (system and messages). */
const emulatorCount = Math.ceil((system.length + first.length + second.length + answer.length + last.length) / 4)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return exit.cause.error
}

const clientLayer = (client: AnthropicClient.Service) => Layer.succeed(AnthropicClient.AnthropicClient, client)

/** A client whose every request carries `step` (the emulator applies it to count-tokens requests too). */
const withFault = (step: Emulator.Step) => ({ client: { defaultHeaders: { "x-emulator-step": JSON.stringify(step) } } })

describe("AnthropicTokenCounter", () => {
  it.effect("countTokens returns the endpoint's count for the mapped request", () =>
    withEmulator(({ client, emulator }) =>
      Effect.gen(function*() {
        const counter = AnthropicTokenCounter.fromClient(client)
        assert.strictEqual(counter.provider, "anthropic")
        const tokens = yield* counter.countTokens(request, MODEL)
        assert.strictEqual(tokens, emulatorCount)
        const all = yield* emulator.requests
        assert.strictEqual(all.length, 1)
        const recorded = all[0]!
        assert.strictEqual(recorded.api, "count-tokens")
        assert.strictEqual(recorded.path, "/v1/messages/count_tokens")
        assert.strictEqual(recorded.model, MODEL)
        assert.notInclude(JSON.stringify(recorded.headers), apiKey)
        // consecutive user turns merged as for a call; no max_tokens, no stop_sequences
        assert.deepStrictEqual(recorded.body, {
          model: MODEL,
          system,
          messages: [
            { role: "user", content: [{ type: "text", text: first }, { type: "text", text: second }] },
            { role: "assistant", content: answer },
            { role: "user", content: last }
          ]
        })
      })
    ))

  it.effect("a JSON schema is sent as output_config, or as a system instruction with structuredOutput: prompt", () =>
    withEmulator(({ client, emulator }) =>
      Effect.gen(function*() {
        const schema = { type: "object", properties: { n: { type: "number" } }, required: ["n"] }
        const json: GenerateRequest = {
          messages: [{ role: "user", content: "How many?" }],
          responseFormat: { type: "json", schema }
        }
        yield* AnthropicTokenCounter.fromClient(client).countTokens(json, MODEL)
        yield* AnthropicTokenCounter.fromClient(client, { structuredOutput: "prompt" }).countTokens(json, MODEL)
        const [native, prompted] = yield* emulator.requests
        const nativeBody = native!.body as Record<string, any>
        assert.strictEqual(nativeBody.output_config.format.type, "json_schema")
        assert.isUndefined(nativeBody.system)
        const promptedBody = prompted!.body as Record<string, any>
        assert.isUndefined(promptedBody.output_config)
        assert.include(promptedBody.system, "JSON Schema")
      })
    ))

  it.effect("Tokenizer.count with exact: true uses the endpoint through the layer; other counts stay local", () =>
    withEmulator(({ client, emulator }) =>
      Effect.gen(function*() {
        const exact = yield* Tokenizer.count(request, target, { exact: true })
        assert.strictEqual(exact, emulatorCount)
        const local = yield* Tokenizer.make().count(request, target)
        assert.notStrictEqual(local, emulatorCount, "the test needs a request whose local count differs")
        assert.strictEqual((yield* emulator.requests).length, 1)
        assert.strictEqual(yield* Tokenizer.count(request, target), local)
        yield* Tokenizer.count(request, { provider: "openai", model: "gpt-5-mini" }, { exact: true })
        assert.strictEqual((yield* emulator.requests).length, 1)
      }).pipe(Effect.provide(AnthropicTokenCounter.layer.pipe(Layer.provide(clientLayer(client)))))
    ))

  it.effect("endpoint errors are typed errors of the taxonomy", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Emulator.Step, (error: LlmError.ProviderError) => void]> = [
        [{ _tag: "RateLimited", retryAfterSeconds: 3 }, (error) => {
          assert.strictEqual(error._tag, "RateLimited")
          assert.strictEqual(Duration.toMillis((error as LlmError.RateLimited).retryAfter!), 3_000)
        }],
        [{ _tag: "Overloaded" }, (error) => assert.strictEqual(error._tag, "Overloaded")],
        [{ _tag: "ContextLength", requested: 210_000, limit: 200_000 }, (error) => {
          assert.strictEqual(error._tag, "ContextLengthExceeded")
          assert.strictEqual((error as LlmError.ContextLengthExceeded).requested, 210_000)
        }],
        [{ _tag: "AuthenticationFailed" }, (error) => assert.strictEqual(error._tag, "AuthenticationFailed")],
        [{ _tag: "Reset" }, (error) => assert.strictEqual(error._tag, "ConnectionError")]
      ]
      for (const [step, check] of cases) {
        yield* withEmulator(({ client, emulator }) =>
          Effect.gen(function*() {
            const counter = AnthropicTokenCounter.fromClient(client)
            const error = failureOf(yield* Effect.exit(counter.countTokens(request, MODEL)))
            assert.isTrue(LlmError.isLlmError(error), `not a taxonomy error: ${String(error)}`)
            check(error)
            assert.strictEqual(error.provider, "anthropic")
            assert.strictEqual(error.model, MODEL)
            const [recorded] = yield* emulator.requests
            assert.strictEqual(recorded!.api, "count-tokens")
            if (step._tag !== "Reset") assert.strictEqual(error.requestId, recorded!.id)
            assert.notInclude(JSON.stringify(error), apiKey)
            assert.notInclude(error.message, apiKey)
          }), withFault(step))
      }
    }))

  it.effect("when the endpoint is unreachable, Tokenizer.count falls back to the local estimate", () =>
    Effect.gen(function*() {
      // a port where nothing listens: an emulator that has been shut down
      const url = yield* Effect.scoped(Effect.map(Emulator.make(), (emulator) => emulator.anthropicBaseUrl))
      const client = yield* AnthropicClient.make({ apiKey: Redacted.make(apiKey), baseUrl: url })
      const error = failureOf(yield* Effect.exit(AnthropicTokenCounter.fromClient(client).countTokens(request, MODEL)))
      assert.strictEqual(error._tag, "ConnectionError")
      const exact = yield* Tokenizer.count(request, target, { exact: true }).pipe(
        Effect.provide(AnthropicTokenCounter.layer.pipe(Layer.provide(clientLayer(client))))
      )
      assert.strictEqual(exact, yield* Tokenizer.make().count(request, target))
    }))

  it.effect("when the endpoint answers with an error, Tokenizer.count falls back to the local estimate", () =>
    withEmulator(
      ({ client, emulator }) =>
        Effect.gen(function*() {
          const exact = yield* Tokenizer.count(request, target, { exact: true })
          assert.strictEqual(exact, yield* Tokenizer.make().count(request, target))
          const [recorded] = yield* emulator.requests
          assert.strictEqual(recorded!.api, "count-tokens")
        }).pipe(Effect.provide(AnthropicTokenCounter.layer.pipe(Layer.provide(clientLayer(client))))),
      withFault({
        _tag: "Overloaded"
      })
    ))

  it.live("interrupting a count aborts its request", () =>
    withEmulator(({ client, emulator }) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(AnthropicTokenCounter.fromClient(client).countTokens(request, MODEL))
        yield* waitFor(emulator.requests, (all) => all.length === 1)
        yield* Fiber.interrupt(fiber)
        const [recorded] = yield* waitFor(emulator.requests, (all) => all[0]?.disconnected === true)
        assert.isTrue(recorded!.disconnected)
        assert.isFalse(recorded!.completed)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      }), withFault({ _tag: "SlowFirstByte", delayMs: 10_000 })))
})
