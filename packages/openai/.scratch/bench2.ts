import { Emulator } from "@effect-llm/testing"
import { Telemetry } from "@effect-llm/core"
import { Effect, ManagedRuntime, Redacted } from "effect"
import OpenAI from "openai"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"

const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const raw = new OpenAI({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const service = await Effect.runPromise(OpenAiClient.make({ apiKey: Redacted.make("sk-x"), baseUrl: emulator.openAiBaseUrl }))
const model = OpenAiLanguageModel.fromClient(service, "gpt-5-mini")
const req = { messages: [{ role: "user" as const, content: "Hello there, how are you?" }] }
const body = () => ({ model: "gpt-5-mini", input: [{ role: "user" as const, content: "Hello there, how are you?" }] })
const N = 400
const fake: any = { text: "x", finishReason: "stop", usage: { inputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1, reasoningTokens: 0 }, provider: "openai", model: "m", servedModel: "m", attempts: [] }
const variants: Record<string, Effect.Effect<unknown, unknown>> = {
  promise: Effect.promise(() => raw.responses.create(body())),
  asyncSignal: Effect.async((resume, signal) => { raw.responses.create(body(), { signal }).then((r) => resume(Effect.succeed(r)), (e) => resume(Effect.die(e))) }),
  asyncSignalWithResponse: Effect.async((resume, signal) => { raw.responses.create(body(), { signal }).withResponse().then((r) => resume(Effect.succeed(r)), (e) => resume(Effect.die(e))) }),
  asyncNoSignalWithResponse: Effect.async((resume) => { raw.responses.create(body()).withResponse().then((r) => resume(Effect.succeed(r)), (e) => resume(Effect.die(e))) }),
  traced: Telemetry.traceGenerate({ provider: "openai", model: "gpt-5-mini", request: req, serverAddress: "127.0.0.1", serverPort: 1 })(Effect.async((resume, signal) => { raw.responses.create(body(), { signal }).withResponse().then(() => resume(Effect.succeed(fake)), (e) => resume(Effect.die(e))) })),
  full: model.generate(req)
}
const rawRun = async () => { const t = performance.now(); for (let i = 0; i < N; i++) await raw.responses.create(body()); return performance.now() - t }
const effRun = async (e: Effect.Effect<unknown, unknown>) => { const t = performance.now(); await Effect.runPromise(Effect.forEach(Array.from({ length: N }), () => e, { discard: true })); return performance.now() - t }
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
await rawRun()
for (const v of Object.values(variants)) await effRun(v)
const res: Record<string, number[]> = { raw: [] }
for (const k of Object.keys(variants)) res[k] = []
for (let round = 0; round < 7; round++) {
  res.raw!.push(await rawRun())
  for (const [k, v] of Object.entries(variants)) res[k]!.push(await effRun(v))
}
const base = median(res.raw!)
for (const [k, xs] of Object.entries(res)) console.log(k.padEnd(28), (median(xs) / N * 1000).toFixed(1), "us", (median(xs) / base).toFixed(3))
await rt.dispose()
