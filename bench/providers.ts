/**
 * The providers `pnpm bench` compares: the raw SDK call, the same call through effect-llm's model
 * layer, and how to capture the emulator's answer to it.
 */
import Anthropic from "@anthropic-ai/sdk"
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import type { LanguageModel } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Layer, Redacted } from "effect"
import OpenAI from "openai"
import { type EmulatorProcess, startEmulator } from "./harness.js"
import { captureReplies, type Replies } from "./replay.js"

export const prompt = "Summarise the benefits of typed errors in two sentences."
export const request: GenerateRequest = {
  messages: [{ role: "user", content: prompt }],
  maxOutputTokens: 64,
  user: "bench-user"
}

const openAiBody = { model: "gpt-5-mini", input: [{ role: "user" as const, content: prompt }], max_output_tokens: 64 }
const anthropicBody = {
  model: "claude-haiku-4-5",
  messages: [{ role: "user" as const, content: prompt }],
  max_tokens: 64
}

export interface Provider {
  readonly name: "openai" | "anthropic"
  /** The raw SDK against `url` (through `fetch` when given: the socket-free rows). */
  readonly raw: (url: string, fetch?: typeof globalThis.fetch) => {
    readonly generate: () => Promise<unknown>
    readonly stream: () => Promise<unknown>
    /** The SDK's event stream of one call, to read. */
    readonly events: () => Promise<AsyncIterable<unknown>>
  }
  readonly layer: (url: string, fetch?: typeof globalThis.fetch) => Layer.Layer<LanguageModel.LanguageModel, unknown>
  /** One real answer of the emulator to the benchmark's request, JSON and streamed. */
  readonly capture: (emulator: EmulatorProcess) => Promise<Replies>
}

/** A raw SDK's calls: `generate`, and `stream` that drains the SDK's event stream of `events`. */
const rawCalls = (
  generate: () => Promise<unknown>,
  events: () => Promise<AsyncIterable<unknown>>
): ReturnType<Provider["raw"]> => ({
  generate,
  stream: async () => {
    for await (const _ of await events()) { /* drain */ }
  },
  events
})

export const providers: ReadonlyArray<Provider> = [
  {
    name: "openai",
    raw: (url, fetch) => {
      const client = new OpenAI({
        apiKey: "bench-key",
        baseURL: `${url}/v1`,
        maxRetries: 0,
        ...(fetch ? { fetch } : {})
      })
      return rawCalls(
        () => client.responses.create(openAiBody),
        () => client.responses.create({ ...openAiBody, stream: true })
      )
    },
    layer: (url, fetch) =>
      OpenAiLanguageModel.model("gpt-5-mini").pipe(
        Layer.provide(
          OpenAiClient.layer({ apiKey: Redacted.make("bench-key"), baseUrl: `${url}/v1`, ...(fetch ? { fetch } : {}) })
        )
      ),
    capture: (emulator) => captureReplies(emulator, "/v1/responses", { authorization: "Bearer bench-key" }, openAiBody)
  },
  {
    name: "anthropic",
    raw: (url, fetch) => {
      const client = new Anthropic({ apiKey: "bench-key", baseURL: url, maxRetries: 0, ...(fetch ? { fetch } : {}) })
      return rawCalls(
        () => client.messages.create(anthropicBody),
        () => client.messages.create({ ...anthropicBody, stream: true })
      )
    },
    layer: (url, fetch) =>
      AnthropicLanguageModel.model("claude-haiku-4-5").pipe(
        Layer.provide(
          AnthropicClient.layer({ apiKey: Redacted.make("bench-key"), baseUrl: url, ...(fetch ? { fetch } : {}) })
        )
      ),
    capture: (emulator) =>
      captureReplies(
        emulator,
        "/v1/messages",
        { "x-api-key": "bench-key", "anthropic-version": "2023-06-01" },
        anthropicBody
      )
  }
]

/** Every provider's captured answers, from a running emulator. */
export const captureAll = async (emulator: EmulatorProcess): Promise<Map<string, Replies>> => {
  const replies = new Map<string, Replies>()
  for (const provider of providers) replies.set(provider.name, await provider.capture(emulator))
  return replies
}

/**
 * {@link captureAll} from an emulator started for it and stopped after (the socket-free runs need
 * nothing else of it). Its rate limits are scaled up as in `pnpm bench`.
 */
export const captureFresh = async (): Promise<Map<string, Replies>> => {
  const emulator = await startEmulator(["--rate-limit-scale", "1000"])
  try {
    return await captureAll(emulator)
  } finally {
    await emulator.stop()
  }
}
