/**
 * `pnpm demo`: a short, realistic session with effect-llm.
 *
 * With no API keys (or with --emulator) it starts the emulator in-process and talks to it through the
 * real OpenAI and Anthropic SDKs. With OPENAI_API_KEY / ANTHROPIC_API_KEY set it calls the real APIs.
 * `--trace` prints the trace tree of the calls at the end.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import { LanguageModel } from "@effect-llm/core"
import * as Otel from "@effect-llm/core/Otel"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Emulator } from "@effect-llm/testing"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { type DemoContext, runSession } from "./demo/session.js"

const forceEmulator = process.argv.includes("--emulator")
const trace = process.argv.includes("--trace")

const main = Effect.gen(function*() {
  const openAiKey = yield* Config.option(Config.redacted("OPENAI_API_KEY"))
  const anthropicKey = yield* Config.option(Config.redacted("ANTHROPIC_API_KEY"))
  const live = !forceEmulator && (Option.isSome(openAiKey) || Option.isSome(anthropicKey))

  if (live) {
    yield* Effect.sync(() => process.stdout.write("Calling the real APIs (keys found in the environment).\n"))
    const openAiClient = Option.isSome(openAiKey)
      ? yield* Layer.build(OpenAiClient.layer({ apiKey: openAiKey.value }))
      : undefined
    const openAiModel = openAiClient
      ? (name: string) => OpenAiLanguageModel.make(name).pipe(LanguageModel.provideContext(openAiClient))
      : undefined
    const context: DemoContext = {
      live: true,
      trace,
      emulator: undefined,
      openAi: openAiModel?.("gpt-5-mini"),
      openAiModel,
      anthropic: Option.isSome(anthropicKey)
        ? AnthropicLanguageModel.make("claude-haiku-4-5").pipe(LanguageModel.provideContext(
          yield* Layer.build(AnthropicClient.layer({ apiKey: anthropicKey.value }))
        ))
        : undefined
    }
    return yield* runSession(context)
  }

  const emulator = yield* Emulator.make({ seed: 7 })
  yield* Effect.sync(() =>
    process.stdout.write(`No API keys: using the built-in emulator at ${emulator.url} (real SDKs, loopback).\n`)
  )
  const apiKey = Redacted.make("demo-key-not-a-secret")
  const openAiClient = yield* Layer.build(OpenAiClient.layer({ apiKey, baseUrl: emulator.openAiBaseUrl }))
  const anthropicClient = yield* Layer.build(AnthropicClient.layer({ apiKey, baseUrl: emulator.anthropicBaseUrl }))
  const context: DemoContext = {
    live: false,
    trace,
    emulator,
    openAi: OpenAiLanguageModel.make("gpt-5-mini").pipe(LanguageModel.provideContext(openAiClient)),
    openAiModel: (name) => OpenAiLanguageModel.make(name).pipe(LanguageModel.provideContext(openAiClient)),
    anthropic: AnthropicLanguageModel.make("claude-haiku-4-5").pipe(LanguageModel.provideContext(anthropicClient))
  }
  return yield* runSession(context)
})

// --trace: every span of the session goes to an exporter that prints the trace tree at the end
const program = trace
  ? Effect.scoped(main).pipe(
    Effect.withSpan("demo session"),
    Effect.provide(Otel.layerTree({ serviceName: "effect-llm-demo" }))
  )
  : Effect.scoped(main)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`demo failed: ${error}\n`)
    process.exit(1)
  }
)
