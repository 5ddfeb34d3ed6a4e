/**
 * The emulator's request handling on the raw Node request / response (needed for resets, cuts and
 * disconnect detection). Plain callbacks and timers: it is a real server on the real clock.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { RecordedRequest, Step } from "../Emulator.js"
import type { Answer, Finish, Usage, Wire } from "./answer.js"
import * as AnthropicMessages from "./anthropicMessages.js"
import { errorAnswer, isErrorStep, type Provider } from "./faults.js"
import * as OpenAiChat from "./openAiChat.js"
import * as OpenAiResponses from "./openAiResponses.js"
import { mulberry32 } from "./prng.js"
import * as Text from "./text.js"

/** @internal */
export type Api = RecordedRequest["api"]

/** @internal */
export interface ResolvedOptions {
  readonly seed: number
  readonly chaos: { readonly rate: number; readonly steps: ReadonlyArray<Step> } | undefined
  readonly latencyMs: number
  readonly rateLimitScale: number
  readonly holdMs: number
  readonly defaultChunks: number
  readonly record: boolean
}

interface MutableRecord {
  id: string
  provider: Provider
  api: Api
  path: string
  model: string
  stream: boolean
  body: unknown
  headers: Record<string, string>
  step: Step | undefined
  disconnected: boolean
  completed: boolean
}

interface Route {
  readonly provider: Provider
  readonly api: Api
  readonly wire: Wire | undefined
  readonly prompt: (body: Record<string, unknown>) => Text.Prompt
  readonly maxTokens: (body: Record<string, unknown>) => number | undefined
  readonly idPrefix: string
}

const num = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

const routes: Record<string, Route> = {
  "/v1/responses": {
    provider: "openai",
    api: "responses",
    wire: OpenAiResponses.wire,
    prompt: Text.responsesPrompt,
    maxTokens: (b) => num(b.max_output_tokens),
    idPrefix: "resp_"
  },
  "/v1/chat/completions": {
    provider: "openai",
    api: "chat-completions",
    wire: OpenAiChat.wire,
    prompt: Text.chatPrompt,
    maxTokens: (b) => num(b.max_completion_tokens) ?? num(b.max_tokens),
    idPrefix: "chatcmpl-"
  },
  "/v1/messages": {
    provider: "anthropic",
    api: "messages",
    wire: AnthropicMessages.wire,
    prompt: Text.anthropicPrompt,
    maxTokens: (b) => num(b.max_tokens),
    idPrefix: "msg_"
  },
  "/v1/responses/input_tokens": {
    provider: "openai",
    api: "count-tokens",
    wire: undefined,
    prompt: Text.responsesPrompt,
    maxTokens: () => undefined,
    idPrefix: ""
  },
  "/v1/messages/count_tokens": {
    provider: "anthropic",
    api: "count-tokens",
    wire: undefined,
    prompt: Text.anthropicPrompt,
    maxTokens: () => undefined,
    idPrefix: ""
  }
}

const WINDOW_MS = 60_000
const LIMITS = {
  openai: { requests: 10_000, tokens: 2_000_000 },
  anthropic: { requests: 4_000, input: 2_000_000, output: 400_000 }
} as const

const scaled = <L extends Record<string, number>>(limits: L, scale: number): L => {
  if (scale === 1) return limits
  const out: Record<string, number> = {}
  for (const key in limits) out[key] = Math.round(limits[key]! * scale)
  return out as L
}

interface Window {
  start: number
  requests: number
  input: number
  output: number
}

const REDACTED = new Set(["authorization", "x-api-key", "api-key", "proxy-authorization"])

const datedModel = (provider: Provider, model: string): string => {
  if (/\d{4}-\d{2}-\d{2}$/.test(model) || /\d{8}$/.test(model)) return model
  return provider === "openai" ? `${model}-2026-08-07` : `${model}-20260807`
}

