import { Telemetry } from "@effect-llm/core"
import { Effect } from "effect"
const N = 200_000
const time = (name: string, f: () => void) => { for (let i = 0; i < 20000; i++) f(); const t = performance.now(); for (let i = 0; i < N; i++) f(); console.log(name.padEnd(20), ((performance.now() - t) / N * 1000).toFixed(2), "ns") }
time("AbortController", () => { new AbortController() })
time("AbortSignal.any", () => { const a = new AbortController(); const b = new AbortController(); AbortSignal.any([a.signal, b.signal]) })
const fake: any = { text: "x", finishReason: "stop", usage: { inputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1, reasoningTokens: 0 }, provider: "openai", model: "m", servedModel: "m", attempts: [] }
const req = { messages: [{ role: "user" as const, content: "Hello" }] }
const plain = Effect.succeed(fake)
const traced = Telemetry.traceGenerate({ provider: "openai", model: "gpt-5-mini", request: req, serverAddress: "127.0.0.1", serverPort: 1 })(plain)
const asyncE = Effect.async<any>((resume) => { resume(Effect.succeed(fake)) })
const asyncS = Effect.async<any>((resume, signal) => { resume(Effect.succeed(fake)) })
const M = 100_000
const run = async (name: string, e: Effect.Effect<any>) => { await Effect.runPromise(Effect.forEach(Array.from({ length: 10000 }), () => e, { discard: true })); const t = performance.now(); await Effect.runPromise(Effect.forEach(Array.from({ length: M }), () => e, { discard: true })); console.log(name.padEnd(20), ((performance.now() - t) / M * 1000).toFixed(0), "ns") }
await run("succeed", plain)
await run("async", asyncE)
await run("async+signal", asyncS)
await run("traced", traced)
