import { LanguageModel, type LlmError } from "@effect-llm/core"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Exit, Layer, Option, Redacted, Tracer } from "effect"
import * as AnthropicClient from "../src/AnthropicClient.js"
import * as AnthropicLanguageModel from "../src/AnthropicLanguageModel.js"
import { apiKey, failureThrough, MODEL, prompt, streamApis, withEmulator } from "./fixtures.js"

const buildClient = <E>(layer: Layer.Layer<AnthropicClient.AnthropicClient, E>) =>
  Effect.provide(AnthropicClient.AnthropicClient, layer)

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

describe("AnthropicClient", () => {
  it.effect("creates the SDK client with maxRetries 0, a large timeout and the SDK's own tracing off", () =>
    Effect.gen(function*() {
      const service = yield* AnthropicClient.make({ apiKey: Redacted.make(apiKey) })
      assert.strictEqual(service.client.maxRetries, 0)
      assert.strictEqual(service.client.timeout, 86_400_000)
      assert.strictEqual(service.timeoutMillis, 86_400_000)
      assert.isFalse(service.client.openTelemetry.traces.enabled)
      assert.strictEqual(service.client.baseURL, "https://api.anthropic.com")
      assert.strictEqual(service.serverAddress, "api.anthropic.com")
      assert.strictEqual(service.serverPort, 443)
    }))

  it.effect("server address and port come from the base URL", () =>
    Effect.gen(function*() {
      const service = yield* AnthropicClient.make({ apiKey: Redacted.make(apiKey), baseUrl: "http://127.0.0.1:4010" })
      assert.strictEqual(service.serverAddress, "127.0.0.1")
      assert.strictEqual(service.serverPort, 4010)
      const plain = yield* AnthropicClient.make({
        apiKey: Redacted.make(apiKey),
        baseUrl: "http://proxy.internal/anthropic"
      })
      assert.strictEqual(plain.serverPort, 80)
    }))

  it.effect("rejects an empty key, a key with whitespace, a bad base URL and a bad timeout with AnthropicConfigError", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(AnthropicClient.make({ apiKey: Redacted.make("  ") }))
      assert.strictEqual(empty._tag, "AnthropicConfigError")
      assert.strictEqual(empty.field, "apiKey")
      const spaced = yield* Effect.flip(AnthropicClient.make({ apiKey: Redacted.make(`${apiKey} \n`) }))
      assert.strictEqual(spaced.field, "apiKey")
      assert.notInclude(spaced.message, apiKey)
      assert.notInclude(JSON.stringify(spaced), apiKey)
      const notUrl = yield* Effect.flip(AnthropicClient.make({ apiKey: Redacted.make(apiKey), baseUrl: "not a url" }))
      assert.strictEqual(notUrl.field, "baseUrl")
      const ftp = yield* Effect.flip(
        AnthropicClient.make({ apiKey: Redacted.make(apiKey), baseUrl: "ftp://example.com" })
      )
      assert.strictEqual(ftp.field, "baseUrl")
      assert.match(ftp.message, /http\(s\)/)
      const timeout = yield* Effect.flip(AnthropicClient.make({ apiKey: Redacted.make(apiKey), timeout: "0 millis" }))
      assert.strictEqual(timeout.field, "timeout")
    }))

  it.effect("layerConfig reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL", () =>
    Effect.gen(function*() {
      const service = yield* buildClient(AnthropicClient.layerConfig()).pipe(
        withConfig([["ANTHROPIC_API_KEY", apiKey], ["ANTHROPIC_BASE_URL", "http://127.0.0.1:4011"]])
      )
      assert.strictEqual(service.client.apiKey, apiKey)
      assert.strictEqual(service.serverPort, 4011)
      const defaults = yield* buildClient(AnthropicClient.layerConfig()).pipe(
        withConfig([["ANTHROPIC_API_KEY", apiKey]])
      )
      assert.strictEqual(defaults.baseUrl, AnthropicClient.defaultBaseUrl)
    }))

  it.effect("layerConfig: a missing key is a ConfigError, an empty one an AnthropicConfigError", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(buildClient(AnthropicClient.layerConfig()).pipe(withConfig([])))
      assert.isTrue(Exit.isFailure(missing))
      const missingError = Exit.isFailure(missing) ? Cause.failureOption(missing.cause) : Option.none()
      assert.isTrue(
        Option.isSome(missingError) &&
          !("_tag" in missingError.value && missingError.value._tag === "AnthropicConfigError")
      )
      const empty = yield* Effect.flip(
        buildClient(AnthropicClient.layerConfig()).pipe(withConfig([["ANTHROPIC_API_KEY", ""]]))
      )
      assert.strictEqual((empty as AnthropicClient.AnthropicConfigError)._tag, "AnthropicConfigError")
    }))

  it.live("layerConfig with explicit Configs talks to the emulator", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const live = AnthropicLanguageModel.model(MODEL).pipe(
        Layer.provide(AnthropicClient.layerConfig({
          apiKey: Config.succeed(Redacted.make(apiKey)),
          baseUrl: Config.succeed(emulator.anthropicBaseUrl)
        }))
      )
      const completion = yield* LanguageModel.generate(prompt("config")).pipe(Effect.provide(live))
      assert.match(completion.text, /^Echo: config/)
      const [request] = yield* emulator.requests
      // SDK 1.x sends the key as `Authorization: Bearer <key>`; the emulator records it redacted
      assert.strictEqual(request!.headers["authorization"], "<redacted>")
      assert.notInclude(JSON.stringify(request), apiKey)
    }).pipe(Effect.provide(Emulator.layer())))
})

