import Anthropic from "@anthropic-ai/sdk"
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import { LanguageModel } from "@effect-llm/core"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Effect, Layer, ManagedRuntime, Redacted, Scheduler, Stream } from "effect"
import OpenAI from "openai"
import { startEmulator, now } from "./harness.js"

const which = process.argv[2] ?? "anthropic-generate-lib"
const emu = await startEmulator()
const prompt = "Summarise the benefits of typed errors in two sentences."
const N = Number(process.argv[3] ?? 3000)
const request = { messages: [{ role: "user" as const, content: prompt }], maxOutputTokens: 64 }
const a = new Anthropic({ apiKey: "k", baseURL: emu.url, maxRetries: 0 })
const o = new OpenAI({ apiKey: "k", baseURL: `${emu.url}/v1`, maxRetries: 0 })
const layer = which.startsWith("anthropic")
  ? AnthropicLanguageModel.model("claude-haiku-4-5").pipe(Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make("k"), baseUrl: emu.url })))
  : OpenAiLanguageModel.model("gpt-5-mini").pipe(Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("k"), baseUrl: `${emu.url}/v1` })))
const rt = ManagedRuntime.make(layer)
const model = await rt.runPromise(LanguageModel.LanguageModel)
const raw: Record<string, () => Promise<unknown>> = {
  "anthropic-generate-raw": () => a.messages.create({ model: "claude-haiku-4-5", messages: [{ role: "user", content: prompt }], max_tokens: 64 }),
  "anthropic-stream-raw": async () => { const s = await a.messages.create({ model: "claude-haiku-4-5", messages: [{ role: "user", content: prompt }], max_tokens: 64, stream: true }); for await (const _ of s); },
  "openai-generate-raw": () => o.responses.create({ model: "gpt-5-mini", input: [{ role: "user", content: prompt }], max_output_tokens: 64 }),
  "openai-stream-raw": async () => { const s = await o.responses.create({ model: "gpt-5-mini", input: [{ role: "user", content: prompt }], max_output_tokens: 64, stream: true }); for await (const _ of s); },
}
const body = { model: "gpt-5-mini", input: [{ role: "user" as const, content: prompt }], max_output_tokens: 64 }
const effects: Record<string, Effect.Effect<unknown, unknown>> = {
  "openai-generate-effpromise": Effect.promise(() => o.responses.create(body)),
  "openai-generate-effwithresp": Effect.promise(() => o.responses.create(body).withResponse()),
  "openai-generate-effspan": Effect.withSpan(Effect.promise(() => o.responses.create(body)), "x"),
}
const run = async () => {
  if (effects[which]) { await rt.runPromise(Effect.forEach(Array.from({ length: N }), () => effects[which]!, { concurrency: 64, discard: true })); return }
  if (which.endsWith("-raw")) { let next = 0; await Promise.all(Array.from({ length: 64 }, async () => { while (next++ < N) await raw[which]!() })) }
  else { const call = which.includes("stream") ? Stream.runDrain(model.stream(request)) : model.generate(request); await rt.runPromise(Effect.forEach(Array.from({ length: N }), () => call, { concurrency: 64, discard: true }).pipe(process.env.SCHED ? Effect.withScheduler(new Scheduler.MixedScheduler(Number(process.env.SCHED))) : (x) => x)) }
}
await run()
const t = now(); await run(); const ms = now() - t
console.log(which, (N / (ms / 1000)).toFixed(0), "calls/s", (ms * 1000 / N).toFixed(1), "us/call cpu-ish")
await emu.stop(); await rt.dispose()
