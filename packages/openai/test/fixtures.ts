import type { LlmError, StreamEvent } from "@effect-llm/core"
import type * as LanguageModel from "@effect-llm/core/LanguageModel"
import { Emulator, StreamCalls } from "@effect-llm/testing"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as OpenAiClient from "../src/OpenAiClient.js"

/** A fake key that must never show up in an error, a log or a recorded header. */
export const apiKey = "sk-test-Zq9xKEYnever-leaks-4242"

/** The client pointed at the emulator in context. */
export const clientLayer = (options?: Partial<OpenAiClient.Options>) =>
  Layer.unwrapEffect(
    Effect.map(Emulator.Emulator, (emulator) =>
      OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseUrl: emulator.openAiBaseUrl, ...options }))
  )

/** The emulator plus a client pointed at it. */
export const TestLayer = clientLayer().pipe(Layer.provideMerge(Emulator.layer()))

/** Resets the emulator and queues the given steps. */
export const script = (steps: ReadonlyArray<Emulator.Step>) =>
  Effect.flatMap(Emulator.Emulator, (emulator) => Effect.zipRight(emulator.reset, emulator.script(steps)))

export const requests = Effect.flatMap(Emulator.Emulator, (emulator) => emulator.requests)

/** The only request received since the last `script`. */
export const lastRequest = Effect.map(requests, (all) => {
  if (all.length !== 1) throw new Error(`expected exactly one request, got ${all.length}`)
  return all[0]!
})

/** Waits (real time) until the emulator's records satisfy `predicate`. */
export const waitForRequests = (predicate: (all: ReadonlyArray<Emulator.RecordedRequest>) => boolean) => {
  const loop: Effect.Effect<ReadonlyArray<Emulator.RecordedRequest>, never, Emulator.Emulator> = Effect.flatMap(
    requests,
    (all) =>
      predicate(all) ? Effect.succeed(all) : Effect.zipRight(Effect.sleep("10 millis"), Effect.suspend(() => loop))
  )
  return loop.pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the emulator never saw it") })
  )
}

/** The failure of an exit (fails the test when it succeeded or died). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

/** The two ways to make a streamed call: an Effect `Stream`, or `streamEach` (a callback per event). */
export type StreamApi = StreamCalls.Api

export const streamApis = StreamCalls.apis

/** A streamed call through `api` (see `StreamCalls.run`). */
export const runStreamed = StreamCalls.run

export const takeFirst = StreamCalls.takeFirst

export const drain = StreamCalls.drain

/** The text of the deltas among some events. */
export const deltaText = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.map((event) => (event._tag === "TextDelta" ? event.text : "")).join("")

/** A way to make a call: `generate`, or a streamed call through one of the two APIs. */
export type Mode = "generate" | StreamApi

export const modes: ReadonlyArray<Mode> = ["generate", "stream", "streamEach"]

/** The error of a call, through `generate`, `stream` or `streamEach` (the same mapping must hold for all). */
export const errorOf = (
  model: LanguageModel.With<LlmError.ProviderError, OpenAiClient.OpenAiClient>,
  mode: Mode
) =>
(request: Parameters<typeof model.generate>[0]) =>
  mode === "generate"
    ? Effect.map(Effect.exit(model.generate(request)), failureOf)
    : Effect.map(runStreamed(model, request, mode), ({ exit }) => failureOf(exit))

export const hello = { messages: [{ role: "user" as const, content: "Hello there" }] }
