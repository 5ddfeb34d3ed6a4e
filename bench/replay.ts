/**
 * Socket-free calls for `pnpm bench`: one real answer of the emulator per provider and mode (JSON
 * and SSE), captured once and served again by a `fetch` that never opens a socket. The raw SDK and
 * effect-llm then do all their own work on a call (build the request, parse the answer, map it,
 * record it) without the network and the emulator, whose time varies far more than the library's:
 * what effect-llm adds to a call can be read in microseconds.
 */
import type { EmulatorProcess } from "./harness.js"

interface Reply {
  readonly status: number
  readonly headers: ReadonlyArray<[string, string]>
  readonly body: string
}

/** A provider's two answers: to a `generate` request and to a streamed one. */
export interface Replies {
  readonly json: Reply
  readonly sse: Reply
}

// hop-by-hop and length headers belong to the connection they came on, not to a replayed answer
const connectionHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "date"])

const capture = async (url: string, init: RequestInit): Promise<Reply> => {
  const response = await fetch(url, init)
  const body = await response.text()
  if (!response.ok) throw new Error(`bench replay: the emulator answered ${response.status}: ${body}`)
  const headers: Array<[string, string]> = []
  response.headers.forEach((value, name) => {
    if (!connectionHeaders.has(name)) headers.push([name, value])
  })
  return { status: response.status, headers, body }
}

/** Captures the emulator's answers to `body` at `path` (JSON, then streamed). */
export const captureReplies = async (
  emulator: EmulatorProcess,
  path: string,
  headers: Record<string, string>,
  body: Record<string, unknown>
): Promise<Replies> => {
  const init = (stream: boolean): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(stream ? { ...body, stream: true } : body)
  })
  return {
    json: await capture(`${emulator.url}${path}`, init(false)),
    sse: await capture(`${emulator.url}${path}`, init(true))
  }
}

/** A `fetch` that answers every request with the captured reply for its mode, at once. */
export const replayFetch = (replies: Replies): typeof fetch => {
  const answer = (reply: Reply) => new Response(reply.body, { status: reply.status, headers: [...reply.headers] })
  return (async (_input: unknown, init?: RequestInit) => {
    const streamed = typeof init?.body === "string" && init.body.includes("\"stream\":true")
    return answer(streamed ? replies.sse : replies.json)
  }) as typeof fetch
}
