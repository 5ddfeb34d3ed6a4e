/**
 * `pnpm bench`: the overhead of effect-llm against the raw SDKs, on the emulator, as ratios.
 *
 * The emulator runs in a child process so the measured process holds only the client. Each
 * comparison runs the raw SDK call (an async loop) and the same call through effect-llm (inside one
 * Effect program, as users compose them) in interleaved rounds and reports medians and the median
 * per-round ratio. Results go to bench/results.json (name, value, unit, target, pass).
 */
import { LanguageModel } from "@effect-llm/core"
import { Chunk, Effect, Layer, ManagedRuntime, Option, Stream } from "effect"
import { spawn } from "node:child_process"
import * as v8 from "node:v8"
import { callOf, opsOf, REPLAY_URL, type Run, setup } from "./ab-stacks.js"
import { bytesPerCall, opsPerCall } from "./footprint.js"
import {
  gc,
  interleave,
  median,
  now,
  progress,
  type Result,
  settleHeap,
  sleep,
  startEmulator,
  times,
  workers,
  writeResults
} from "./harness.js"
import { captureAll, type Provider, providers, request } from "./providers.js"
import { replayFetch, type Replies } from "./replay.js"
import { cacheFigures, stacks } from "./stacks.js"

const quick = process.argv.includes("--quick")
/** `--only=<text>`: run only the comparisons whose label contains the text (e.g. `--only="openai stream"`). */
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
const wanted = (label: string) => only === undefined || label.includes(only)
// many short rounds: on a shared machine the speed drifts within seconds, and a median of per-round
// ratios of short adjacent runs follows it better than a few long ones
const ROUNDS = quick ? 5 : 21
const SEQ_CALLS = quick ? 40 : 100
const CONC_CALLS = quick ? 640 : 1280
const FOOTPRINT_CALLS = quick ? 100 : 400
const CONCURRENCY = 64
/** Each comparison first runs both sides in turn for this long: the JIT needs thousands of calls, not dozens. */
const WARMUP_MS = quick ? 2000 : 5000

const results: Array<Result> = []
const stacksToRun = [...stacks]
const record = (result: Result) => {
  results.push(result)
  progress(
    `${result.pass ? "ok  " : "FAIL"} ${result.name}: ${
      result.value.toFixed(3)
    } ${result.unit} (target ${result.target})`
  )
}