describe("the API key never leaks", () => {
  it.live("no error message, JSON form or cause rendering contains the key", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([
          { _tag: "AuthenticationFailed" },
          { _tag: "AuthenticationFailed", status: 403 },
          { _tag: "InvalidRequest" },
          { _tag: "ServerError" },
          { _tag: "Reset" },
          { _tag: "Malformed" },
          { _tag: "RateLimited", retryAfterMs: 10 },
          { _tag: "StreamError", afterChunks: 1 },
          { _tag: "Cut", afterChunks: 1 },
          { _tag: "StreamError", afterChunks: 1 },
          { _tag: "Cut", afterChunks: 1 }
        ])
        const errors: Array<LlmError.ProviderError> = []
        for (let i = 0; i < 7; i++) errors.push(yield* Effect.flip(model.generate(prompt("hi"))))
        for (const via of streamApis) {
          for (let i = 0; i < 2; i++) errors.push(yield* failureThrough(model, via))
        }
        assert.strictEqual(errors.length, 11)
        for (const error of errors) {
          assert.notInclude(error.message, apiKey)
          assert.notInclude(JSON.stringify(error), apiKey)
          assert.notInclude(String(error), apiKey)
          assert.notInclude(Cause.pretty(Cause.fail(error)), apiKey)
          assert.notInclude(error.message, "sk-ant")
        }
      })
    ))
})

interface Recorded {
  readonly name: string
  readonly span: Tracer.Span
}

const recordingTracer = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      spans.push({ name, span })
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  })
  return { spans, tracer }
})

describe("spans", () => {
  it.live("each call gets a chat span with provider, server address and port, and usage", () =>
    withEmulator(({ client, emulator, model }) =>
      Effect.gen(function*() {
        const { spans, tracer } = yield* recordingTracer
        yield* emulator.script([
          { _tag: "Reply", text: "ok", usage: { input: 10, output: 1 } },
          { _tag: "Overloaded" },
          { _tag: "Overloaded" }
        ])
        yield* model.generate(prompt("hi")).pipe(Effect.withTracer(tracer))
        for (const via of streamApis) yield* failureThrough(model, via).pipe(Effect.withTracer(tracer))
        const chat = spans.filter((s) => s.name === `chat ${MODEL}`)
        assert.strictEqual(chat.length, 3)
        const [generate, stream, streamEach] = chat.map((s) => s.span.attributes)
        assert.strictEqual(generate!.get("gen_ai.provider.name"), "anthropic")
        assert.strictEqual(generate!.get("server.address"), "127.0.0.1")
        assert.strictEqual(generate!.get("server.port"), client.serverPort)
        assert.strictEqual(generate!.get("gen_ai.usage.input_tokens"), 10)
        assert.strictEqual(stream!.get("error.type"), "Overloaded")
        assert.strictEqual(streamEach!.get("error.type"), "Overloaded")
        for (const s of chat) {
          for (const value of s.span.attributes.values()) assert.notInclude(String(value), apiKey)
        }
      })
    ))
})
