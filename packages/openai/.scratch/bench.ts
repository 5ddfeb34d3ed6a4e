import { Emulator } from "@effect-llm/testing"
import { Effect, Layer, ManagedRuntime, Redacted, Stream } from "effect"
import OpenAI from "openai"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"

const api = (process.argv[2] ?? "responses") as "responses" | "chat-completions"
const kind = (process.argv[3] ?? "generate") as "generate" | "stream"
const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const raw = new OpenAI({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const service = await Effect.runPromise(OpenAiClient.make({ apiKey: Redacted.make("sk-x"), baseUrl: emulator.openAiBaseUrl }))
const model = OpenAiLanguageModel.fromClient(service, "gpt-5-mini", { api })
const req = { messages: [{ role: "user" as const, content: "Hello there, how are you?" }] }

const rawCall = async () => {
  if (api === "responses") {
    if (kind === "generate") return void (await raw.responses.create({ model: "gpt-5-mini", input: [{ role: "user", content: "Hello there, how are you?" }] }))
    const s = await raw.responses.create({ model: "gpt-5-mini", input: [{ role: "user", content: "Hello there, how are you?" }], stream: true })
    for await (const _ of s) { /* drain */ }
    return
  }
  if (kind === "generate") return void (await raw.chat.completions.create({ model: "gpt-5-mini", messages: [{ role: "user", content: "Hello there, how are you?" }] }))
  const s = await raw.chat.completions.create({ model: "gpt-5-mini", messages: [{ role: "user", content: "Hello there, how are you?" }], stream: true, stream_options: { include_usage: true } })
  for await (const _ of s) { /* drain */ }
}
const effCall = kind === "generate" ? Effect.asVoid(model.generate(req)) : Stream.runDrain(model.stream(req))

const N = Number(process.argv[4] ?? 400)
const mode = process.argv[5] ?? "cpu"
const runRaw = async (concurrency: number) => {
  const t = process.cpuUsage(); const w = performance.now()
  let i = 0
  await Promise.all(Array.from({ length: concurrency }, async () => { while (i++ < N) await rawCall() }))
  const d = process.cpuUsage(t); return mode === "cpu" ? (d.user + d.system) / 1000 : performance.now() - w
}
const runEff = async (concurrency: number) => {
  const t = process.cpuUsage(); const w = performance.now()
  await Effect.runPromise(Effect.forEach(Array.from({ length: N }), () => effCall, { concurrency, discard: true }))
  const d = process.cpuUsage(t); return mode === "cpu" ? (d.user + d.system) / 1000 : performance.now() - w
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const c of [1, 64]) {
  await runRaw(c); await runEff(c)
  const r: number[] = [], e: number[] = []
  for (let round = 0; round < 7; round++) {
    if (round % 2 === 0) { r.push(await runRaw(c)); e.push(await runEff(c)) } else { e.push(await runEff(c)); r.push(await runRaw(c)) }
  }
  console.log(`${api} ${kind} c=${c}: raw ${(median(r) / N * 1000).toFixed(1)}us/call effect ${(median(e) / N * 1000).toFixed(1)}us/call ratio ${(median(e) / median(r)).toFixed(3)}`)
}
await rt.dispose()
