/**
 * The chaos suite: the real OpenAI and Anthropic SDKs against two emulators over loopback. The
 * primary (OpenAI) fails 30% of its requests with a seeded mix of faults; the fallback (Anthropic)
 * is healthy. 1,000 calls (half `generate`, half `stream`) go through the standard resilience preset,
 * and every one must end the way its policy says.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import { CallEvent, LanguageModel, LlmError, Resilience, Retry } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Fiber, Layer, Option, Random, Redacted, Schedule, Stream } from "effect"

const CALLS = 1000
const TOTAL = Duration.seconds(4)

const faults: ReadonlyArray<Emulator.Step> = [
  { _tag: "RateLimited", retryAfterMs: 20 },
  { _tag: "ServerError", status: 500 },
  { _tag: "Overloaded" },
  { _tag: "Reset" },
  { _tag: "Stall", afterChunks: 2 },
  { _tag: "Cut", afterChunks: 2 }
]

const neverRetried = new Set<string>([
  "InvalidRequest",
  "AuthenticationFailed",
  "QuotaExhausted",
  "ContextLengthExceeded",
  "ContentFiltered",
  "BudgetExceeded",
  "MalformedOutput",
  "StreamInterrupted",
  "CircuitOpen"
])

interface Outcome {
  readonly kind: "generate" | "stream"
  readonly millis: number
  readonly exit: Exit.Exit<Completion, LlmError.LlmError>
  readonly interrupted: boolean
}

describe("chaos", () => {
  it.live(
    "1,000 calls through the resilience preset with a 30% faulty primary and a healthy fallback",
    () =>
      Effect.gen(function*() {
        const faulty = yield* Emulator.make({ seed: 42, chaos: { rate: 0.3, steps: faults } })
        const healthy = yield* Emulator.make({ seed: 43 })
        const apiKey = Redacted.make("sk-chaos-secret-key")
        const openAi = yield* Layer.build(OpenAiClient.layer({ apiKey, baseUrl: faulty.openAiBaseUrl }))
        const anthropic = yield* Layer.build(AnthropicClient.layer({ apiKey, baseUrl: healthy.anthropicBaseUrl }))
        const primary = OpenAiLanguageModel.make("gpt-5-mini").pipe(LanguageModel.provideContext(openAi))
        const backup = AnthropicLanguageModel.make("claude-haiku-4-5").pipe(LanguageModel.provideContext(anthropic))

        const model = primary.pipe(Resilience.standard({
          fallback: [backup],
          retry: { ...Retry.standard, schedule: Retry.backoff({ base: "5 millis", cap: "40 millis" }) },
          timeout: {
            connect: "1 second",
            firstToken: "1 second",
            idle: "300 millis",
            response: { base: "1 second", perOutputToken: "1 millis" },
            total: TOTAL
          }
        }))

        const retryReasons: Array<string> = []
        const fallbacks: Array<string> = []
        const listener: CallEvent.Listener = (event) =>
          Effect.sync(() => {
            if (event._tag === "RetryScheduled") retryReasons.push(event.reason)
            if (event._tag === "FallbackTriggered") fallbacks.push(event.reason)
          })

        const request = (i: number) => ({
          messages: [{ role: "user" as const, content: `chaos call ${i}` }],
          maxOutputTokens: 32
        })
        const streamed = (i: number) =>
          model.stream(request(i)).pipe(
            Stream.runCollect,
            Effect.flatMap((events) =>
              Option.match(Chunk.last(events), {
                onNone: () => Effect.dieMessage("stream ended without events"),
                onSome: (last) =>
                  last._tag === "Finish" ? Effect.succeed(last.completion) : Effect.dieMessage("no Finish")
              })
            )
          )

        const one = (i: number) =>
          Effect.gen(function*() {
            const kind = i % 2 === 0 ? "generate" as const : "stream" as const
            const call = (kind === "generate" ? model.generate(request(i)) : streamed(i)).pipe(
              CallEvent.listen(listener)
            )
            // 5% of the calls are interrupted by their caller after a short random delay
            const interruptAfter = (yield* Random.nextIntBetween(0, 100)) < 5
              ? yield* Random.nextIntBetween(1, 30)
              : undefined
            const start = performance.now()
            const fiber = yield* Effect.fork(call)
            if (interruptAfter !== undefined) {
              yield* Effect.sleep(Duration.millis(interruptAfter))
              yield* Fiber.interrupt(fiber)
            }
            const exit = yield* Fiber.await(fiber)
            return {
              kind,
              millis: performance.now() - start,
              exit,
              interrupted: interruptAfter !== undefined
            } satisfies Outcome
          })

        const outcomes = yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), one, {
          concurrency: 50
        }).pipe(Effect.withRandom(Random.make(7)))

        // let the servers observe the last disconnects
        yield* Effect.sleep("200 millis")
        const requests = yield* faulty.requests
        const backupRequests = yield* healthy.requests

        const counts: Record<string, number> = {}
        const bump = (key: string) => (counts[key] = (counts[key] ?? 0) + 1)
        for (const outcome of outcomes) {
          // none runs past its total timeout (plus scheduling slack)
          assert.isBelow(outcome.millis, Duration.toMillis(TOTAL) + 1000, `a ${outcome.kind} call ran too long`)
          if (Exit.isSuccess(outcome.exit)) {
            const completion = outcome.exit.value
            const tried = completion.attempts.length
            bump(
              completion.provider === "anthropic"
                ? "succeeded after fallback"
                : tried > 1
                ? "succeeded after retries"
                : "succeeded first time"
            )
            // the trail ends with the model that answered
            assert.strictEqual(completion.attempts[tried - 1]!.outcome, "success")
            assert.strictEqual(completion.attempts[tried - 1]!.provider, completion.provider)
            continue
          }
          if (Exit.isInterrupted(outcome.exit)) {
            assert.isTrue(outcome.interrupted, "only callers interrupt calls")
            bump("interrupted by caller")
            continue
          }
          const failure = Option.getOrThrow(Cause.failureOption(outcome.exit.cause))
          assert.isTrue(LlmError.isLlmError(failure), "every failure is a typed error of the taxonomy")
          // with a healthy fallback, the only failures left are streams cut after their first token
          assert.strictEqual(outcome.kind, "stream", `generate failed with ${failure._tag}: ${failure.message}`)
          assert.include(["StreamInterrupted", "Timeout"], failure._tag)
          if (failure._tag === "StreamInterrupted") assert.isAbove(failure.partialText.length, 0)
          bump(`failed: ${failure._tag}`)
        }

        // no tag that must not be retried was retried
        for (const reason of retryReasons) assert.isFalse(neverRetried.has(reason), `retried ${reason}`)
        // faults happened, retries and fallbacks happened, and the fallback was used
        const faulted = requests.filter((r) => r.step !== undefined)
        assert.isAbove(faulted.length, CALLS * 0.15)
        assert.isAbove(retryReasons.length, 0)
        assert.isAbove(fallbacks.length, 0)
        assert.isAbove(backupRequests.length, 0)
        // every stalled request was abandoned by the client (its timeout aborted it): a disconnect
        const stalled = requests.filter((r) => r.step?._tag === "Stall")
        assert.isAbove(stalled.length, 0)
        for (const r of stalled) assert.isTrue(r.disconnected, `stalled request ${r.id} was not aborted`)
        const disconnects = [...requests, ...backupRequests].filter((r) => r.disconnected && r.step?._tag !== "Stall")
        // the API key never reached a record
        assert.notInclude(JSON.stringify(requests.slice(0, 50)), "sk-chaos-secret-key")

        const retriesByTag: Record<string, number> = {}
        for (const reason of retryReasons) retriesByTag[reason] = (retriesByTag[reason] ?? 0) + 1
        yield* Effect.sync(() =>
          process.stdout.write(
            `\nchaos: ${CALLS} calls, ${requests.length} primary requests (${faulted.length} faulted), ` +
              `${backupRequests.length} fallback requests\n` +
              `  outcomes: ${JSON.stringify(counts)}\n` +
              `  retries by tag: ${JSON.stringify(retriesByTag)}; fallbacks: ${fallbacks.length}; ` +
              `stalled and aborted: ${stalled.length}; client disconnects: ${disconnects.length}\n`
          )
        )
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  it.live(
    "a caller's interruption reaches the server as a disconnect, for generate and stream, through the preset",
    () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.make({ seed: 1 })
        const apiKey = Redacted.make("sk-chaos-secret-key")
        const openAi = yield* Layer.build(OpenAiClient.layer({ apiKey, baseUrl: emulator.openAiBaseUrl }))
        const anthropic = yield* Layer.build(AnthropicClient.layer({ apiKey, baseUrl: emulator.anthropicBaseUrl }))
        const models = [
          OpenAiLanguageModel.make("gpt-5-mini").pipe(LanguageModel.provideContext(openAi), Resilience.standard()),
          AnthropicLanguageModel.make("claude-haiku-4-5").pipe(
            LanguageModel.provideContext(anthropic),
            Resilience.standard()
          )
        ]
        const slow: Emulator.Step = { _tag: "SlowFirstByte", delayMs: 5000 }
        yield* emulator.script(Array.from({ length: 20 }, () => slow))
        const fibers = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => {
          const model = models[i % 2]!
          const request = { messages: [{ role: "user" as const, content: `slow ${i}` }] }
          return Effect.fork(i % 4 < 2 ? model.generate(request) : Stream.runDrain(model.stream(request)))
        })
        // every request has reached the server before the callers give up
        yield* Effect.repeat(emulator.requests, {
          until: (requests) => requests.length >= 20,
          schedule: Schedule.spaced("10 millis")
        })
        yield* Fiber.interruptAll(fibers)
        for (const fiber of fibers) assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
        yield* Effect.repeat(emulator.requests, {
          until: (requests) => requests.filter((r) => r.disconnected).length >= 20,
          schedule: Schedule.spaced("10 millis")
        }).pipe(Effect.timeout("3 seconds"), Effect.ignore)
        const disconnected = yield* emulator.requests
        assert.strictEqual(disconnected.filter((r) => r.disconnected).length, 20)
        assert.deepStrictEqual(
          new Set(disconnected.map((r) => `${r.provider}:${r.stream}`)),
          new Set(["openai:false", "openai:true", "anthropic:false", "anthropic:true"])
        )
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )
})