const formatOpenAiReset = (ms: number): string => {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${Math.round(seconds * 100) / 100}s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes}m${Math.round(seconds - minutes * 60)}s`
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/** @internal */
export class EmulatorState {
  readonly options: ResolvedOptions
  queue: Array<Step> = []
  modelQueues = new Map<string, Array<Step>>()
  records: Array<MutableRecord> = []
  random: () => number
  counter = 0
  windows: Record<Provider, Window>
  closing = false
  /** Waiters of `awaitRequest`, checked whenever a record changes. */
  watchers = new Set<(record: RecordedRequest) => void>()

  constructor(options: ResolvedOptions) {
    this.options = options
    this.random = mulberry32(options.seed)
    const now = Date.now()
    this.windows = {
      openai: { start: now, requests: 0, input: 0, output: 0 },
      anthropic: { start: now, requests: 0, input: 0, output: 0 }
    }
  }

  script(steps: ReadonlyArray<Step>, model: string | undefined): void {
    if (model === undefined) {
      for (const step of steps) this.queue.push(step)
      return
    }
    let queue = this.modelQueues.get(model)
    if (queue === undefined) {
      queue = []
      this.modelQueues.set(model, queue)
    }
    for (const step of steps) queue.push(step)
  }

  private notify(record: MutableRecord): void {
    if (this.watchers.size === 0) return
    const snapshot = { ...record }
    for (const watcher of this.watchers) watcher(snapshot)
  }

  /** Calls `onMatch` once with the first record (present or future) that satisfies `predicate`. */
  watch(predicate: (record: RecordedRequest) => boolean, onMatch: (record: RecordedRequest) => void): () => void {
    for (const record of this.records) {
      if (predicate(record)) {
        onMatch({ ...record })
        return () => {}
      }
    }
    const watcher = (record: RecordedRequest) => {
      if (predicate(record)) {
        this.watchers.delete(watcher)
        onMatch(record)
      }
    }
    this.watchers.add(watcher)
    return () => {
      this.watchers.delete(watcher)
    }
  }

  reset(): void {
    this.queue = []
    this.modelQueues = new Map()
    this.records = []
    this.random = mulberry32(this.options.seed)
  }

  snapshot(): ReadonlyArray<RecordedRequest> {
    const out: Array<RecordedRequest> = []
    for (const record of this.records) out.push({ ...record })
    return out
  }

  private nextStep(model: string): Step | undefined {
    const queue = this.modelQueues.get(model)
    if (queue !== undefined && queue.length > 0) return queue.shift()
    if (this.queue.length > 0) return this.queue.shift()
    const chaos = this.options.chaos
    if (chaos !== undefined && chaos.rate > 0 && chaos.steps.length > 0 && this.random() < chaos.rate) {
      return chaos.steps[Math.floor(this.random() * chaos.steps.length)]
    }
    return undefined
  }

  private rateLimitHeaders(
    provider: Provider,
    requestId: string,
    inputTokens: number,
    step: Step | undefined
  ): Record<string, string> {
    const now = Date.now()
    const window = this.windows[provider]
    if (now - window.start >= WINDOW_MS) {
      window.start = now
      window.requests = 0
      window.input = 0
      window.output = 0
    }
    window.requests++
    window.input += inputTokens
    const windowResetMs = window.start + WINDOW_MS - now
    const limited = step !== undefined && step._tag === "RateLimited" ? step : undefined
    const retryMs = limited === undefined
      ? undefined
      : limited.retryAfterMs ?? (limited.retryAfterSeconds !== undefined ? limited.retryAfterSeconds * 1000 : 1000)
    if (provider === "openai") {
      const limits = scaled(LIMITS.openai, this.options.rateLimitScale)
      const requestsLimited = limited !== undefined && (limited.limit ?? "requests") === "requests"
      const tokensLimited = limited !== undefined && limited.limit === "tokens"
      return {
        "x-request-id": requestId,
        "openai-version": "2020-10-01",
        "openai-organization": "emulator",
        "openai-processing-ms": String(this.options.latencyMs),
        "x-ratelimit-limit-requests": String(limits.requests),
        "x-ratelimit-remaining-requests": String(requestsLimited ? 0 : Math.max(0, limits.requests - window.requests)),
        "x-ratelimit-reset-requests": formatOpenAiReset(requestsLimited ? retryMs! : windowResetMs),
        "x-ratelimit-limit-tokens": String(limits.tokens),
        "x-ratelimit-remaining-tokens": String(tokensLimited ? 0 : Math.max(0, limits.tokens - window.input)),
        "x-ratelimit-reset-tokens": formatOpenAiReset(tokensLimited ? retryMs! : windowResetMs)
      }
    }
    const limits = scaled(LIMITS.anthropic, this.options.rateLimitScale)
    const requestsLimited = limited !== undefined && (limited.limit ?? "requests") === "requests"
    const tokensLimited = limited !== undefined && limited.limit === "tokens"
    const reset = rfc3339(now + windowResetMs)
    const limitedReset = retryMs === undefined ? reset : rfc3339(now + retryMs)
    const inputRemaining = tokensLimited ? 0 : Math.max(0, limits.input - window.input)
    const outputRemaining = Math.max(0, limits.output - window.output)
    return {
      "request-id": requestId,
      "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
      "anthropic-ratelimit-requests-limit": String(limits.requests),
      "anthropic-ratelimit-requests-remaining": String(
        requestsLimited ? 0 : Math.max(0, limits.requests - window.requests)
      ),
      "anthropic-ratelimit-requests-reset": requestsLimited ? limitedReset : reset,
      "anthropic-ratelimit-tokens-limit": String(limits.input + limits.output),
      "anthropic-ratelimit-tokens-remaining": String(tokensLimited ? 0 : inputRemaining + outputRemaining),
      "anthropic-ratelimit-tokens-reset": tokensLimited ? limitedReset : reset,
      "anthropic-ratelimit-input-tokens-limit": String(limits.input),
      "anthropic-ratelimit-input-tokens-remaining": String(inputRemaining),
      "anthropic-ratelimit-input-tokens-reset": tokensLimited ? limitedReset : reset,
      "anthropic-ratelimit-output-tokens-limit": String(limits.output),
      "anthropic-ratelimit-output-tokens-remaining": String(outputRemaining),
      "anthropic-ratelimit-output-tokens-reset": reset
    }
  }

  private nextRequestId(): string {
    return `req_emu${(++this.counter).toString(16).padStart(12, "0")}`
  }

  /** Handles one request; resolves when the handling is over (the response may stay open: Stall). */
  async handle(req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? "/"
    const q = rawUrl.indexOf("?")
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
    const route = req.method === "POST" ? routes[path] : undefined
    if (route === undefined) {
      const body = JSON.stringify({ error: { message: `Unknown route ${req.method} ${path}`, type: "not_found" } })
      res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      res.end(body)
      return
    }
    const text = await readBody(req)
    let body: Record<string, unknown>
    try {
      const parsed = JSON.parse(text)
      body = parsed !== null && typeof parsed === "object" ? parsed : {}
    } catch {
      body = {}
    }
    const model = typeof body.model === "string" ? body.model : "unknown"
    const stream = body.stream === true && route.api !== "count-tokens"

    // step: header > per-model queue > queue > chaos
    let step: Step | undefined
    const stepHeader = req.headers["x-emulator-step"]
    if (typeof stepHeader === "string" && stepHeader.length > 0) {
      step = parseStep(stepHeader)
      if (step === undefined) {
        const message = `x-emulator-step is not a JSON step: ${stepHeader.slice(0, 200)}`
        const error = route.provider === "openai"
          ? { error: { message, type: "invalid_request_error", param: "x-emulator-step", code: null } }
          : { type: "error", error: { type: "invalid_request_error", message } }
        return this.json(res, 400, {}, error)
      }
    } else if (route.api !== "count-tokens") {
      step = this.nextStep(model)
    }

    const requestId = this.nextRequestId()
    const record: MutableRecord = {
      id: requestId,
      provider: route.provider,
      api: route.api,
      path,
      model,
      stream,
      body,
      headers: redactHeaders(req.headers),
      step,
      disconnected: false,
      completed: false
    }
    if (this.options.record) {
      this.records.push(record)
      this.notify(record)
    }

    let serverClosed = false
    let closed = false
    res.once("finish", () => {
      record.completed = true
      this.notify(record)
    })
    // waits end early when the response closes, so no timer outlives its request
    let timer: ReturnType<typeof setTimeout> | undefined
    let wake: (() => void) | undefined
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        wake = resolve
        timer = setTimeout(resolve, ms)
      })
    res.once("close", () => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      if (wake !== undefined) wake()
      if (!record.completed && !serverClosed && !this.closing) {
        record.disconnected = true
        this.notify(record)
      }
    })
    const destroy = () => {
      serverClosed = true
      req.socket.destroy()
    }

    const prompt = route.prompt(body)
    const inputTokens = Text.estimateTokens(prompt.chars)
    const headers = this.rateLimitHeaders(route.provider, requestId, inputTokens, step)

    if (this.options.latencyMs > 0) {
      await sleep(this.options.latencyMs)
      if (closed) return
    }

    while (step !== undefined && step._tag === "SlowFirstByte") {
      await sleep(step.delayMs)
      if (closed) return
      step = step.then
    }

    if (step !== undefined && step._tag === "Reset") {
      destroy()
      return
    }

    if (step !== undefined && isErrorStep(step)) {
      const answer = errorAnswer(route.provider, step, { model, requestId, inputTokens })
      return this.json(res, answer.status, { ...headers, ...answer.headers }, answer.body)
    }

    if (route.api === "count-tokens") {
      const out = route.provider === "openai"
        ? OpenAiResponses.inputTokens(inputTokens)
        : AnthropicMessages.countTokens(inputTokens)
      return this.json(res, 200, headers, out)
    }

    const wire = route.wire!
    if (step !== undefined && step._tag === "Malformed") {
      if (stream) {
        res.writeHead(200, { ...headers, ...SSE_HEADERS })
        res.end(wire.malformedEvent)
      } else {
        const garbage = `{"id":"${route.idPrefix}malformed","object":`
        res.writeHead(200, {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(garbage)
        })
        res.end(garbage)
      }
      return
    }

    const answer = this.answer(route, body, prompt, inputTokens, model, step, stream, requestId)

    if (!stream) {
      if (step !== undefined && step._tag === "StreamError") {
        const error = errorAnswer(route.provider, { _tag: "ServerError" }, { model, requestId, inputTokens })
        return this.json(res, error.status, headers, error.body)
      }
      if (step !== undefined && step._tag === "Stall") {
        res.writeHead(200, { ...headers, "content-type": "application/json" })
        res.flushHeaders()
        return
      }
      const payload = JSON.stringify(wire.json(answer))
      if (step !== undefined && step._tag === "Cut") {
        res.writeHead(200, {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload)
        })
        res.write(payload.slice(0, Math.floor(payload.length / 2)), () => destroy())
        return
      }
      if (step !== undefined && step._tag === "ChunkDelay") {
        const count = answer.chunks.length > 0
          ? answer.chunks.length
          : Text.chunkText(answer.text, this.options.defaultChunks).length
        await sleep(step.delayMs * Math.max(1, count))
        if (closed) return
      }
      if (this.options.holdMs > 0) {
        res.writeHead(200, {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload)
        })
        res.flushHeaders()
        await sleep(this.options.holdMs)
        if (closed) return
        res.end(payload)
        return
      }
      res.writeHead(200, {
        ...headers,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload)
      })
      res.end(payload)
      return
    }

    // streaming
    res.writeHead(200, { ...headers, ...SSE_HEADERS })
    const chunks = answer.chunks
    const stopAfter =
      step !== undefined && (step._tag === "Stall" || step._tag === "Cut" || step._tag === "StreamError")
        ? Math.max(0, Math.min(step.afterChunks, chunks.length))
        : chunks.length
    const delay = step !== undefined && step._tag === "ChunkDelay" ? step.delayMs : 0
    const hold = this.options.holdMs

    if (
      delay <= 0 && hold <= 0 && stopAfter === chunks.length &&
      (step === undefined || step._tag !== "Stall" && step._tag !== "Cut" && step._tag !== "StreamError")
    ) {
      let out = wire.streamStart(answer)
      for (let i = 0; i < chunks.length; i++) out += wire.streamDelta(answer, chunks[i]!, i)
      res.end(out + wire.streamEnd(answer, chunks.length))
      return
    }

    const cut = step !== undefined && step._tag === "Cut"
    // the last bytes before a cut are written with a callback, so they reach the client first
    const write = (data: string, last: boolean) => {
      if (cut && last) res.write(data, () => destroy())
      else res.write(data)
    }
    write(wire.streamStart(answer), stopAfter === 0)
    if (hold > 0) {
      await sleep(hold)
      if (closed) return
    }
    for (let i = 0; i < stopAfter; i++) {
      if (i > 0 && delay > 0) {
        await sleep(delay)
        if (closed) return
      }
      write(wire.streamDelta(answer, chunks[i]!, i), i === stopAfter - 1)
    }
    if (step !== undefined) {
      switch (step._tag) {
        case "Stall":
        case "Cut":
          return
        case "StreamError":
          res.end(wire.streamError(answer, stopAfter))
          return
      }
    }
    if (delay > 0 && chunks.length > 0) {
      await sleep(delay)
      if (closed) return
    }
    res.end(wire.streamEnd(answer, chunks.length))
  }

  private json(res: Http.ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
    const payload = JSON.stringify(body)
    res.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload)
    })
    res.end(payload)
  }

  private answer(
    route: Route,
    body: Record<string, unknown>,
    prompt: Text.Prompt,
    inputTokens: number,
    model: string,
    step: Step | undefined,
    stream: boolean,
    requestId: string
  ): Answer {
    const maxTokens = route.maxTokens(body)
    let text: string
    let chunks: ReadonlyArray<string> | undefined
    let finish: Finish = "stop"
    let servedModel = datedModel(route.provider, model)
    let usage: Partial<Usage> | undefined
    if (step !== undefined && step._tag === "Reply") {
      if (step.chunks !== undefined) {
        chunks = step.chunks
        text = step.chunks.join("")
      } else if (step.text !== undefined) {
        text = step.text
      } else {
        const generated = Text.defaultText(prompt, maxTokens)
        text = generated.text
        if (generated.truncated) finish = "length"
      }
      if (step.finishReason !== undefined) finish = step.finishReason
      if (step.model !== undefined) servedModel = step.model
      usage = step.usage
    } else if (step !== undefined && step._tag === "Refusal") {
      text = step.text ?? "I'm sorry, but I can't help with that."
      finish = "refusal"
    } else if (step !== undefined && step._tag === "ContentFilter") {
      const generated = Text.defaultText(prompt, maxTokens)
      text = generated.text.split(" ").slice(0, 3).join(" ")
      finish = "content-filter"
    } else if (step !== undefined && step._tag === "ChunkDelay" && step.text !== undefined) {
      text = step.text
    } else {
      const generated = Text.defaultText(prompt, maxTokens)
      text = generated.text
      if (generated.truncated) finish = "length"
    }
    const reasoning = usage?.reasoning ?? 0
    const output = usage?.output ?? Text.countWords(text) + reasoning
    this.windows[route.provider].output += output
    const suffix = requestId.slice(4)
    return {
      responseId: route.idPrefix + suffix,
      model: servedModel,
      text,
      chunks: chunks ?? (stream ? Text.chunkText(text, this.options.defaultChunks) : []),
      finish,
      usage: {
        input: usage?.input ?? inputTokens,
        output,
        cachedInput: usage?.cachedInput ?? 0,
        cacheWrite: usage?.cacheWrite ?? 0,
        reasoning
      },
      created: Math.floor(Date.now() / 1000),
      includeUsage: route.api === "chat-completions"
        ? stream
          ? (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
          : true
        : true,
      maxTokens
    }
  }
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache"
}

const parseStep = (header: string): Step | undefined => {
  try {
    const parsed: unknown = JSON.parse(header)
    return parsed !== null && typeof parsed === "object" && typeof (parsed as { _tag?: unknown })._tag === "string"
      ? parsed as Step
      : undefined
  } catch {
    return undefined
  }
}

const redactHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key in headers) {
    const value = headers[key]
    if (value === undefined) continue
    out[key] = REDACTED.has(key) ? "<redacted>" : Array.isArray(value) ? value.join(", ") : value
  }
  return out
}
