import { Chunk, Effect, Option, Stream } from "effect"
const M = 20000
const run = async (name: string, mk: () => Effect.Effect<any>) => {
  await Effect.runPromise(Effect.forEach(Array.from({ length: 2000 }), mk, { discard: true }))
  const t = process.cpuUsage()
  await Effect.runPromise(Effect.forEach(Array.from({ length: M }), mk, { discard: true }))
  const d = process.cpuUsage(t); console.log(name.padEnd(24), ((d.user + d.system) / M).toFixed(1), "us/stream")
}
const n = (k: number) => () => {
  let i = 0
  return Stream.unfoldChunkEffect(undefined, () => Effect.succeed(i++ < k ? Option.some([Chunk.of("x"), undefined] as const) : Option.none()))
}
await run("unfold 0", () => Stream.runDrain(n(0)()))
await run("unfold 1", () => Stream.runDrain(n(1)()))
await run("unfold 7", () => Stream.runDrain(n(7)()))
await run("unfold 20", () => Stream.runDrain(n(20)()))
await run("fromChunk 7", () => Stream.runDrain(Stream.fromChunk(Chunk.make(1,2,3,4,5,6,7))))
await run("fromIterable 7", () => Stream.runDrain(Stream.fromIterable([1,2,3,4,5,6,7])))
await run("repeatEffectChunkOption 7", () => { let i = 0; return Stream.runDrain(Stream.repeatEffectChunkOption(Effect.suspend(() => i++ < 7 ? Effect.succeed(Chunk.of(1)) : Effect.fail(Option.none())))) })
