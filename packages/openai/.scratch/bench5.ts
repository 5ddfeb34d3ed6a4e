import { Emulator } from "@effect-llm/testing"
import { Effect, ManagedRuntime, Redacted } from "effect"
import OpenAI from "openai"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"
const api = (process.argv[2] ?? "responses") as "responses" | "chat-completions"
const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const raw = new OpenAI({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const service = await Effect.runPromise(OpenAiClient.make({ apiKey: Redacted.make("sk-x"), baseUrl: emulator.openAiBaseUrl }))
const model = OpenAiLanguageModel.fromClient(service, "gpt-5-mini", { api })
const req = { messages: [{ role: "user" as const, content: "Hello there, how are you?" }] }
const rawCall = api === "responses"
  ? () => raw.responses.create({ model: "gpt-5-mini", input: [{ role: "user", content: "Hello there, how are you?" }] })
  : () => raw.chat.completions.create({ model: "gpt-5-mini", messages: [{ role: "user", content: "Hello there, how are you?" }] })
const N = 300
const variants: Record<string, Effect.Effect<unknown, unknown>> = {
  promise: Effect.promise(rawCall),
  full: model.generate(req)
}
const cpu = async (f: () => Promise<unknown>) => { const t = process.cpuUsage(); await f(); const d = process.cpuUsage(t); return (d.user + d.system) / 1000 }
const rawRun = () => cpu(async () => { for (let i = 0; i < N; i++) await rawCall() })
const effRun = (e: Effect.Effect<unknown, unknown>) => cpu(() => Effect.runPromise(Effect.forEach(Array.from({ length: N }), () => e, { discard: true })))
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
await rawRun(); for (const v of Object.values(variants)) await effRun(v)
const res: Record<string, number[]> = { raw: [] }
for (const k of Object.keys(variants)) res[k] = []
for (let round = 0; round < 11; round++) {
  res.raw!.push(await rawRun())
  for (const [k, v] of Object.entries(variants)) res[k]!.push(await effRun(v))
}
const base = median(res.raw!)
for (const [k, xs] of Object.entries(res)) console.log(api, k.padEnd(10), (median(xs) / N * 1000).toFixed(1), "us", (median(xs) / base).toFixed(3))
await rt.dispose()
