import { Chunk, Effect, Option, Stream } from "effect"
const M = 20000
const run = async (name: string, mk: () => Effect.Effect<any, any, any>) => {
  await Effect.runPromise(Effect.forEach(Array.from({ length: 2000 }), mk as any, { discard: true }) as any)
  const t = process.cpuUsage()
  await Effect.runPromise(Effect.forEach(Array.from({ length: M }), mk as any, { discard: true }) as any)
  const d = process.cpuUsage(t); console.log(name.padEnd(24), ((d.user + d.system) / M).toFixed(1), "us/stream")
}
const base = () => { let i = 0; return Stream.unfoldChunkEffect(undefined, () => Effect.succeed(i++ < 7 ? Option.some([Chunk.of("x"), undefined] as const) : Option.none())) }
for (let r = 0; r < 2; r++) {
await run("base", () => Stream.runDrain(base()))
await run("suspend", () => Stream.runDrain(Stream.suspend(base)))
await run("unwrap", () => Stream.runDrain(Stream.unwrap(Effect.sync(base))))
await run("unwrapScoped", () => Stream.runDrain(Stream.unwrapScoped(Effect.sync(base))))
await run("ensuring", () => Stream.runDrain(Stream.ensuring(base(), Effect.void)))
await run("onDone", () => Stream.runDrain(Stream.onEnd(base(), Effect.void)))
await run("tap", () => Stream.runDrain(Stream.tap(base(), () => Effect.void)))
await run("mapChunks", () => Stream.runDrain(Stream.mapChunks(base(), (c) => c)))
await run("provideService", () => Stream.runDrain(Stream.provideService(base(), Chunk as any, 1 as any)))
}
