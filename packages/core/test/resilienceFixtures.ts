import { LanguageModel, LlmError } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import { Clock, Duration, Effect, Stream } from "effect"

/** One scripted answer of the fake model. */
export interface Step {
  readonly fail?: LlmError.LlmError
  readonly text?: string
  /** Wait before answering (generate) or before the first chunk (stream). */
  readonly delay?: Duration.DurationInput
  /** Stream: the text deltas (default: the text in one chunk). */
  readonly chunks?: ReadonlyArray<string>
  /** Stream: wait before every chunk after the first. */
  readonly chunkDelay?: Duration.DurationInput
  /** Stream: fail with this after the chunks instead of finishing. */
  readonly failAfterChunks?: LlmError.LlmError
  readonly rateLimit?: Completion["rateLimit"]
  readonly outputTokens?: number
}

export const completion = (
  text: string,
  target: { readonly provider: string; readonly model: string },
  extra?: Partial<Completion>
): Completion => ({
  text,
  finishReason: "stop",
  usage: {
    inputTokens: 10,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 5,
    reasoningTokens: 0
  },
  provider: target.provider,
  model: target.model,
  servedModel: `${target.model}-2026`,
  attempts: [{ provider: target.provider, model: target.model, outcome: "success" }],
  ...extra
})

/** A model answering from a script; records the time of every call and every request. */
export const scripted = (
  steps: Array<Step>,
  options?: { readonly provider?: string; readonly model?: string }
) => {
  const provider = options?.provider ?? "fake"
  const defaultModel = options?.model ?? "fake-1"
  const calls: Array<number> = []
  const interrupted = { count: 0 }
  const onInterrupt = Effect.onInterrupt(() => Effect.sync(() => interrupted.count++))
  const requests: Array<GenerateRequest> = []
  const next = (request: GenerateRequest) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      calls.push(now)
      requests.push(request)
      return steps.shift() ?? {}
    })
  const finished = (step: Step, model: string, text: string) =>
    completion(text, { provider, model }, {
      ...(step.rateLimit !== undefined ? { rateLimit: step.rateLimit } : {}),
      ...(step.outputTokens !== undefined
        ? { usage: { ...completion("", { provider, model }).usage, outputTokens: step.outputTokens } }
        : {})
    })
  const model = LanguageModel.make<LlmError.LlmError, never>({
    provider,
    model: defaultModel,
    generate: (request) =>
      Effect.gen(function*() {
        const step = yield* next(request)
        if (step.delay !== undefined) yield* Effect.sleep(step.delay)
        if (step.fail !== undefined) return yield* Effect.fail(step.fail)
        return finished(step, request.model ?? defaultModel, step.text ?? "ok")
      }).pipe(onInterrupt),
    stream: (request) =>
      Stream.unwrap(Effect.gen(function*() {
        const step = yield* next(request)
        const model = request.model ?? defaultModel
        const chunks = step.chunks ?? (step.fail !== undefined ? [] : [step.text ?? "ok"])
        const deltas = Stream.zipWithIndex(Stream.fromIterable(chunks)).pipe(
          Stream.mapEffect(([text, i]) =>
            Effect.as(
              i === 0
                ? (step.delay !== undefined ? Effect.sleep(step.delay) : Effect.void)
                : (step.chunkDelay !== undefined ? Effect.sleep(step.chunkDelay) : Effect.void),
              StreamEvent.textDelta(text) as StreamEvent.StreamEvent
            )
          )
        )
        if (step.fail !== undefined && chunks.length === 0) {
          return Stream.fromEffect(
            Effect.zipRight(step.delay !== undefined ? Effect.sleep(step.delay) : Effect.void, Effect.fail(step.fail))
          )
        }
        const end = step.failAfterChunks !== undefined
          ? Stream.fail(step.failAfterChunks)
          : Stream.succeed(StreamEvent.finish(finished(step, model, chunks.join(""))) as StreamEvent.StreamEvent)
        let settled = false
        const settle = Effect.sync(() => {
          settled = true
        })
        // a stream released before it finished or failed was aborted by its consumer
        return Stream.concat(deltas, end).pipe(
          Stream.tapError(() => settle),
          Stream.onEnd(settle),
          Stream.ensuring(Effect.suspend(() => settled ? Effect.void : Effect.sync(() => interrupted.count++)))
        )
      }))
  })
  return { model, calls, requests, interrupted }
}

const target = { provider: "fake", model: "fake-1" }

export const serverError = (t = target) => new LlmError.ServerError({ ...t, status: 500 })
export const rateLimited = (retryAfter?: Duration.DurationInput, t = target) =>
  new LlmError.RateLimited({
    ...t,
    ...(retryAfter !== undefined ? { retryAfter: Duration.decode(retryAfter) } : {}),
    limit: "requests"
  })
export const invalidRequest = (t = target) => new LlmError.InvalidRequest({ ...t, status: 400 })
export const prompt = { messages: [{ role: "user" as const, content: "Hello" }] }
