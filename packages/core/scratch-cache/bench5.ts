import { Duration, Effect } from "effect"
import * as CacheStore from "../src/CacheStore.js"
import type { Completion } from "../src/Completion.js"
const completion: Completion = {
  text: "Echo: hello there this is a fairly normal answer of twelve words",
  finishReason: "stop",
  usage: { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 12, reasoningTokens: 0 },
  costUsd: 0.0001, provider: "fake", model: "fake-1", servedModel: "fake-1-2026", attempts: [{ provider: "fake", model: "fake-1", outcome: "success" }]
}
const N = 50_000
const time = async (name: string, f: (i: number) => Effect.Effect<unknown, unknown>) => {
  const prog = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* f(i) })
  await Effect.runPromise(prog)
  const t0 = performance.now()
  await Effect.runPromise(prog)
  console.log(name, (((performance.now() - t0) / N) * 1000).toFixed(2), "us/call")
}
const keys = Array.from({length: N}, (_, i) => "k".repeat(64) + i)
const h = Duration.hours(1)
await time("set 1000", (i) => CacheStore.makeMemory({ maxEntries: 1000 }).set(keys[i]!, { completion, storedAt: 1 }, h))
const s1 = CacheStore.makeMemory({ maxEntries: 1000 })
await time("set bounded", (i) => s1.set(keys[i]!, { completion, storedAt: 1 }, h))
const s2 = CacheStore.makeMemory({ maxEntries: 1e9 })
await time("set unbounded", (i) => s2.set(keys[i]!, { completion, storedAt: 1 }, h))
await time("clockWith sync", () => Effect.clockWith((c) => Effect.sync(() => c.unsafeCurrentTimeMillis())))
