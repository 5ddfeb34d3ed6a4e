/**
 * `pnpm bench:ab [--base=<git ref>] [--only=<text>] [--rounds=N] [--calls=N]`: what a change does to the cost of
 * a call, told apart from this machine's drift. The same stacks are bundled from the working tree
 * and from the tree of `--base` (default `HEAD`, so: the uncommitted change), both answer from the
 * same captured emulator reply without sockets (`bench/replay.ts`), and run in one process in
 * interleaved rounds. It prints each side's client CPU per call and the median of the paired
 * per-round differences (head - base) with its interquartile range: a change is real when that
 * range does not straddle zero.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { setup } from "./ab-stacks.js"
import { bundle } from "./bundle.js"
import { median, now, progress, root } from "./harness.js"
import { captureFresh } from "./providers.js"

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const base = arg("base") ?? "HEAD"
const only = arg("only")
const rounds = Number(arg("rounds") ?? 21)
const CALLS = Number(arg("calls") ?? 2000)
const WARMUP_MS = 5000

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo)
}

const cpuPerCall = async (run: () => Promise<void>) => {
  const start = process.cpuUsage()
  await run()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / CALLS
}

const main = async () => {
  const git = (...args: ReadonlyArray<string>) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
  const commit = git("rev-parse", "--verify", `${base}^{commit}`)
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), "effect-llm-ab-"))
  git("worktree", "add", "--detach", tree, commit)
  try {
    const build = path.join(root, "bench", "build")
    await bundle(path.join(root, "bench", "ab-stacks.ts"), path.join(build, "ab-head.mjs"), root)
    await bundle(path.join(root, "bench", "ab-stacks.ts"), path.join(build, "ab-base.mjs"), tree)
    const replies = await captureFresh()
    const wanted = (label: string) => only === undefined || label.includes(only)
    type Setup = typeof setup
    const head = await ((await import(path.join(build, "ab-head.mjs"))).setup as Setup)(replies, CALLS, wanted)
    const baseRuns = await ((await import(path.join(build, "ab-base.mjs"))).setup as Setup)(replies, CALLS, wanted)
    process.stdout.write(`base ${base} (${commit.slice(0, 9)}) against the working tree; client CPU per call\n\n`)
    for (let i = 0; i < head.length; i++) {
      const a = baseRuns[i]!
      const b = head[i]!
      const warmUntil = now() + WARMUP_MS
      while (now() < warmUntil) {
        await a.run()
        await b.run()
      }
      const as: Array<number> = []
      const bs: Array<number> = []
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          as.push(await cpuPerCall(a.run))
          bs.push(await cpuPerCall(b.run))
        } else {
          bs.push(await cpuPerCall(b.run))
          as.push(await cpuPerCall(a.run))
        }
      }
      const differences = bs.map((x, j) => x - as[j]!)
      process.stdout.write(
        `${b.label.padEnd(56)} base ${median(as).toFixed(1).padStart(7)} us  head ${
          median(bs).toFixed(1).padStart(7)
        } us  head - base ${median(differences).toFixed(2).padStart(7)} us (IQR ${
          quantile(differences, 0.25).toFixed(2)
        } .. ${quantile(differences, 0.75).toFixed(2)})\n`
      )
      await a.dispose()
      await b.dispose()
    }
  } finally {
    git("worktree", "remove", "--force", tree)
    progress("done")
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
