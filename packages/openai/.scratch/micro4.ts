import { Chunk, Effect, Option, Stream, Sink } from "effect"
const M = 20000
const run = async (name: string, mk: () => Effect.Effect<any, any, any>) => {
  await Effect.runPromise(Effect.forEach(Array.from({ length: 2000 }), mk as any, { discard: true }) as any)
  const t = process.cpuUsage()
  await Effect.runPromise(Effect.forEach(Array.from({ length: M }), mk as any, { discard: true }) as any)
  const d = process.cpuUsage(t); console.log(name.padEnd(24), ((d.user + d.system) / M).toFixed(1), "us/stream")
}
await run("runDrain empty", () => Stream.runDrain(Stream.empty))
await run("runDrain succeed", () => Stream.runDrain(Stream.succeed(1)))
await run("run Sink.drain", () => Stream.run(Stream.succeed(1), Sink.drain))
await run("toPull scoped", () => Effect.scoped(Effect.flatMap(Stream.toPull(Stream.succeed(1)), (pull) => Effect.ignore(Effect.zipRight(pull, pull)))))
await run("scoped void", () => Effect.scoped(Effect.void))