const cpuMillis = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const latencyAndThroughput = async (
  label: string,
  raw: () => Promise<unknown>,
  runtime: ManagedRuntime.ManagedRuntime<never, never>,
  call: Effect.Effect<void, unknown>,
  targets: { readonly time: number; readonly throughput: number } | undefined
) => {
  // warm up both sides, in turns, until both run optimised code (after 50 calls each, a raw call
  // still took twice its steady time and the side with more code to compile lagged further behind)
  const warmUntil = now() + WARMUP_MS
  while (now() < warmUntil) {
    for (let i = 0; i < 50; i++) await raw()
    await runtime.runPromise(times(call, 50))
  }

  // the client's CPU time per call too (the emulator is another process): it moves less than the
  // wall clock when the machine is shared
  const cpu: { raw: Array<number>; lib: Array<number> } = { raw: [], lib: [] }
  const seq = await interleave(
    ROUNDS,
    async () => {
      const start = now()
      const cpuStart = process.cpuUsage()
      for (let i = 0; i < SEQ_CALLS; i++) await raw()
      cpu.raw.push(cpuMillis(cpuStart) / SEQ_CALLS)
      return (now() - start) / SEQ_CALLS
    },
    async () => {
      const start = now()
      const cpuStart = process.cpuUsage()
      await runtime.runPromise(times(call, SEQ_CALLS))
      cpu.lib.push(cpuMillis(cpuStart) / SEQ_CALLS)
      return (now() - start) / SEQ_CALLS
    }
  )
  progress(`${label} c1: raw ${seq.a.toFixed(3)} ms/call, effect-llm ${seq.b.toFixed(3)} ms/call`)
  record({
    name: `${label} time per call at concurrency 1 (x raw SDK)`,
    value: seq.ratio,
    unit: "x",
    target: targets ? `<= ${targets.time}` : "reference",
    pass: targets ? seq.ratio <= targets.time : true
  })
  const cpuRatio = median(cpu.lib.map((lib, i) => lib / cpu.raw[i]!))
  progress(
    `${label} client CPU: raw ${median(cpu.raw).toFixed(3)} ms/call, effect-llm ${median(cpu.lib).toFixed(3)} ms/call`
  )
  record({
    name: `${label} client CPU per call at concurrency 1 (x raw SDK)`,
    value: cpuRatio,
    unit: "x",
    target: "reference",
    pass: true
  })

  const conc = await interleave(
    ROUNDS,
    async () => {
      const start = now()
      let next = 0
      const worker = async () => {
        while (next < CONC_CALLS) {
          next++
          await raw()
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      return CONC_CALLS / ((now() - start) / 1000)
    },
    async () => {
      const start = now()
      await runtime.runPromise(workers(call, CONC_CALLS, CONCURRENCY))
      return CONC_CALLS / ((now() - start) / 1000)
    }
  )
  progress(`${label} c${CONCURRENCY}: raw ${conc.a.toFixed(0)} calls/s, effect-llm ${conc.b.toFixed(0)} calls/s`)
  record({
    name: `${label} throughput at concurrency ${CONCURRENCY} (x raw SDK)`,
    value: conc.ratio,
    unit: "x",
    target: targets ? `>= ${targets.throughput}` : "reference",
    pass: targets ? conc.ratio >= targets.throughput : true
  })

  // counted, not timed: the same on any machine
  const ops = await opsPerCall(runtime, call, FOOTPRINT_CALLS)
  const rawBytes = await bytesPerCall(async (n) => {
    for (let i = 0; i < n; i++) await raw()
  }, FOOTPRINT_CALLS)
  const libBytes = await bytesPerCall((n) => runtime.runPromise(times(call, n)), FOOTPRINT_CALLS)
  progress(
    `${label} footprint: ${ops.toFixed(0)} Effect operations per call; allocated raw ${
      (rawBytes / 1024).toFixed(1)
    } KiB, effect-llm ${(libBytes / 1024).toFixed(1)} KiB per call`
  )
  record({ name: `${label} Effect operations per call`, value: ops, unit: "ops", target: "reference", pass: true })
  record({
    name: `${label} bytes allocated per call (x raw SDK)`,
    value: libBytes / rawBytes,
    unit: "x",
    target: "reference",
    pass: true
  })
}

const REPLAY_CALLS = quick ? 500 : 2000

/**
 * What effect-llm adds to a call, in client CPU microseconds, with the network and the emulator
 * taken out: the raw SDK and each stack answer from the same captured reply (`bench/replay.ts`).
 * Interleaved rounds; the added time is the median over rounds of (effect-llm - raw).
 */
const socketFree = async (provider: Provider, replies: Replies) => {
  const raw = provider.raw(REPLAY_URL, replayFetch(replies))
  const runs: Array<Run> = [
    ...await setup(
      new Map([[provider.name, replies]]),
      REPLAY_CALLS,
      (label) => wanted(`${label} without sockets`)
    )
  ]
  // the reference of the stream rows: the simplest Effect `Stream` over the SDK's events, read in
  // as few pulls as they allow (all events of the reply in one chunk, then the end), nothing else
  const minimalLabel = `${provider.name} stream minimal Stream.unfoldChunkEffect(raw SDK) reference`
  if (wanted(`${minimalLabel} without sockets`)) {
    const runtime = ManagedRuntime.make(Layer.empty)
    const minimal = Stream.suspend(() => {
      let events: AsyncIterator<unknown> | undefined
      const pull = Effect.promise(async () => {
        events ??= (await raw.events())[Symbol.asyncIterator]()
        const chunk: Array<unknown> = []
        for (let next = await events.next(); next.done !== true; next = await events.next()) chunk.push(next.value)
        return chunk.length === 0 ? Option.none() : Option.some([Chunk.unsafeFromArray(chunk), undefined] as const)
      })
      return Stream.unfoldChunkEffect(undefined, () => pull)
    })
    const program = times(Stream.runDrain(minimal), REPLAY_CALLS)
    runs.unshift({
      provider: provider.name,
      op: "Stream",
      label: minimalLabel,
      run: () => runtime.runPromise(program),
      dispose: () => runtime.dispose()
    })
  }
  for (const { dispose, label: stackLabel, op, run } of runs) {
    const label = `${stackLabel} without sockets`
    const rawCalls = op === "generate" ? raw.generate : raw.stream
    const rawRun = async () => {
      for (let i = 0; i < REPLAY_CALLS; i++) await rawCalls()
    }
    const warmUntil = now() + WARMUP_MS
    while (now() < warmUntil) {
      await rawRun()
      await run()
    }
    const cpuOf = async (f: () => Promise<unknown>) => {
      const start = process.cpuUsage()
      await f()
      return (cpuMillis(start) * 1000) / REPLAY_CALLS
    }
    const rounds = await interleave(ROUNDS, () => cpuOf(rawRun), () => cpuOf(run))
    progress(
      `${label}: raw ${rounds.a.toFixed(1)} us, effect-llm ${rounds.b.toFixed(1)} us client CPU per call (+${
        rounds.difference.toFixed(1)
      } us)`
    )
    record({
      name: `${label}: client CPU added per call (us over the raw SDK)`,
      value: rounds.difference,
      unit: "us",
      target: "reference",
      pass: true
    })
    record({
      name: `${label}: client CPU per call (x raw SDK)`,
      value: rounds.ratio,
      unit: "x",
      target: "reference",
      pass: true
    })
    await dispose()
  }
}

const MEMORY_RESULTS = "memory results: "

/** The memory rows, measured by this script in a child process of its own (`--memory-child`). */
const memoryInFreshProcess = (): Promise<ReadonlyArray<Result>> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "--memory-only", "--memory-child"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", (code) => {
      const line = output.split("\n").find((l) => l.startsWith(MEMORY_RESULTS))
      if (code !== 0 || line === undefined) return reject(new Error(`the memory measurement exited with ${code}`))
      resolve(JSON.parse(line.slice(MEMORY_RESULTS.length)) as ReadonlyArray<Result>)
    })
  })

