import { LanguageModel } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Layer, ManagedRuntime, Redacted } from "effect"
import OpenAI from "openai"
import { startEmulator } from "./bench/harness.js"
import { cacheFigures, stacks } from "./bench/stacks.js"
const prompt = "Summarise the benefits of typed errors in two sentences."
const request: GenerateRequest = { messages: [{ role: "user", content: prompt }], maxOutputTokens: 64 }
const emulator = await startEmulator()
try {
  const client = new OpenAI({ apiKey: "bench-key", baseURL: `${emulator.url}/v1`, maxRetries: 0 })
  const body = { model: "gpt-5-mini", input: [{ role: "user" as const, content: prompt }], max_output_tokens: 64 }
  const layer = OpenAiLanguageModel.model("gpt-5-mini").pipe(Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("bench-key"), baseUrl: `${emulator.url}/v1` })))
  const baseRuntime = ManagedRuntime.make(layer)
  const base = await baseRuntime.runPromise(LanguageModel.LanguageModel)
  const stack = stacks.find((s) => s.name === "memory cache")!
  const runtime = ManagedRuntime.make(stack.layer(layer))
  const model = await runtime.runPromise(LanguageModel.LanguageModel)
  await cacheFigures({ provider: "openai", model, base, runtime: runtime as any, raw: () => client.responses.create(body), record: (r) => console.log(JSON.stringify(r)), request, rounds: 5, calls: 200 })
} finally { await emulator.stop() }
