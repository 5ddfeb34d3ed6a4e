import type { LlmError } from "@effect-llm/core"
import { Timeout } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as AnthropicLanguageModel from "../src/AnthropicLanguageModel.js"
import {
  drain,
  eventsOf,
  expectTag,
  failureThrough as failure,
  MODEL,
  modes,
  prompt,
  streamApis,
  waitFor,
  withEmulator
} from "./fixtures.js"

const assertConnectTimeout = (error: LlmError.ProviderError, millis: number) => {
  const timeout = expectTag(error, "Timeout")
  assert.strictEqual(timeout.phase, "connect")
  assert.strictEqual(Duration.toMillis(timeout.after), millis)
  assert.strictEqual(timeout.provider, "anthropic")
  assert.strictEqual(timeout.model, MODEL)
}

describe("AnthropicLanguageModel: the connect timeout (Timeout.currentConnectTimeout)", () => {
  for (const mode of modes) {
    it.live(`${mode}: headers later than the connect timeout → Timeout phase connect, request aborted`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 2000 }])
          const started = Date.now()
          const error = yield* failure(model, mode).pipe(
            Effect.locally(Timeout.currentConnectTimeout, Duration.millis(100))
          )
          const elapsed = Date.now() - started
          assertConnectTimeout(error, 100)
          assert.isAtLeast(elapsed, 90)
          assert.isBelow(elapsed, 1500)
          const request = yield* emulator.awaitRequest((r) => r.disconnected)
          assert.isFalse(request.completed)
        })
      ))

    it.live(`${mode}: Timeout.withTimeouts({ connect }) → Timeout phase connect`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 2000 }])
          const error = yield* failure(model.pipe(Timeout.withTimeouts({ connect: "100 millis" })), mode)
          assertConnectTimeout(error, 100)
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))

    it.live(`${mode}: headers within the connect timeout → the answer`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 30, then: { _tag: "Reply", text: "in time" } }])
          const timed = model.pipe(Timeout.withTimeouts({ connect: "2 seconds" }))
          const text = mode === "generate"
            ? (yield* timed.generate(prompt("hi"))).text
            : (yield* eventsOf(timed, prompt("hi"), mode))
              .map((event) => (event._tag === "TextDelta" ? event.text : ""))
              .join("")
          assert.strictEqual(text, "in time")
          const [request] = yield* emulator.requests
          assert.isTrue(request!.completed)
          assert.isFalse(request!.disconnected)
        })
      ))

    it.live(`${mode}: without the fetchWithTimeout hook (an AbortSignal), the connect timeout still aborts`, () =>
      withEmulator(({ client, emulator }) =>
        Effect.gen(function*() {
          const model = AnthropicLanguageModel.fromClient({ ...client, hooked: false }, MODEL)
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 2000 }])
          const error = yield* failure(model, mode).pipe(
            Effect.locally(Timeout.currentConnectTimeout, Duration.millis(100))
          )
          assertConnectTimeout(error, 100)
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))
  }

  for (const via of streamApis) {
    it.live(`${via}: the connect timeout ends with the headers (a slow body is not a connect timeout)`, () =>
      withEmulator(({ emulator, model }) =>
        Effect.gen(function*() {
          yield* emulator.script([{ _tag: "ChunkDelay", delayMs: 250, text: "a b c d" }])
          const started = Date.now()
          const events = yield* eventsOf(model.pipe(Timeout.withTimeouts({ connect: "500 millis" })), prompt("hi"), via)
          // the body outlasts the connect timeout, whose margin is wide enough for a loaded machine to send
          // the headers in time
          assert.isAbove(Date.now() - started, 600)
          const text = events.map((event) => (event._tag === "TextDelta" ? event.text : ""))
          assert.strictEqual(text.join(""), "a b c d")
          const [request] = yield* emulator.requests
          assert.isTrue(request!.completed)
        })
      ))
  }

  it.live("a large max_tokens (generate over a hidden stream): late headers → Timeout phase connect", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 2000 }])
        const error = yield* failure(model, "generate", { ...prompt("hi"), maxOutputTokens: 64_000 }).pipe(
          Effect.locally(Timeout.currentConnectTimeout, Duration.millis(100))
        )
        assertConnectTimeout(error, 100)
        const request = yield* emulator.awaitRequest((r) => r.disconnected)
        assert.isTrue(request.stream)
      })
    ))
})

describe("AnthropicLanguageModel: aborting without an AbortSignal", () => {
  it.live("interrupting a large-max_tokens generate (a hidden stream) aborts the request", () =>
    withEmulator(({ emulator, model }) =>
      Effect.gen(function*() {
        yield* emulator.script([{ _tag: "Stall", afterChunks: 1 }])
        const fiber = yield* Effect.fork(model.generate({ ...prompt("hi"), maxOutputTokens: 64_000 }))
        yield* waitFor(emulator.requests, (requests) => requests.length === 1)
        yield* Fiber.interrupt(fiber)
        const request = yield* emulator.awaitRequest((r) => r.disconnected)
        assert.isFalse(request.completed)
      })
    ))

  for (const mode of modes) {
    it.live(`${mode}: without the fetchWithTimeout hook, interruption still aborts`, () =>
      withEmulator(({ client, emulator }) =>
        Effect.gen(function*() {
          const model = AnthropicLanguageModel.fromClient({ ...client, hooked: false }, MODEL)
          yield* emulator.script([{ _tag: "SlowFirstByte", delayMs: 20_000 }])
          const fiber = yield* Effect.fork(
            mode === "generate" ? model.generate(prompt("hi")) : drain(model, prompt("hi"), mode)
          )
          yield* waitFor(emulator.requests, (requests) => requests.length === 1)
          yield* Fiber.interrupt(fiber)
          yield* emulator.awaitRequest((r) => r.disconnected)
        })
      ))
  }

  it.live("the client is hooked: calls pass no AbortSignal to the SDK", () =>
    withEmulator(({ client, emulator, model }) =>
      Effect.gen(function*() {
        assert.isTrue(client.hooked)
        const seen: Array<unknown> = []
        const create = client.client.messages.create.bind(client.client.messages)
        ;(client.client.messages as { create: unknown }).create = (params: unknown, options: unknown) => {
          seen.push(options)
          return (create as (...args: Array<unknown>) => unknown)(params, options)
        }
        yield* model.generate(prompt("hi"))
        for (const via of streamApis) yield* drain(model, prompt("hi"), via)
        assert.strictEqual(seen.length, 3)
        for (const options of seen) assert.notProperty(options as object, "signal")
        assert.strictEqual((yield* emulator.requests).length, 3)
      })
    ))
})
