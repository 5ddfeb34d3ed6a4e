import { Telemetry } from "@effect-llm/core"
import { Effect, Stream, Chunk, Exit } from "effect"
const completion = { text: "x", finishReason: "stop", usage: { inputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1, reasoningTokens: 0 }, provider: "p", model: "m", servedModel: "m", attempts: [] } as any
const events = [...Array.from({ length: 12 }, (_, i) => ({ _tag: "TextDelta" as const, text: "w" + i })), { _tag: "Finish" as const, completion }]
const base = Stream.suspend(() => { let i = 0; return Stream.unfoldChunkEffect(undefined, () => Effect.succeed(i < events.length ? { _tag: "Some", value: [Chunk.of(events[i++]!), undefined] } as any : { _tag: "None" } as any)) })
const info = { provider: "openai", model: "gpt", request: { messages: [] } }
const v1 = base.pipe(Telemetry.traceStream(info))
const v3 = Stream.ensuringWith(Stream.mapChunks(base, (c) => c), () => Effect.void)
const v2 = Stream.unwrap(Effect.withFiberRuntime<Stream.Stream<any>>(() => Effect.map(Effect.makeSpan("chat x", { kind: "client" }), (span) => Stream.ensuringWith(Stream.mapChunks(base, (c) => c), (exit) => Effect.sync(() => span.end(0n, exit as any))))))
const time = async (label: string, eff: Effect.Effect<unknown>, n = 4000) => {
  await Effect.runPromise(Effect.repeatN(eff, 300))
  const t = performance.now()
  await Effect.runPromise(Effect.repeatN(eff, n - 1))
  return (performance.now() - t) / n * 1000
}
for (let r = 0; r < 3; r++) {
  const out: string[] = []
  for (const [l, s] of [["plain", base], ["v1 current", v1], ["v2 unwrap+map+ensuringWith", v2], ["v3 map+ensuringWith", v3]] as const) out.push(`${l} ${(await time(l, Stream.runDrain(s as any))).toFixed(0)}us`)
  console.log(out.join(" | "))
}
