/**
 * Measurement helpers for `pnpm bench`: an emulator in a child process (so the client process
 * measures only the client), interleaved rounds, medians, and the results file.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly target: string
  readonly pass: boolean
}

/** The workspace root (the benchmark runs from bench/ or, built, from bench/build/). */
export const root = ((): string => {
  let dir = import.meta.dirname
  while (!fs.existsSync(path.join(dir, "pnpm-workspace.yaml"))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error("bench: the workspace root (pnpm-workspace.yaml) was not found")
    dir = parent
  }
  return dir
})()

export interface EmulatorProcess {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts `pnpm emulator` as a child process on a free port and waits for its URL. */
export const startEmulator = (args: ReadonlyArray<string> = []): Promise<EmulatorProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(root, "packages/testing/src/bin/emulator.ts"), "--port", "0", ...args],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] }
    )
    let buffer = ""
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${buffer}`)), 30_000)
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(buffer)
      if (match) {
        clearTimeout(timer)
        child.stdout.removeAllListeners("data")
        child.stdout.resume()
        resolve({
          url: match[0],
          stop: () =>
            new Promise<void>((done) => {
              child.once("exit", () => done())
              child.kill("SIGTERM")
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}: ${buffer}`)))
  })

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const now = (): number => performance.now()

/**
 * Runs `a` and `b` in interleaved rounds (alternating which goes first) and returns the median of
 * each side's per-round measurement, and the medians of the per-round ratio (b / a) and difference
 * (b - a).
 */
export const interleave = async (
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>
): Promise<{ readonly a: number; readonly b: number; readonly ratio: number; readonly difference: number }> => {
  const as: Array<number> = []
  const bs: Array<number> = []
  const ratios: Array<number> = []
  const differences: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    let ra: number
    let rb: number
    if (round % 2 === 0) {
      ra = await a()
      rb = await b()
    } else {
      rb = await b()
      ra = await a()
    }
    as.push(ra)
    bs.push(rb)
    ratios.push(rb / ra)
    differences.push(rb - ra)
  }
  return { a: median(as), b: median(bs), ratio: median(ratios), difference: median(differences) }
}

export const progress = (line: string): void => {
  process.stderr.write(`  ${line}\n`)
}

export const writeResults = (results: ReadonlyArray<Result>): string => {
  const file = path.join(root, "bench", "results.json")
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n")
  return file
}

export const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) {
    g()
    g()
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Collects all the garbage there is: full collections with a turn of the event loop between them,
 * so that what waits for a `FinalizationRegistry` callback (undici registers its requests' signals)
 * is freed too — two collections in a row left several MiB of it, more in some waves than others.
 */
export const settleHeap = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  gc()
}

/**
 * `call` run `n` times in sequence: the Effect form of the raw side's `for` loop. (`Effect.repeatN`
 * drives a `Schedule`: about 1 µs and 2 operations per iteration that the raw loop does not pay.)
 */
export const times = <A, E, R>(call: Effect.Effect<A, E, R>, n: number): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let i = 0
    return Effect.whileLoop({ while: () => i++ < n, body: () => call, step: () => {} })
  })

/**
 * `calls` runs of `call` by `concurrency` workers (fibers) that each take the next run until none
 * is left: the Effect form of the raw side's workers. (`Effect.forEach` with `concurrency` forks a
 * fiber per element, which the raw side does not pay.)
 */
export const workers = <A, E, R>(
  call: Effect.Effect<A, E, R>,
  calls: number,
  concurrency: number
): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let next = 0
    const worker = Effect.whileLoop({ while: () => next++ < calls, body: () => call, step: () => {} })
    return Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
  })
