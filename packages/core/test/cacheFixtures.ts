import { LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import { Duration, Effect, Exit, Stream } from "effect"

/** One scripted call of the fake model; unscripted calls answer `answer {n}` (n: the call's number). */
export interface Step {
  readonly fail?: LlmError.LlmError
  /** Wait before answering (generate) or before the first chunk (stream). */
  readonly delay?: Duration.DurationInput
  /** Stream: the deltas (default `["answer ", "{n}"]`). */
  readonly chunks?: ReadonlyArray<string>
  /** Stream: wait before every chunk after the first. */
  readonly chunkDelay?: Duration.DurationInput
  /** Stream: fail with `fail` after the chunks instead of finishing. */
  readonly failAfterChunks?: boolean
  readonly finishReason?: Completion["finishReason"]
}

export const provider = "fake"
export const defaultModel = "fake-1"

export const usage = {
  inputTokens: 100,
  cachedInputTokens: 20,
  cacheWriteInputTokens: 0,
  outputTokens: 50,
  reasoningTokens: 0
}

export const serverError = new LlmError.ServerError({ provider, model: defaultModel, status: 503 })

/**
 * A fake model built with `LanguageModel.make` that counts its upstream calls and the calls that
 * were interrupted.
 */
export const makeFake = (options?: { readonly defaults?: Step }) => {
  const state = {
    calls: 0,
    interrupted: 0,
    requests: [] as Array<GenerateRequest>,
    script: [] as Array<Step>
  }
  const next = (request: GenerateRequest) => {
    state.calls++
    state.requests.push(request)
    return { n: state.calls, step: { ...options?.defaults, ...state.script.shift() } as Step }
  }
  const completion = (request: GenerateRequest, text: string, step: Step): Completion => ({
    text,
    finishReason: step.finishReason ?? "stop",
    usage,
    costUsd: 0.002,
    provider,
    model: request.model ?? defaultModel,
    servedModel: `${request.model ?? defaultModel}-2026`,
    responseId: `resp_${state.calls}`,
    attempts: [{ provider, model: request.model ?? defaultModel, outcome: "success" }]
  })
  const model = LanguageModel.make<LlmError.LlmError, never>({
    provider,
    model: defaultModel,
    generate: (request) =>
      Effect.suspend(() => {
        const { n, step } = next(request)
        const body = step.fail !== undefined
          ? Effect.fail(step.fail)
          : Effect.succeed(completion(request, `answer ${n}`, step))
        return step.delay === undefined ? body : Effect.zipRight(Effect.sleep(step.delay), body)
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => state.interrupted++))),
    stream: (request) =>
      Stream.unwrap(Effect.sync(() => {
        const { n, step } = next(request)
        const chunks = step.chunks ?? ["answer ", `${n}`]
        const deltas = Stream.mapEffect(Stream.fromIterable(chunks.map((c, i) => [c, i] as const)), ([c, i]) => {
          const wait = i === 0 ? step.delay : step.chunkDelay
          const delta = StreamEvent.textDelta(c)
          return wait === undefined ? Effect.succeed(delta) : Effect.as(Effect.sleep(wait), delta)
        })
        const end: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> = step.fail !== undefined
          ? Stream.fail(step.fail)
          : Stream.succeed(StreamEvent.finish(completion(request, chunks.join(""), step)))
        return Stream.concat(deltas, end).pipe(
          Stream.ensuringWith((exit) => Exit.isInterrupted(exit) ? Effect.sync(() => state.interrupted++) : Effect.void)
        )
      }))
  })
  return { model, state }
}

/** A deterministic request (temperature 0). */
export const ask = (content: string, extra?: Partial<GenerateRequest>): GenerateRequest => ({
  messages: [{ role: "user", content }],
  temperature: 0,
  ...extra
})

/** The text deltas and the finish of a collected stream. */
export const split = (events: ReadonlyArray<StreamEvent.StreamEvent>) => {
  const deltas: Array<string> = []
  let finish: Completion | undefined
  for (const event of events) {
    if (event._tag === "TextDelta") deltas.push(event.text)
    else finish = event.completion
  }
  return { deltas, finish }
}

export const settle = Effect.repeatN(Effect.yieldNow(), 20)

export const seconds = Duration.seconds
