import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"

/** @internal */
export interface TreeOptions {
  readonly allAttributes: boolean
}

type HrTime = readonly [number, number]

const nanos = (t: HrTime): number => t[0] * 1e9 + t[1]

const formatSeconds = (seconds: number): string =>
  seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`

const formatValue = (value: unknown): string => {
  if (Array.isArray(value)) return value.map(String).join(",")
  if (typeof value === "string") return value.length > 80 ? `${value.slice(0, 77)}...` : value
  return String(value)
}

const summary = (span: ReadableSpan, options: TreeOptions): string => {
  const a = span.attributes
  const parts: Array<string> = [span.name, formatSeconds(nanos(span.duration) / 1e9)]
  if (options.allAttributes) {
    for (const [k, v] of Object.entries(a)) parts.push(`${k}=${formatValue(v)}`)
    return parts.join("  ")
  }
  if (a["effect_llm.span.role"] === "attempt" && a["effect_llm.attempt"] !== undefined) {
    parts.push(`attempt ${a["effect_llm.attempt"]}`)
  }
  if (a["gen_ai.provider.name"] !== undefined) {
    const model = a["gen_ai.response.model"] ?? a["gen_ai.request.model"]
    parts.push(`${a["gen_ai.provider.name"]}/${model}`)
  }
  if (a["error.type"] !== undefined) parts.push(`error ${a["error.type"]}`)
  if (a["gen_ai.usage.input_tokens"] !== undefined) {
    parts.push(`tokens ${a["gen_ai.usage.input_tokens"]} in / ${a["gen_ai.usage.output_tokens"]} out`)
  }
  if (typeof a["gen_ai.response.time_to_first_chunk"] === "number") {
    parts.push(`first chunk ${formatSeconds(a["gen_ai.response.time_to_first_chunk"])}`)
  }
  if (typeof a["effect_llm.cost.usd"] === "number") parts.push(`$${a["effect_llm.cost.usd"].toFixed(6)}`)
  if (a["effect_llm.cache.status"] !== undefined) parts.push(`cache ${a["effect_llm.cache.status"]}`)
  if (a["effect_llm.tier"] !== undefined) parts.push(`tier ${a["effect_llm.tier"]}`)
  return parts.join("  ")
}

const describeEvent = (name: string, a: Record<string, unknown>): string | undefined => {
  switch (name) {
    case "effect_llm.attempt":
      return `attempt ${a["effect_llm.attempt"]}`
    case "effect_llm.retry":
      return `retry (attempt ${a["effect_llm.attempt"]}) in ${
        formatSeconds(Number(a["effect_llm.retry.delay_ms"]) / 1000)
      } after ${a["effect_llm.retry.reason"]}`
    case "effect_llm.fallback":
      return `fallback ${a["effect_llm.fallback.from.provider"]}/${a["effect_llm.fallback.from.model"]} -> ${
        a["effect_llm.fallback.to.provider"]
      }/${a["effect_llm.fallback.to.model"]} after ${a["effect_llm.fallback.reason"]}`
    case "effect_llm.cache.lookup":
      return `cache ${a["effect_llm.cache.status"]}`
    case "effect_llm.budget":
      return `budget ${a["effect_llm.budget.decision"]} ${a["effect_llm.budget.amount"]} ${
        a["effect_llm.budget.unit"]
      } (${a["effect_llm.budget.scope"]})`
    case "effect_llm.rate_limit.wait":
      return `waiting ${formatSeconds(Number(a["effect_llm.rate_limit.delay_ms"]) / 1000)} for a ${
        a["effect_llm.rate_limit.limit"]
      } slot`
    case "effect_llm.circuit.state_change":
      return `circuit ${a["effect_llm.circuit.from"]} -> ${a["effect_llm.circuit.to"]}`
    default:
      return undefined
  }
}

const eventLine = (span: ReadableSpan, event: ReadableSpan["events"][number], options: TreeOptions): string => {
  const offset = (nanos(event.time) - nanos(span.startTime)) / 1e9
  const attributes = event.attributes ?? {}
  const described = options.allAttributes ? undefined : describeEvent(event.name, attributes)
  const text = described ?? [
    event.name.replace(/^effect_llm\./, ""),
    ...Object.entries(attributes)
      .filter(([k]) => k !== "gen_ai.provider.name" && k !== "gen_ai.request.model")
      .map(([k, v]) => `${k.replace(/^effect_llm\./, "")}=${formatValue(v)}`)
  ].join(" ")
  return `* +${formatSeconds(Math.max(0, offset))} ${text}`
}

/** @internal */
export const renderTree = (spans: ReadonlyArray<ReadableSpan>, options: TreeOptions): string => {
  const byId = new Map<string, ReadableSpan>()
  for (const span of spans) byId.set(span.spanContext().spanId, span)
  const children = new Map<string, Array<ReadableSpan>>()
  const roots: Array<ReadableSpan> = []
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId
    if (parent !== undefined && byId.has(parent)) {
      const list = children.get(parent)
      if (list === undefined) children.set(parent, [span])
      else list.push(span)
    } else {
      roots.push(span)
    }
  }
  const byStart = (x: ReadableSpan, y: ReadableSpan) => nanos(x.startTime) - nanos(y.startTime)
  roots.sort(byStart)
  const lines: Array<string> = []
  const visit = (span: ReadableSpan, prefix: string, connector: string, childPrefix: string) => {
    lines.push(`${prefix}${connector}${summary(span, options)}`)
    const kids = (children.get(span.spanContext().spanId) ?? []).sort(byStart)
    // exceptions are already summarised by `error ...` on the span's line
    const events = span.events.filter((event) => event.name !== "exception")
    const hasKids = kids.length > 0
    for (const event of events) {
      lines.push(`${prefix}${childPrefix}${hasKids ? "│ " : "  "}${eventLine(span, event, options)}`)
    }
    kids.forEach((kid, i) => {
      const last = i === kids.length - 1
      visit(kid, prefix + childPrefix, last ? "└─ " : "├─ ", last ? "   " : "│  ")
    })
  }
  for (const root of roots) visit(root, "", "", "")
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
