import { Effect, Stream } from "effect"
const e = Stream.runDrain(Stream.empty)
for (let r = 0; r < 3; r++) {
  const M = 20000
  const t = performance.now()
  for (let i = 0; i < M; i++) await Effect.runPromise(e)
  console.log("runPromise(runDrain(empty))", ((performance.now() - t) / M * 1000).toFixed(1), "us")
  const t2 = performance.now()
  await Effect.runPromise(Effect.repeatN(e, M - 1))
  console.log("repeatN(runDrain(empty))", ((performance.now() - t2) / M * 1000).toFixed(1), "us")
  const t3 = performance.now()
  await Effect.runPromise(Effect.repeatN(Effect.void, M - 1))
  console.log("repeatN(void)", ((performance.now() - t3) / M * 1000).toFixed(1), "us")
}
