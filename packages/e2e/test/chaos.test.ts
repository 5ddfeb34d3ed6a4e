/**
 * The chaos suite: the real OpenAI and Anthropic SDKs against two emulators over loopback. The
 * primary (OpenAI) fails 30% of its requests with a seeded mix of faults; the fallback (Anthropic)
 * is healthy. 1,000 calls (a third each `generate`, `stream` and `streamEach`) go through the standard
 * resilience preset, and every one must end the way its policy says.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect-llm/anthropic"
import { CallEvent, LanguageModel, LlmError, Resilience, Retry } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { StreamEvent } from "@effect-llm/core/StreamEvent"
import { OpenAiClient, OpenAiLanguageModel } from "@effect-llm/openai"
import { Emulator } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Random,
  Redacted,
  Schedule,
  Stream
} from "effect"

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

const kinds = ["generate", "stream", "streamEach"] as const

interface Outcome {
  readonly i: number
  readonly kind: typeof kinds[number]
  readonly millis: number
  readonly exit: Exit.Exit<Completion, LlmError.LlmError>
  readonly interrupted: boolean
  /** The events the caller saw, for the streamed kinds. */
  readonly seen: ReadonlyArray<StreamEvent>
}

const textOf = (events: ReadonlyArray<StreamEvent>) =>
  events.flatMap((event) => event._tag === "TextDelta" ? [event.text] : []).join("")

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
        // the retries and fallbacks of each kind of call
        const decisions = Object.fromEntries(kinds.map((kind) => [kind, { retries: 0, fallbacks: 0 }]))
        // a streamed call is retried or falls back only until its first event reached the caller
        const late: Array<string> = []
        const listener =
          (i: number, kind: typeof kinds[number], seen: ReadonlyArray<StreamEvent>): CallEvent.Listener => (event) =>
            Effect.sync(() => {
              if (event._tag === "RetryScheduled") {
                retryReasons.push(event.reason)
                decisions[kind]!.retries++
              }
              if (event._tag === "FallbackTriggered") {
                fallbacks.push(event.reason)
                decisions[kind]!.fallbacks++
              }
              if ((event._tag === "RetryScheduled" || event._tag === "FallbackTriggered") && seen.length > 0) {
                late.push(`${kind} call ${i}: ${event._tag} (${event.reason}) after ${seen.length} events`)
              }
            })

        const request = (i: number) => ({
          messages: [{ role: "user" as const, content: `chaos call ${i}` }],
          maxOutputTokens: 32
        })
        const streamed = (i: number, seen: Array<StreamEvent>) =>
          model.stream(request(i)).pipe(
            Stream.tap((event) => Effect.sync(() => seen.push(event))),
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
            const kind = kinds[i % 3]!
            const seen: Array<StreamEvent> = []
            const call = (
              kind === "generate"
                ? model.generate(request(i))
                : kind === "stream"
                ? streamed(i, seen)
                : model.streamEach(request(i), (event) => Effect.sync(() => void seen.push(event)))
            ).pipe(CallEvent.listen(listener(i, kind, seen)))
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
              i,
              kind,
              millis: performance.now() - start,
              exit,
              interrupted: interruptAfter !== undefined,
              seen
            } satisfies Outcome
          })

        const outcomes = yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), one, {
          concurrency: 50
        }).pipe(Effect.withRandom(Random.make(7)))

        // let the servers observe the last disconnects
        yield* Effect.sleep("200 millis")
        const requests = yield* faulty.requests
        const backupRequests = yield* healthy.requests
        assert.deepStrictEqual(late, [], "retried or fell back after the caller saw an event")

        const counts: Record<string, number> = {}
        const byKind: Record<string, Record<string, number>> = {}
        const bump = (outcome: Outcome, key: string) => {
          counts[key] = (counts[key] ?? 0) + 1
          const ofKind = (byKind[outcome.kind] ??= {})
          ofKind[key] = (ofKind[key] ?? 0) + 1
        }
        for (const outcome of outcomes) {
          // none runs past its total timeout (plus scheduling slack)
          assert.isBelow(outcome.millis, Duration.toMillis(TOTAL) + 1000, `a ${outcome.kind} call ran too long`)
          if (Exit.isSuccess(outcome.exit)) {
            const completion = outcome.exit.value
            const tried = completion.attempts.length
            bump(
              outcome,
              completion.provider === "anthropic"
                ? "succeeded after fallback"
                : tried > 1
                ? "succeeded after retries"
                : "succeeded first time"
            )
            // the trail ends with the model that answered
            assert.strictEqual(completion.attempts[tried - 1]!.outcome, "success")
            assert.strictEqual(completion.attempts[tried - 1]!.provider, completion.provider)
            if (outcome.kind !== "generate") {
              // the caller saw the text deltas of the answer, then one Finish with its completion
              const finishes = outcome.seen.filter((e) => e._tag === "Finish")
              assert.strictEqual(finishes.length, 1, `a ${outcome.kind} call saw ${finishes.length} Finish events`)
              const last = outcome.seen[outcome.seen.length - 1]
              assert(last?._tag === "Finish")
              assert.deepStrictEqual(last.completion, completion)
              if (outcome.kind === "streamEach") assert.strictEqual(last.completion, completion)
              assert.strictEqual(textOf(outcome.seen), completion.text)
            }
            continue
          }
          if (Exit.isInterrupted(outcome.exit)) {
            assert.isTrue(outcome.interrupted, "only callers interrupt calls")
            bump(outcome, "interrupted by caller")
            continue
          }
          const failure = Option.getOrThrow(Cause.failureOption(outcome.exit.cause))
          assert.isTrue(LlmError.isLlmError(failure), "every failure is a typed error of the taxonomy")
          // with a healthy fallback, the only failures left are streams cut after their first token
          assert.notStrictEqual(outcome.kind, "generate", `generate failed with ${failure._tag}: ${failure.message}`)
          assert.include(["StreamInterrupted", "Timeout"], failure._tag)
          if (failure._tag === "StreamInterrupted") assert.isAbove(failure.partialText.length, 0)
          // the caller saw no Finish; cut after its first token (no retry, no fallback then), it saw the
          // text the error carries
          assert.isFalse(outcome.seen.some((e) => e._tag === "Finish"))
          if (failure._tag === "StreamInterrupted") assert.strictEqual(failure.partialText, textOf(outcome.seen))
          bump(outcome, `failed: ${failure._tag}`)
        }

        // no tag that must not be retried was retried
        for (const reason of retryReasons) assert.isFalse(neverRetried.has(reason), `retried ${reason}`)
        // faults happened, retries and fallbacks happened, and the fallback was used
        const faulted = requests.filter((r) => r.step !== undefined)
        assert.isAbove(faulted.length, CALLS * 0.15)
        assert.isAbove(retryReasons.length, 0)
        assert.isAbove(fallbacks.length, 0)
        // each kind of call met the faults: retries and fallbacks for each
        for (const kind of kinds) {
          assert.isAbove(decisions[kind]!.retries, 0, `no ${kind} call was retried`)
          assert.isAbove(decisions[kind]!.fallbacks, 0, `no ${kind} call fell back`)
        }
        assert.isAbove(backupRequests.length, 0)
        // every stalled request was abandoned by the client (its timeout aborted it): a disconnect
        const stalled = requests.filter((r) => r.step?._tag === "Stall")
        assert.isAbove(stalled.length, 0)
        for (const r of stalled) assert.isTrue(r.disconnected, `stalled request ${r.id} was not aborted`)
        const disconnects = [...requests, ...backupRequests].filter((r) => r.disconnected && r.step?._tag !== "Stall")
        // no request is left open: each was answered whole, abandoned by its client (a deadline or the
        // caller's interruption: a disconnect), or closed by the emulator (a reset or cut fault)
        for (const r of [...requests, ...backupRequests]) {
          const closed = r.step?._tag === "Reset" || r.step?._tag === "Cut"
          assert.isTrue(r.completed || r.disconnected || closed, `request ${r.id} (${r.step?._tag}) left open`)
        }
        // the requests of the calls their callers interrupted
        const ofCall = (i: number) => (r: Emulator.RecordedRequest) =>
          JSON.stringify(r.body).includes(`"chaos call ${i}"`)
        const interruptedRequests = outcomes.filter((o) => o.interrupted).flatMap((o) =>
          [...requests, ...backupRequests].filter(ofCall(o.i))
        )
        // the API key never reached a record
        assert.notInclude(JSON.stringify(requests.slice(0, 50)), "sk-chaos-secret-key")

        const retriesByTag: Record<string, number> = {}
        for (const reason of retryReasons) retriesByTag[reason] = (retriesByTag[reason] ?? 0) + 1
        yield* Effect.sync(() =>
          process.stdout.write(
            `\nchaos: ${CALLS} calls, ${requests.length} primary requests (${faulted.length} faulted), ` +
              `${backupRequests.length} fallback requests\n` +
              `  outcomes: ${JSON.stringify(counts)}\n` +
              kinds.map((kind) => `  ${kind}: ${JSON.stringify(byKind[kind])} ${JSON.stringify(decisions[kind])}\n`)
                .join("") +
              `  retries by tag: ${JSON.stringify(retriesByTag)}; fallbacks: ${fallbacks.length}; ` +
              `stalled and aborted: ${stalled.length}; client disconnects: ${disconnects.length}; ` +
              `requests of interrupted calls: ${interruptedRequests.length} ` +
              `(${interruptedRequests.filter((r) => r.disconnected).length} disconnected)\n`
          )
        )
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  /** An emulator and both providers' models under the preset, for the interruption tests. */
  const presetModels = Effect.gen(function*() {
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
    return { emulator, models }
  })

  it.live(
    "a caller's interruption reaches the server as a disconnect: generate, stream and streamEach, through the preset",
    () =>
      Effect.gen(function*() {
        const { emulator, models } = yield* presetModels
        const CALLS = 30
        const slow: Emulator.Step = { _tag: "SlowFirstByte", delayMs: 5000 }
        yield* emulator.script(Array.from({ length: CALLS }, () => slow))
        const seen: Array<StreamEvent> = []
        // by i: the provider (i % 2), and the kind of call (i % 6: 0-1 generate, 2-3 stream, 4-5 streamEach)
        const fibers = yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), (i) => {
          const model = models[i % 2]!
          const request = { messages: [{ role: "user" as const, content: `slow ${i}` }] }
          return Effect.fork(
            i % 6 < 2
              ? model.generate(request)
              : i % 6 < 4
              ? Stream.runDrain(model.stream(request))
              : model.streamEach(request, (event) => Effect.sync(() => void seen.push(event)))
          )
        })
        // every request has reached the server before the callers give up
        yield* Effect.repeat(emulator.requests, {
          until: (requests) => requests.length >= CALLS,
          schedule: Schedule.spaced("10 millis")
        })
        yield* Fiber.interruptAll(fibers)
        for (const fiber of fibers) assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
        assert.deepStrictEqual(seen, [])
        yield* Effect.repeat(emulator.requests, {
          until: (requests) => requests.filter((r) => r.disconnected).length >= CALLS,
          schedule: Schedule.spaced("10 millis")
        }).pipe(Effect.timeout("3 seconds"), Effect.ignore)
        const disconnected = yield* emulator.requests
        assert.strictEqual(disconnected.length, CALLS)
        assert.strictEqual(disconnected.filter((r) => r.disconnected).length, CALLS)
        assert.deepStrictEqual(
          new Set(disconnected.map((r) => `${r.provider}:${r.stream}`)),
          new Set(["openai:false", "openai:true", "anthropic:false", "anthropic:true"])
        )
        // each call's own request, by its kind: the streamEach calls' requests are streamed ones, each disconnected
        for (let i = 0; i < CALLS; i++) {
          const [own, ...others] = disconnected.filter((r) => JSON.stringify(r.body).includes(`"slow ${i}"`))
          assert.strictEqual(others.length, 0)
          assert.strictEqual(own?.provider, i % 2 === 0 ? "openai" : "anthropic")
          assert.strictEqual(own?.stream, i % 6 >= 2, `call ${i}`)
          assert.isTrue(own?.disconnected, `call ${i} was not seen as a disconnect`)
        }
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )

  it.live(
    "a caller's interruption while it handles an event reaches the server as a disconnect, for stream and streamEach",
    () =>
      Effect.gen(function*() {
        const { emulator, models } = yield* presetModels
        // the answer stalls after its second chunk, so only the client can end the request
        yield* emulator.script(Array.from({ length: 4 }, () => ({ _tag: "Stall", afterChunks: 2 }) as const))
        for (let i = 0; i < 4; i++) {
          const model = models[i % 2]!
          const request = { messages: [{ role: "user" as const, content: `handling ${i}` }] }
          const handling = yield* Deferred.make<void>()
          // the caller is still handling the first event (and never done with it) when it gives up
          const onEvent: LanguageModel.OnEvent = () => Effect.zipRight(Deferred.succeed(handling, void 0), Effect.never)
          const fiber = yield* Effect.fork(
            i < 2
              ? Stream.runForEach(model.stream(request), onEvent)
              : Effect.asVoid(model.streamEach(request, onEvent))
          )
          yield* Deferred.await(handling)
          yield* Fiber.interrupt(fiber)
          const own = (r: Emulator.RecordedRequest) => JSON.stringify(r.body).includes(`"handling ${i}"`)
          const disconnected = yield* emulator.awaitRequest((r) => own(r) && r.disconnected).pipe(
            Effect.timeout("3 seconds"),
            Effect.option
          )
          assert.isTrue(Option.isSome(disconnected), `${i < 2 ? "stream" : "streamEach"} call ${i}: no disconnect`)
          assert.strictEqual((yield* emulator.requests).filter(own).length, 1)
        }
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )
})
