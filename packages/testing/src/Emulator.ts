/**
 * A wire-compatible OpenAI / Anthropic emulator: a real HTTP server on 127.0.0.1 that speaks the
 * OpenAI Responses and Chat Completions APIs and the Anthropic Messages API (JSON and SSE), with
 * the count-tokens endpoints, request ids and realistic rate-limit headers. Faults are scripted per
 * request (a queue of steps, or an `x-emulator-step` header) or injected at a seeded rate, and
 * everything received is recorded for tests to assert on.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Emulator } from "@effect-llm/testing"
 *
 * const program = Effect.gen(function*() {
 *   const emulator = yield* Emulator.Emulator
 *   yield* emulator.script([{ _tag: "RateLimited", retryAfterMs: 20 }, { _tag: "Reply", text: "Hi!" }])
 *   // point `new OpenAI({ baseURL: emulator.openAiBaseUrl })` at it, then:
 *   const requests = yield* emulator.requests
 *   return requests.length
 * }).pipe(Effect.provide(Emulator.layer({ seed: 1 })))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import { EmulatorState } from "./internal/server.js"

/**
 * What the emulator does with one request.
 *
 * - `Reply`: a normal answer (text, chunks, finish reason, usage and served model can be set).
 *   `usage.input` counts all input tokens including cached and cache-write ones (Anthropic's wire
 *   `input_tokens` is sent as `input - cachedInput - cacheWrite`); `usage.output` includes
 *   `reasoning` (OpenAI only; Anthropic has no reasoning count and OpenAI no cache write).
 * - `RateLimited`: 429 with `retry-after` / `retry-after-ms` headers when given.
 * - `QuotaExhausted`: OpenAI 429 `insufficient_quota`; Anthropic 402 `billing_error`.
 * - `ServerError`: 500 (or 502 / 503). `Overloaded`: Anthropic 529; OpenAI 503 "overloaded".
 * - `ContextLength`: OpenAI 400 `context_length_exceeded`; Anthropic 400 "prompt is too long".
 * - `ContentFilter` / `Refusal`: a 200 answer that the provider marks as filtered / refused.
 * - `InvalidRequest`, `AuthenticationFailed`: 4xx with the provider's error body.
 * - `SlowFirstByte`: waits before anything is sent, then applies `then` (or the default answer).
 * - `ChunkDelay`: streams with a delay between chunks (JSON: the whole answer waits delay x chunks).
 * - `Stall`: stream sends N chunks and then nothing, socket open (JSON: headers, then nothing).
 * - `Cut`: stream sends N chunks then destroys the socket (JSON: half the body, then destroyed).
 * - `StreamError`: stream sends N chunks then the provider's SSE error event (OpenAI Responses:
 *   `event: error`; Chat Completions: `data: {"error": ...}`; Anthropic: `event: error`
 *   `overloaded_error`). JSON: a 500 server error.
 * - `Reset`: the socket is destroyed before any response byte.
 * - `Malformed`: 200 with an undecodable JSON body, or an SSE event whose data is not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type Step =
  | {
    readonly _tag: "Reply"
    readonly text?: string
    readonly chunks?: ReadonlyArray<string>
    readonly finishReason?: "stop" | "length"
    readonly usage?: Partial<
      { input: number; output: number; cachedInput: number; cacheWrite: number; reasoning: number }
    >
    readonly model?: string
  }
  | {
    readonly _tag: "RateLimited"
    readonly retryAfterSeconds?: number
    readonly retryAfterMs?: number
    readonly limit?: "requests" | "tokens"
  }
  | { readonly _tag: "QuotaExhausted" }
  | { readonly _tag: "ServerError"; readonly status?: 500 | 502 | 503 }
  | { readonly _tag: "Overloaded" }
  | { readonly _tag: "ContextLength"; readonly limit?: number; readonly requested?: number }
  | { readonly _tag: "ContentFilter" }
  | { readonly _tag: "Refusal"; readonly text?: string }
  | { readonly _tag: "InvalidRequest"; readonly status?: 400 | 404 | 409 | 422; readonly param?: string }
  | { readonly _tag: "AuthenticationFailed"; readonly status?: 401 | 403 }
  | { readonly _tag: "SlowFirstByte"; readonly delayMs: number; readonly then?: Step }
  | { readonly _tag: "ChunkDelay"; readonly delayMs: number; readonly text?: string }
  | { readonly _tag: "Stall"; readonly afterChunks: number }
  | { readonly _tag: "Cut"; readonly afterChunks: number }
  | { readonly _tag: "StreamError"; readonly afterChunks: number }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Malformed" }

/**
 * One request the emulator received.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** The request id the emulator answered with. */
  readonly id: string
  readonly provider: "openai" | "anthropic"
  readonly api: "responses" | "chat-completions" | "messages" | "count-tokens"
  readonly path: string
  readonly model: string
  readonly stream: boolean
  readonly body: unknown
  /** Request headers; `authorization` / `x-api-key` values are replaced by "<redacted>". */
  readonly headers: Record<string, string>
  /** The scripted step or chaos fault applied, if any. */
  readonly step: Step | undefined
  /** The client went away before the response finished (abort / interrupt). */
  readonly disconnected: boolean
  /** The whole response was sent. */
  readonly completed: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Port to listen on (default: a random free port). */
  readonly port?: number
  /** Seed of the chaos generator (default 1). */
  readonly seed?: number
  /** Seeded random faults on that share of unscripted requests. */
  readonly chaos?: { readonly rate: number; readonly steps: ReadonlyArray<Step> }
  /** Delay before answering, in milliseconds (default 0). */
  readonly latencyMs?: number
  /**
   * Multiplies the per-minute limits the rate-limit headers announce (default 1: OpenAI 10,000
   * requests and 2M tokens, Anthropic 4,000 requests; benchmarks that send more use a larger scale,
   * or clients that learn from the headers slow down, as they should).
   */
  readonly rateLimitScale?: number
  /** Keep each response open this long after its headers, in milliseconds (default 0). */
  readonly holdMs?: number
  /** How many chunks a default streamed answer is split into (default 6). */
  readonly defaultChunks?: number
  /** Record requests (default true; turn off for long benchmarks). */
  readonly record?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** "http://127.0.0.1:PORT" */
  readonly url: string
  /** `${url}/v1`: the `baseURL` for `new OpenAI(...)`. */
  readonly openAiBaseUrl: string
  /** `url`: the `baseURL` for `new Anthropic(...)`. */
  readonly anthropicBaseUrl: string
  /**
   * Queues steps consumed one per request (FIFO); with `model`, only requests for that model
   * consume them (they are served before the general queue). When the queues are empty a request
   * gets the default answer, or a seeded chaos fault. Count-tokens requests never consume steps.
   */
  readonly script: (steps: ReadonlyArray<Step>, options?: { readonly model?: string }) => Effect.Effect<void>
  /** Everything received, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /**
   * Waits (without polling, on any clock) for the first recorded request, present or future, that
   * satisfies `predicate`, e.g. `awaitRequest((r) => r.disconnected)` after interrupting a call:
   * the server sees the client go away a moment after the interruption.
   */
  readonly awaitRequest: (predicate: (request: RecordedRequest) => boolean) => Effect.Effect<RecordedRequest>
  /** Clears scripts and records, and re-seeds the chaos generator. */
  readonly reset: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Emulator extends Context.Tag("@effect-llm/testing/Emulator")<Emulator, Service>() {}

