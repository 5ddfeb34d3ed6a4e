import { Effect } from "effect"
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
const cached = Cache.withStore(raw, CacheStore.makeMemory({ maxEntries: 1000 }))
const sys = "You are a helpful assistant. ".repeat(20)
const N = 200_000
const prog = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* cached.generate({ messages: [{ role: "system", content: sys }, { role: "user", content: `q ${i}` }], temperature: 0 }) })
const t0 = performance.now()
await Effect.runPromise(prog)
console.log(((performance.now() - t0) / N * 1000).toFixed(2), "us")
