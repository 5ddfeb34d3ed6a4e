import type { LanguageModel, LlmError } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { Emulator, StreamCalls } from "@effect-llm/testing"
import { assert } from "@effect/vitest"
import { Duration, Effect, Exit, Redacted } from "effect"
import * as AnthropicClient from "../src/AnthropicClient.js"
import * as AnthropicLanguageModel from "../src/AnthropicLanguageModel.js"

/** A fake key: it must never show up in an error, a log or a span. */
export const apiKey = "sk-ant-api03-EMULATOR-SECRET-c0ffee-0123456789abcdef"

/** A model the SDK knows (no deprecation warning). */
export const MODEL = "claude-haiku-4-5"

export interface Env {
  readonly emulator: Emulator.Service
  readonly client: AnthropicClient.Service
  readonly model: LanguageModel.With<LlmError.ProviderError>
}

/** Runs `f` against a fresh emulator and a real SDK client pointed at it over loopback. */
export const withEmulator = <A, E>(
  f: (env: Env) => Effect.Effect<A, E>,
  options?: {
    readonly client?: Partial<AnthropicClient.Options>
    readonly model?: AnthropicLanguageModel.Options
    readonly emulator?: Emulator.Options
  }
): Effect.Effect<A, E | AnthropicClient.AnthropicConfigError> =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    const client = yield* AnthropicClient.make({
      apiKey: Redacted.make(apiKey),
      baseUrl: emulator.anthropicBaseUrl,
      ...options?.client
    })
    const model = AnthropicLanguageModel.fromClient(client, MODEL, options?.model)
    return yield* f({ emulator, client, model })
  }).pipe(Effect.provide(Emulator.layer(options?.emulator)))

/** Polls the emulator's records until `predicate` holds (real I/O: the server sees the disconnect asynchronously). */
export const waitFor = <A>(effect: Effect.Effect<A>, predicate: (a: A) => boolean, tries = 400): Effect.Effect<A> =>
  Effect.flatMap(effect, (a) =>
    predicate(a) || tries <= 0
      ? Effect.succeed(a)
      : Effect.zipRight(Effect.sleep("5 millis"), waitFor(effect, predicate, tries - 1)))

export const prompt = (text: string) => ({ messages: [{ role: "user" as const, content: text }] })

/** The two ways to make a streamed call: an Effect `Stream`, or `streamEach` (a callback per event). */
export type StreamApi = StreamCalls.Api

export const streamApis = StreamCalls.apis

export type Mode = "generate" | StreamApi

export const modes: ReadonlyArray<Mode> = ["generate", "stream", "streamEach"]

export const forEachEvent = StreamCalls.forEach

export const drain = StreamCalls.drain

/** A streamed call through `api` (see `StreamCalls.run`). */
export const runStreamed = StreamCalls.run

/** The events of a streamed call through `api` that succeeded (fails the test when it did not). */
export const eventsOf = <E, R>(model: LanguageModel.With<E, R>, request: GenerateRequest, api: StreamApi) =>
  Effect.map(runStreamed(model, request, api), ({ events, exit }) => {
    assert.isTrue(Exit.isSuccess(exit), `expected a success, got ${String(exit)}`)
    return events
  })

/** The failure of an exit (fails the test when it succeeded or died). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

/** The failure of a call through `generate`, `stream` or `streamEach` (the same mapping must hold for all). */
export const failureThrough = <E, R>(
  model: LanguageModel.With<E, R>,
  mode: Mode,
  request: GenerateRequest = prompt("hi")
): Effect.Effect<E, never, R> =>
  mode === "generate"
    ? Effect.map(Effect.exit(model.generate(request)), failureOf)
    : Effect.map(runStreamed(model, request, mode), ({ exit }) => failureOf(exit))

export const takeFirst = StreamCalls.takeFirst

export type Row = readonly [
  name: string,
  step: Emulator.Step,
  check: (error: LlmError.ProviderError) => void
]

export const expectTag = <T extends LlmError.ProviderError["_tag"]>(
  error: LlmError.ProviderError,
  tag: T
): Extract<LlmError.ProviderError, { _tag: T }> => {
  assert.strictEqual(error._tag, tag, `expected ${tag}, got ${error._tag}: ${error.message}`)
  return error as Extract<LlmError.ProviderError, { _tag: T }>
}

/** Every HTTP-level row of the mapping; the same table runs for `generate`, `stream` and `streamEach`. */
export const httpRows: ReadonlyArray<Row> = [
  ["429 with retry-after (seconds)", { _tag: "RateLimited", retryAfterSeconds: 7 }, (e) => {
    const error = expectTag(e, "RateLimited")
    assert.strictEqual(Duration.toMillis(error.retryAfter!), 7000)
    assert.strictEqual(error.limit, "requests")
  }],
  ["429 with retry-after-ms on tokens", { _tag: "RateLimited", retryAfterMs: 1234, limit: "tokens" }, (e) => {
    const error = expectTag(e, "RateLimited")
    assert.strictEqual(Duration.toMillis(error.retryAfter!), 1234)
    assert.strictEqual(error.limit, "tokens")
  }],
  ["402 billing_error", { _tag: "QuotaExhausted" }, (e) => {
    const error = expectTag(e, "QuotaExhausted")
    assert.match(error.detail ?? "", /credit balance/)
  }],
  ["500", { _tag: "ServerError" }, (e) => assert.strictEqual(expectTag(e, "ServerError").status, 500)],
  ["502", { _tag: "ServerError", status: 502 }, (e) => assert.strictEqual(expectTag(e, "ServerError").status, 502)],
  ["503", { _tag: "ServerError", status: 503 }, (e) => assert.strictEqual(expectTag(e, "ServerError").status, 503)],
  ["529 overloaded_error", { _tag: "Overloaded" }, (e) => assert.strictEqual(expectTag(e, "Overloaded").status, 529)],
  ["prompt is too long", { _tag: "ContextLength", requested: 210_000, limit: 200_000 }, (e) => {
    const error = expectTag(e, "ContextLengthExceeded")
    assert.strictEqual(error.requested, 210_000)
    assert.strictEqual(error.limit, 200_000)
  }],
  ["400 invalid_request_error", { _tag: "InvalidRequest" }, (e) => {
    const error = expectTag(e, "InvalidRequest")
    assert.strictEqual(error.status, 400)
    assert.match(error.detail ?? "", /temperature/)
  }],
  [
    "404 not_found_error",
    { _tag: "InvalidRequest", status: 404 },
    (e) => assert.strictEqual(expectTag(e, "InvalidRequest").status, 404)
  ],
  [
    "409",
    { _tag: "InvalidRequest", status: 409 },
    (e) => assert.strictEqual(expectTag(e, "InvalidRequest").status, 409)
  ],
  [
    "422",
    { _tag: "InvalidRequest", status: 422 },
    (e) => assert.strictEqual(expectTag(e, "InvalidRequest").status, 422)
  ],
  [
    "401 authentication_error",
    { _tag: "AuthenticationFailed" },
    (e) => assert.strictEqual(expectTag(e, "AuthenticationFailed").status, 401)
  ],
  [
    "403 permission_error",
    { _tag: "AuthenticationFailed", status: 403 },
    (e) => assert.strictEqual(expectTag(e, "AuthenticationFailed").status, 403)
  ],
  ["connection reset", { _tag: "Reset" }, (e) => assert.isNotEmpty(expectTag(e, "ConnectionError").detail)]
]
