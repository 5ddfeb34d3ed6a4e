import { Chunk, Effect, Option, Stream, Channel } from "effect"
const M = 20000
const run = async (name: string, mk: () => Effect.Effect<any>) => {
  await Effect.runPromise(Effect.forEach(Array.from({ length: 2000 }), mk, { discard: true }))
  const t = process.cpuUsage()
  await Effect.runPromise(Effect.forEach(Array.from({ length: M }), mk, { discard: true }))
  const d = process.cpuUsage(t); console.log(name.padEnd(24), ((d.user + d.system) / M).toFixed(1), "us/stream")
}
const seven = () => {
  let i = 0
  return Stream.unfoldChunkEffect(undefined, () => Effect.succeed(i++ < 7 ? Option.some([Chunk.of("x"), undefined] as const) : Option.none()))
}
const sevenAsync = () => {
  let i = 0
  const pull = Effect.async<Option.Option<readonly [Chunk.Chunk<string>, void]>>((resume) => { Promise.resolve().then(() => resume(Effect.succeed(i++ < 7 ? Option.some([Chunk.of("x"), undefined] as const) : Option.none()))) })
  return Stream.unfoldChunkEffect(undefined, () => pull)
}
const promiseSeven = () => Effect.promise(async () => { for (let i = 0; i < 7; i++) await Promise.resolve() })
await run("promise x7", promiseSeven)
await run("unfold sync x7", () => Stream.runDrain(seven()))
await run("unfold async x7", () => Stream.runDrain(sevenAsync()))
await run("unfold async x7 ensuring", () => Stream.runDrain(Stream.ensuring(sevenAsync(), Effect.void)))
await run("unwrap unfold async", () => Stream.runDrain(Stream.unwrap(Effect.sync(() => sevenAsync()))))
await run("runForEach async", () => Stream.runForEach(sevenAsync(), () => Effect.void))
