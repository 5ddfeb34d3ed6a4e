import { Deferred, Duration, Effect, Fiber } from "effect"
import * as CacheKey from "../src/CacheKey.js"
import * as CacheStore from "../src/CacheStore.js"
import type { Completion } from "../src/Completion.js"

const completion: Completion = {
  text: "Echo: hello there this is a fairly normal answer of twelve words",
  finishReason: "stop",
  usage: { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 12, reasoningTokens: 0 },
  costUsd: 0.0001, provider: "fake", model: "fake-1", servedModel: "fake-1-2026", attempts: [{ provider: "fake", model: "fake-1", outcome: "success" }]
}
const sys = "You are a helpful assistant. ".repeat(20)
const req = (i: number) => ({ messages: [{ role: "system" as const, content: sys }, { role: "user" as const, content: `question number ${i}` }], temperature: 0 })
const N = 50_000
const bench = (name: string, f: (i: number) => void) => {
  for (let i = 0; i < N; i++) f(i)
  const t0 = performance.now(); for (let i = 0; i < N; i++) f(i); console.log(name, (((performance.now() - t0) / N) * 1000).toFixed(2), "us")
}
bench("key", (i) => CacheKey.make({ provider: "p", model: "m" }, req(i)))
bench("encode", (i) => CacheKey.encode({ provider: "p", model: "m" }, req(i)))
bench("entryBytes", () => CacheStore.entryBytes({ completion, storedAt: 1 }))
const time = async (name: string, f: (i: number) => Effect.Effect<unknown, unknown>) => {
  const prog = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* f(i) })
  await Effect.runPromise(prog)
  const t0 = performance.now()
  await Effect.runPromise(prog)
  console.log(name, (((performance.now() - t0) / N) * 1000).toFixed(2), "us/call")
}
const store = CacheStore.makeMemory({ maxEntries: 1000 })
await time("store set", (i) => store.set("k" + i, { completion, storedAt: 1 }, Duration.hours(1)))
await time("store get", (i) => store.get("k" + i))
await time("fork+await", () => Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.forkDaemon(Effect.interruptible(Effect.succeed(completion))), (f) => restore(Fiber.join(f)))))
await time("deferred", () => Effect.suspend(() => { const d = Deferred.unsafeMake<number>(null as any); Deferred.unsafeDone(d, Effect.succeed(1)); return Deferred.await(d) }))
