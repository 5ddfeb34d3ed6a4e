/**
 * `pnpm bench:profile --a="<label>" --b="<label>" [--segments=N] [--top=N]`: where the CPU time that
 * one stack adds to another goes, per function. Both stacks (labels as `pnpm bench:ab` prints them,
 * e.g. "openai generate provider layer" and "openai generate resilience preset") answer from the same
 * captured emulator reply without sockets, and are profiled (V8's sampling profiler) in alternating
 * 1.5 s segments in one process, so the machine's drift falls on both. It prints each side's client
 * CPU per call, then each function's self time per call on both sides and the difference, largest
 * first. A sampled profile attributes inlined callees to their caller: read a row as "this function
 * and what V8 inlined into it", and trust differences of a few microseconds only when they repeat.
 */
import { Session } from "node:inspector/promises"
import { setup } from "./ab-stacks.js"
import { progress } from "./harness.js"
import { captureFresh } from "./providers.js"

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const labels = [arg("a"), arg("b")] as const
const segments = Number(arg("segments") ?? 8)
const top = Number(arg("top") ?? 40)
const CALLS = 500
const SEGMENT_MS = 1500
const WARMUP_MS = 4000

interface Side {
  readonly run: () => Promise<void>
  readonly self: Map<string, number>
  calls: number
  cpu: number
}

const main = async () => {
  if (labels[0] === undefined || labels[1] === undefined) {
    throw new Error(`bench:profile: give two stacks, --a="<label>" --b="<label>"`)
  }
  const replies = await captureFresh()
  const runs = await setup(replies, CALLS, (label) => label === labels[0] || label === labels[1])
  const sides: Array<Side> = labels.map((label) => {
    const found = runs.find((run) => run.label === label)
    if (found === undefined) {
      throw new Error(
        `bench:profile: no stack "${label}" (a label is "<provider> <generate|stream|Stream> <stack>", as bench:ab prints it)`
      )
    }
    return { run: found.run, self: new Map(), calls: 0, cpu: 0 }
  })
  const warmUntil = performance.now() + WARMUP_MS
  while (performance.now() < warmUntil) for (const side of sides) await side.run()

  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 40 })
  for (let segment = 0; segment < segments * 2; segment++) {
    const side = sides[segment % 2]!
    await session.post("Profiler.start")
    const cpuStart = process.cpuUsage()
    const until = performance.now() + SEGMENT_MS
    while (performance.now() < until) {
      await side.run()
      side.calls += CALLS
    }
    const used = process.cpuUsage(cpuStart)
    side.cpu += used.user + used.system
    const { profile } = await session.post("Profiler.stop")
    const samples = profile.samples ?? []
    const counts = new Map<number, number>()
    for (const id of samples) counts.set(id, (counts.get(id) ?? 0) + 1)
    const micros = (profile.endTime - profile.startTime) / Math.max(1, samples.length)
    for (const node of profile.nodes) {
      const count = counts.get(node.id)
      if (count === undefined) continue
      const frame = node.callFrame
      const file = frame.url
        .replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, "")
        .replace(/.*\/bench\/build\/profile\.mjs$/, "bench/build/profile.mjs")
      const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`
      side.self.set(key, (side.self.get(key) ?? 0) + count * micros)
    }
    progress(`segment ${segment + 1} of ${segments * 2}`)
  }
  session.disconnect()

  const [a, b] = sides as [Side, Side]
  const perCall = (side: Side, key: string) => (side.self.get(key) ?? 0) / side.calls
  process.stdout.write(
    `client CPU per call: a ${(a.cpu / a.calls).toFixed(1)} us, b ${(b.cpu / b.calls).toFixed(1)} us\n` +
      `a: ${labels[0]}\nb: ${
        labels[1]
      }\n\n   b - a        a        b  self time per call (us); effect-llm is bench/build/profile.mjs\n`
  )
  const keys = [...new Set([...a.self.keys(), ...b.self.keys()])]
  const rows = keys
    .map((key) => ({ key, a: perCall(a, key), b: perCall(b, key) }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
    .slice(0, top)
  for (const row of rows) {
    process.stdout.write(
      `${(row.b - row.a).toFixed(2).padStart(8)} ${row.a.toFixed(2).padStart(8)} ${
        row.b.toFixed(2).padStart(8)
      }  ${row.key}\n`
    )
  }
  for (const side of sides) await runs.find((run) => run.run === side.run)!.dispose()
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
