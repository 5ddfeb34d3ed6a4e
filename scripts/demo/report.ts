/**
 * The demo's call table: every call it makes, with latency, tokens, cost and outcome.
 */
import type { Completion } from "@effect-llm/core"
import { Effect } from "effect"

export interface Row {
  readonly label: string
  readonly provider: string
  readonly model: string
  readonly millis: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number | undefined
  readonly outcome: string
  readonly cache: string
  readonly attempts: number
}

export const rows: Array<Row> = []

export const say = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

/** Runs one call, records a row, and reports progress as it goes. */
export const track = <E extends { readonly _tag: string; readonly provider?: string; readonly model?: string }, R>(
  label: string,
  call: Effect.Effect<Completion.Completion, E, R>
): Effect.Effect<Completion.Completion, E, R> =>
  Effect.gen(function*() {
    const start = performance.now()
    return yield* call.pipe(
      Effect.tap((c) =>
        Effect.sync(() => {
          // a cache hit spent nothing: its stored usage and cost are what it saved (as the ledger records it)
          const hit = c.cache === "hit"
          rows.push({
            label,
            provider: c.provider,
            model: c.servedModel,
            millis: performance.now() - start,
            inputTokens: hit ? 0 : c.usage.inputTokens,
            outputTokens: hit ? 0 : c.usage.outputTokens,
            costUsd: hit && c.costUsd !== undefined ? 0 : c.costUsd,
            outcome: c.attempts.length > 1
              ? c.attempts.map((a) => `${a.model}:${a.outcome}`).join(" > ")
              : hit && c.costUsd !== undefined
              ? `ok (saved $${c.costUsd.toFixed(6)})`
              : "ok",
            cache: c.cache ?? "-",
            attempts: c.attempts.length
          })
        })
      ),
      Effect.tapError((e) =>
        Effect.sync(() =>
          rows.push({
            label,
            provider: e.provider ?? "-",
            model: e.model ?? "-",
            millis: performance.now() - start,
            inputTokens: 0,
            outputTokens: 0,
            costUsd: undefined,
            outcome: e._tag,
            cache: "-",
            attempts: 0
          })
        )
      )
    )
  })

const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s.padEnd(n))
const lpad = (s: string, n: number) => s.padStart(n)

export const table = (): string => {
  const header = `${pad("call", 30)} ${pad("provider/model", 34)} ${lpad("ms", 7)} ${lpad("in", 6)} ${lpad("out", 6)} ${
    lpad("cost $", 10)
  } ${pad("cache", 6)} outcome`
  const lines = rows.map((r) =>
    `${pad(r.label, 30)} ${pad(`${r.provider}/${r.model}`, 34)} ${lpad(r.millis.toFixed(0), 7)} ${
      lpad(String(r.inputTokens), 6)
    } ${lpad(String(r.outputTokens), 6)} ${lpad(r.costUsd === undefined ? "-" : r.costUsd.toFixed(6), 10)} ${
      pad(r.cache, 6)
    } ${r.outcome}`
  )
  const totalIn = rows.reduce((n, r) => n + r.inputTokens, 0)
  const totalOut = rows.reduce((n, r) => n + r.outputTokens, 0)
  const totalCost = rows.reduce((n, r) => n + (r.costUsd ?? 0), 0)
  const footer = `${pad(`${rows.length} calls`, 30)} ${pad("", 34)} ${lpad("", 7)} ${lpad(String(totalIn), 6)} ${
    lpad(String(totalOut), 6)
  } ${lpad(totalCost.toFixed(6), 10)}`
  const rule = "-".repeat(header.length)
  return [header, rule, ...lines, rule, footer].join("\n")
}
