import { Deferred, Effect, Fiber, FiberId, Runtime } from "effect"
const N = 50_000
const time = async (name: string, f: (i: number) => Effect.Effect<unknown, unknown>) => {
  const prog = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* f(i) })
  await Effect.runPromise(prog)
  const t0 = performance.now()
  await Effect.runPromise(prog)
  console.log(name, (((performance.now() - t0) / N) * 1000).toFixed(2), "us/call")
}
await time("succeed", () => Effect.succeed(1))
await time("fork+join", () => Effect.flatMap(Effect.fork(Effect.succeed(1)), Fiber.join))
await time("forkDaemon+join", () => Effect.flatMap(Effect.forkDaemon(Effect.succeed(1)), Fiber.join))
await time("forkDaemon+deferred", () => Effect.suspend(() => { const d = Deferred.unsafeMake<number>(FiberId.none); return Effect.zipRight(Effect.forkDaemon(Effect.sync(() => Deferred.unsafeDone(d, Effect.succeed(1)))), Deferred.await(d)) }))
await time("runFork+deferred", () => Effect.flatMap(Effect.runtime<never>(), (rt) => Effect.suspend(() => { const d = Deferred.unsafeMake<number>(FiberId.none); Runtime.runFork(rt)(Effect.sync(() => Deferred.unsafeDone(d, Effect.succeed(1)))); return Deferred.await(d) })))
await time("async microtask", () => Effect.async<number>((resume) => { queueMicrotask(() => resume(Effect.succeed(1))) }))
await time("yieldNow", () => Effect.yieldNow())
