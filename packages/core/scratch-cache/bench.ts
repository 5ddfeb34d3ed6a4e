import { Effect, Layer } from "effect"
import * as Cache from "../src/Cache.js"
import * as CacheStore from "../src/CacheStore.js"
import * as LanguageModel from "../src/LanguageModel.js"
import type { Completion } from "../src/Completion.js"

const completion: Completion = {
  text: "Echo: hello there this is a fairly normal answer of twelve words",
  finishReason: "stop",
  usage: { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 12, reasoningTokens: 0 },
  costUsd: 0.0001, provider: "fake", model: "fake-1", servedModel: "fake-1-2026", attempts: [{ provider: "fake", model: "fake-1", outcome: "success" }]
}
const raw = LanguageModel.make({ provider: "fake", model: "fake-1", generate: () => Effect.succeed(completion), stream: () => { throw new Error() } })
const store = CacheStore.makeMemory({ maxEntries: 1000 })
const cached = Cache.withStore(raw, store)
const sys = "You are a helpful assistant. ".repeat(20)
const req = (i: number, temperature?: number) => ({ messages: [{ role: "system" as const, content: sys }, { role: "user" as const, content: `question number ${i}` }], ...(temperature !== undefined ? { temperature } : {}) })
const N = 50_000
const time = async (name: string, f: (i: number) => Effect.Effect<unknown, unknown>) => {
  const prog = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* f(i) })
  await Effect.runPromise(prog)
  const t0 = performance.now()
  await Effect.runPromise(prog)
  const dt = performance.now() - t0
  console.log(name, ((dt / N) * 1000).toFixed(2), "us/call")
}
await time("raw", (i) => raw.generate(req(i, 0)))
await time("bypass", (i) => cached.generate(req(i)))
await time("miss (unique)", (i) => cached.generate(req(i + Math.random() * 1e9, 0)))
await time("hit", (i) => cached.generate(req(i % 100, 0)))
