/**
 * What one call costs the client, counted rather than timed, so that a busy machine does not move
 * it: the Effect operations it runs (a supervisor counts them) and the bytes it allocates (V8's
 * sampling heap profiler, collected objects included), each against the raw SDK's own allocation.
 */
import { Effect, ManagedRuntime, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"
import { Session } from "node:inspector/promises"
import { times } from "./harness.js"

class OpCounter extends Supervisor.AbstractSupervisor<void> {
  count = 0
  readonly value = Effect.void
  override onEffect(): void {
    this.count++
  }
}

/** The Effect operations per run of `call` (averaged over `calls` runs, in one fiber and its children). */
export const opsPerCall = async (
  runtime: ManagedRuntime.ManagedRuntime<never, never>,
  call: Effect.Effect<unknown, unknown>,
  calls: number
): Promise<number> => {
  const counter = new OpCounter()
  await runtime.runPromise(
    times(call, calls).pipe(
      Effect.supervised(counter),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    )
  )
  // the counted region's own operations (repeat, supervision) are a few per call: they are the
  // same for every stack, so rows compare
  return counter.count / calls
}

/** The bytes allocated per run of `run(calls)` (V8's sampling heap profiler, 1 KiB sampling). */
export const bytesPerCall = async (run: (calls: number) => Promise<unknown>, calls: number): Promise<number> => {
  const session = new Session()
  session.connect()
  try {
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
    await run(calls)
    const { profile } = await session.post("HeapProfiler.stopSampling")
    let total = 0
    const walk = (node: { readonly selfSize: number; readonly children: ReadonlyArray<typeof node> }) => {
      total += node.selfSize
      for (const child of node.children) walk(child)
    }
    walk(profile.head)
    return total / calls
  } finally {
    session.disconnect()
  }
}