/**
 * The faults `--chaos` injects when no steps are given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultChaosSteps: ReadonlyArray<Step> = [
  { _tag: "RateLimited", retryAfterMs: 200 },
  { _tag: "ServerError", status: 500 },
  { _tag: "ServerError", status: 503 },
  { _tag: "Overloaded" },
  { _tag: "SlowFirstByte", delayMs: 300 },
  { _tag: "ChunkDelay", delayMs: 50 },
  { _tag: "Cut", afterChunks: 2 },
  { _tag: "Reset" }
]

/**
 * Starts an emulator; it stops (and drops every open connection) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state = new EmulatorState({
      seed: options.seed ?? 1,
      chaos: options.chaos,
      latencyMs: options.latencyMs ?? 0,
      rateLimitScale: options.rateLimitScale ?? 1,
      holdMs: options.holdMs ?? 0,
      defaultChunks: Math.max(1, options.defaultChunks ?? 6),
      record: options.record ?? true
    })
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: options.port ?? 0, host: "127.0.0.1" })
    // runs before the server's own close: stalled / held responses would keep it open forever
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        state.closing = true
        nodeServer.closeAllConnections()
      })
    )
    const app = Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) =>
        Effect.async<HttpServerResponse.HttpServerResponse>((resume) => {
          const req = NodeHttpServerRequest.toIncomingMessage(request)
          const res = NodeHttpServerRequest.toServerResponse(request)
          // the response is written on the raw objects; the platform sees it ended and does nothing
          res.once("close", () => resume(Effect.succeed(HttpServerResponse.empty())))
          state.handle(req, res).catch(() => {
            if (!res.headersSent) {
              res.writeHead(500, { "content-type": "application/json" })
              res.end("{\"error\":{\"message\":\"emulator failure\",\"type\":\"server_error\"}}")
            } else {
              req.socket.destroy()
            }
          })
        })
    )
    yield* server.serve(app).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const url = `http://127.0.0.1:${port}`
    return Emulator.of({
      url,
      openAiBaseUrl: `${url}/v1`,
      anthropicBaseUrl: url,
      script: (steps, scriptOptions) => Effect.sync(() => state.script(steps, scriptOptions?.model)),
      requests: Effect.sync(() => state.snapshot()),
      awaitRequest: (predicate) =>
        Effect.async<RecordedRequest>((resume) => {
          const cancel = state.watch(predicate, (record) => resume(Effect.succeed(record)))
          return Effect.sync(cancel)
        }),
      reset: Effect.sync(() => state.reset())
    })
  }).pipe(Effect.orDie)

/**
 * The emulator as a scoped layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Emulator> => Layer.scoped(Emulator, make(options))