/** The TCP sockets this process holds open (the SDKs' pooled connections to the emulator). */
const openSockets = (): number =>
  process.getActiveResourcesInfo().filter((resource) => resource === "TCPSocketWrap").length

const memory = async (provider: Provider) => {
  const IN_FLIGHT = quick ? 2000 : 10_000
  const HOLD_MS = 6000
  const emulator = await startEmulator(["--latency-ms", String(HOLD_MS), "--rate-limit-scale", "1000"])
  try {
    const raw = provider.raw(emulator.url)
    const runtime = ManagedRuntime.make(provider.layer(emulator.url))
    const model = await runtime.runPromise(LanguageModel.LanguageModel)
    // Launched in batches of 500 every 20 ms (both sides alike), so the server's accept backlog keeps up;
    // a call that still fails is counted, not thrown.
    interface Wave {
      readonly perCall: number
      readonly before: number
    }
    const wave = async (launch: (i: number) => Promise<unknown>): Promise<Wave> => {
      // let the previous wave's idle keep-alive connections close first (the SDKs' fetch keeps them
      // ~4 s): freed during this wave, they would make it look smaller than it is; a few close late,
      // with some MiB of buffers, so wait (up to 20 s more) until none is left
      await sleep(6000)
      const waitUntil = now() + 20_000
      while (openSockets() > 0 && now() < waitUntil) await sleep(250)
      lateSockets.push(openSockets())
      await settleHeap()
      const before = process.memoryUsage().heapUsed
      const space = (name: string) =>
        (v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_used_size ?? 0) / 1024 / 1024
      spaces.push(`${space("old_space").toFixed(1)}/${space("large_object_space").toFixed(1)}`)
      const calls: Array<Promise<boolean>> = []
      for (let i = 0; i < IN_FLIGHT; i++) {
        calls.push(launch(i).then(() => true, () => false))
        if (i % 500 === 499) await sleep(20)
      }
      await sleep(HOLD_MS * 0.5)
      // two collections at once: a turn of the event loop here would let the first calls end
      gc()
      const during = process.memoryUsage().heapUsed
      failures += (await Promise.all(calls)).filter((ok) => !ok).length
      return { perCall: (during - before) / IN_FLIGHT, before }
    }
    let failures = 0
    const lateSockets: Array<number> = []
    const spaces: Array<string> = []
    const rawWave = () => wave(() => raw.generate())
    const libWave = () => wave(() => runtime.runPromise(model.generate(request)))
    await rawWave() // warm-up waves: connection pools, JIT
    await libWave()
    // alternating waves, medians: what one wave leaves behind weighs on the next, whichever side it is
    const raws: Array<number> = []
    const libs: Array<Wave> = []
    for (let i = 0; i < 3; i++) {
      raws.push((await rawWave()).perCall)
      libs.push(await libWave())
    }
    const rawPerCall = median(raws)
    const libPerCall = median(libs.map((w) => w.perCall))
    const ratio = libPerCall / rawPerCall
    progress(
      `${provider.name} memory: raw ${(rawPerCall / 1024).toFixed(1)} KiB per call in flight, effect-llm ${
        (libPerCall / 1024).toFixed(1)
      } KiB (medians of 3 alternating waves); heap before each effect-llm wave ${
        libs.map((w) => (w.before / 1024 / 1024).toFixed(1)).join(", ")
      } MiB`
    )
    progress(
      `${provider.name} memory: ${failures} of ${IN_FLIGHT * 8} calls failed; sockets still open when a wave began: ${
        lateSockets.join(", ")
      }; old / large-object space (MiB) when a wave began: ${spaces.join(", ")}`
    )
    record({
      name: `${provider.name} heap per call in flight, ${IN_FLIGHT} at once (x raw SDK)`,
      value: ratio,
      unit: "x",
      target: "<= 1.2",
      pass: ratio <= 1.2
    })
    // no leak: the heap an effect-llm wave starts from does not grow from wave to wave
    const growth = (libs[2]!.before - libs[0]!.before) / 1024 / 1024
    record({
      name: `${provider.name} heap growth over repeated waves of ${IN_FLIGHT} calls`,
      value: growth,
      unit: "MiB",
      target: "<= 2",
      pass: growth <= 2
    })
    await runtime.dispose()
  } finally {
    await emulator.stop()
  }
}

/**
 * What running any Effect `Stream` costs before its first element: `Stream.runDrain` of one chunk,
 * no I/O (the part of the stream rows no `Stream`-returning API can avoid).
 */
const streamRunFloor = async () => {
  const runtime = ManagedRuntime.make(Layer.empty)
  const run = Stream.runDrain(Stream.fromChunk(Chunk.of(1)))
  const ops = await opsPerCall(runtime, run, FOOTPRINT_CALLS)
  const bytes = await bytesPerCall((n) => runtime.runPromise(times(run, n)), FOOTPRINT_CALLS)
  progress(`Effect Stream run: ${ops.toFixed(0)} Effect operations, ${(bytes / 1024).toFixed(1)} KiB per run`)
  record({
    name: "Effect Stream run (runDrain of one chunk) Effect operations per run",
    value: ops,
    unit: "ops",
    target: "reference",
    pass: true
  })
  record({
    name: "Effect Stream run (runDrain of one chunk) bytes allocated per run",
    value: bytes / 1024,
    unit: "KiB",
    target: "reference",
    pass: true
  })
  await runtime.dispose()
}

const main = async () => {
  if (!(globalThis as { gc?: unknown }).gc) {
    progress("note: run with --expose-gc for the memory measurements (pnpm bench does)")
  }
  // the emulator announces limits a benchmark exceeds within seconds; scale them as a real account
  // with this throughput would have, so that learned rate limits do not (rightly) slow the client down
  const emulator = await startEmulator(["--rate-limit-scale", "1000"])
  if (process.argv.includes("--memory-only")) stacksToRun.length = 0
  // the answers the socket-free rows replay, captured while the emulator runs
  let replies = new Map<string, Replies>()
  try {
    replies = await captureAll(emulator)
    if (stacksToRun.length > 0 && wanted("Effect Stream run")) await streamRunFloor()
    for (const provider of providers) {
      if (stacksToRun.length === 0) continue
      const raw = provider.raw(emulator.url)
      const baseRuntime = ManagedRuntime.make(provider.layer(emulator.url))
      const base = await baseRuntime.runPromise(LanguageModel.LanguageModel)
      // the floor of any Effect wrapper: the raw call in `Effect.promise`, nothing else
      if (wanted(`${provider.name} generate Effect.promise`)) {
        progress(`${provider.name} generate — Effect.promise floor`)
        await latencyAndThroughput(
          `${provider.name} generate Effect.promise(raw SDK) reference`,
          raw.generate,
          baseRuntime as unknown as ManagedRuntime.ManagedRuntime<never, never>,
          Effect.promise(raw.generate),
          undefined
        )
      }
      // the floor of any Effect stream: the raw SDK's event stream read through `Stream.fromAsyncIterable`
      // and `Stream.runDrain`, nothing else (a `Stream` run has a fixed cost of its own)
      if (wanted(`${provider.name} stream Stream.fromAsyncIterable`)) {
        progress(`${provider.name} stream — Effect Stream floor`)
        await latencyAndThroughput(
          `${provider.name} stream Stream.fromAsyncIterable(raw SDK) reference`,
          raw.stream,
          baseRuntime as unknown as ManagedRuntime.ManagedRuntime<never, never>,
          Stream.runDrain(
            Stream.unwrap(Effect.map(Effect.promise(raw.events), (events) => Stream.fromAsyncIterable(events, String)))
          ),
          undefined
        )
      }
      for (const stack of stacksToRun) {
        const runtime = ManagedRuntime.make(stack.layer(provider.layer(emulator.url)))
        const model = await runtime.runPromise(LanguageModel.LanguageModel)
        if (stack.targets) {
          for (const op of opsOf(stack)) {
            if (!wanted(`${provider.name} ${op} ${stack.name}`)) continue
            progress(`${provider.name} ${op} — ${stack.name}`)
            await latencyAndThroughput(
              `${provider.name} ${op} ${stack.name}`,
              op === "generate" ? raw.generate : raw.stream,
              runtime as unknown as ManagedRuntime.ManagedRuntime<never, never>,
              callOf(model, op),
              // the `Stream` view is a reference: a `Stream` run alone costs more than the targets allow
              op === "Stream" ? undefined : stack.targets
            )
          }
        } else if (wanted(`${provider.name} ${stack.name}`)) {
          progress(`${provider.name} — ${stack.name}`)
          await cacheFigures({
            provider: provider.name,
            model,
            base,
            runtime,
            raw: raw.generate,
            record,
            request,
            rounds: ROUNDS,
            calls: SEQ_CALLS
          })
        }
        await runtime.dispose()
      }
      await baseRuntime.dispose()
    }
  } finally {
    await emulator.stop()
  }
  // after the networked rows (which then run without a long idle gap: a pooled connection idle for
  // a minute may be closed by the emulator just as the next call reuses it)
  for (const provider of providers) {
    // each of its rows is filtered by `--only` on its own label
    if (stacksToRun.length > 0) await socketFree(provider, replies.get(provider.name)!)
  }
  if ((globalThis as { gc?: unknown }).gc && only === undefined) {
    if (process.argv.includes("--memory-only")) {
      for (const provider of providers) await memory(provider)
    } else {
      // in a fresh process: the rows above leave tens of MiB of their own garbage and caches behind,
      // which made the heap between waves swing by ~5 MiB from one wave to the next
      results.push(...await memoryInFreshProcess())
    }
  }
  if (process.argv.includes("--memory-child")) {
    process.stdout.write(`${MEMORY_RESULTS}${JSON.stringify(results)}\n`)
    return
  }
  const file = writeResults(results)
  const failed = results.filter((r) => !r.pass)
  process.stdout.write(`\n${results.length} measurements written to ${file}; ${failed.length} missed their target\n`)
  for (const r of results) {
    process.stdout.write(`${r.pass ? "pass" : "MISS"}  ${r.name}: ${r.value.toFixed(3)} ${r.unit} (${r.target})\n`)
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
