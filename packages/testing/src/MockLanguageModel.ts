/**
 * A scripted `LanguageModel` for tests: answers, streams with chunk timing, failures with any
 * error of the taxonomy, and delays, consumed one per call. Delays use `Effect.sleep`, so under
 * `TestClock` a test decides when time passes with `TestClock.adjust`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel, LlmError } from "@effect-llm/core"
 * import { MockLanguageModel } from "@effect-llm/testing"
 *
 * const MockLayer = MockLanguageModel.layer({
 *   script: [
 *     { fail: new LlmError.Overloaded({ provider: "mock", model: "mock-model", status: 529 }) },
 *     { text: "Hello!", delay: "1 second" },
 *     { chunks: ["Hel", "lo"], chunkDelay: "100 millis" }
 *   ]
 * })
 *
 * const program = LanguageModel.generate({ messages: [{ role: "user", content: "Hi" }] }).pipe(
 *   Effect.provide(MockLayer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Completion from "@effect-llm/core/Completion"
import * as GenerateRequest from "@effect-llm/core/GenerateRequest"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import type { LlmError } from "@effect-llm/core/LlmError"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * A scripted answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly text: string
  readonly usage?: Partial<Completion.Usage>
  readonly finishReason?: Completion.FinishReason
  /** Wait this long before answering (before the first delta when streamed). */
  readonly delay?: Duration.DurationInput
  /** The served model (default: the requested model). */
  readonly servedModel?: string
}

/**
 * A scripted stream: the chunks arrive `chunkDelay` apart (the first after `delay`). With
 * `failAfter`, the stream fails with `error` after that many chunks. Through `generate` the
 * whole text arrives (or the error is raised) when the stream would have ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chunks {
  readonly chunks: ReadonlyArray<string>
  readonly chunkDelay?: Duration.DurationInput
  readonly delay?: Duration.DurationInput
  readonly failAfter?: { readonly chunks: number; readonly error: LlmError }
  readonly usage?: Partial<Completion.Usage>
  readonly finishReason?: Completion.FinishReason
  readonly servedModel?: string
}

/**
 * A scripted failure with any error of the taxonomy (after `delay`, if given).
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly fail: LlmError
  readonly delay?: Duration.DurationInput
}

/**
 * Only a delay: the default answer (an echo of the last user message) after `delay`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delay {
  readonly delay: Duration.DurationInput
}

/**
 * What the mock does for one call.
 *
 * @since 0.1.0
 * @category models
 */
export type Step = Answer | Chunks | Failure | Delay

/**
 * Decides the step of a call from its request and its index (0 for the first call).
 *
 * @since 0.1.0
 * @category models
 */
export type Responder = (request: GenerateRequest.GenerateRequest, index: number) => Step

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Provider name (default "mock"). */
  readonly provider?: string
  /** Default model name (default "mock-model"). */
  readonly model?: string
  /** Steps consumed one per call, in order. */
  readonly script?: ReadonlyArray<Step>
  /** Decides calls once the script is used up (default: an echo of the last user message). */
  readonly respond?: Responder
}

/**
 * A mock model and what it was asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mock {
  readonly model: LanguageModel.With<LlmError>
  /** Every request received (generate and stream), in order. */
  readonly calls: Effect.Effect<ReadonlyArray<GenerateRequest.GenerateRequest>>
  /** Appends steps to the script. */
  readonly script: (steps: ReadonlyArray<Step>) => Effect.Effect<void>
}

/**
 * The mock of `layerWithMock`, for tests that assert on the calls.
 *
 * @since 0.1.0
 * @category tags
 */
export class MockLanguageModel extends Context.Tag("@effect-llm/testing/MockLanguageModel")<
  MockLanguageModel,
  Mock
>() {}

const estimateTokens = (chars: number): number => chars === 0 ? 0 : Math.ceil(chars / 4)

const promptChars = (request: GenerateRequest.GenerateRequest): number => {
  let chars = 0
  for (const message of request.messages) chars += GenerateRequest.contentText(message.content).length
  return chars
}

const lastUserText = (request: GenerateRequest.GenerateRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!
    if (message.role === "user") return GenerateRequest.contentText(message.content)
  }
  return ""
}

const echo = (request: GenerateRequest.GenerateRequest): Answer => ({ text: `Echo: ${lastUserText(request)}` })

const sleep = (duration: Duration.DurationInput | undefined): Effect.Effect<void> =>
  duration === undefined ? Effect.void : Effect.sleep(duration)

/**
 * Builds a mock model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Mock> =>
  Effect.sync(() => {
    const provider = options.provider ?? "mock"
    const defaultModel = options.model ?? "mock-model"
    const queue: Array<Step> = options.script ? [...options.script] : []
    const calls: Array<GenerateRequest.GenerateRequest> = []
    const respond = options.respond ?? echo

    const next = (request: GenerateRequest.GenerateRequest): Step => {
      const index = calls.length
      calls.push(request)
      const step = queue.shift()
      return step ?? respond(request, index)
    }

    const completion = (
      request: GenerateRequest.GenerateRequest,
      text: string,
      step: Partial<Answer>,
      startedAt: number,
      endedAt: number
    ): Completion.Completion => {
      const model = request.model ?? defaultModel
      const usage = step.usage ?? {}
      const cachedInputTokens = usage.cachedInputTokens ?? 0
      const cacheWriteInputTokens = usage.cacheWriteInputTokens ?? 0
      const reasoningTokens = usage.reasoningTokens ?? 0
      return {
        text,
        finishReason: step.finishReason ?? "stop",
        usage: {
          inputTokens: usage.inputTokens ?? estimateTokens(promptChars(request)),
          cachedInputTokens,
          cacheWriteInputTokens,
          outputTokens: usage.outputTokens ?? estimateTokens(text.length) + reasoningTokens,
          reasoningTokens
        },
        provider,
        model,
        servedModel: step.servedModel ?? model,
        attempts: [{ provider, model, outcome: "success", durationMillis: endedAt - startedAt }],
        ...(request.tier !== undefined ? { tier: request.tier } : {})
      }
    }

    const chunkTime = (step: Chunks, count: number): Duration.Duration => {
      const base = step.delay === undefined ? Duration.zero : Duration.decode(step.delay)
      if (step.chunkDelay === undefined || count <= 1) return base
      return Duration.sum(base, Duration.times(Duration.decode(step.chunkDelay), count - 1))
    }

    const generate = (request: GenerateRequest.GenerateRequest): Effect.Effect<Completion.Completion, LlmError> =>
      Effect.suspend(() => {
        const step = next(request)
        if ("fail" in step) return Effect.zipRight(sleep(step.delay), Effect.fail(step.fail))
        return Effect.flatMap(Clock.currentTimeMillis, (startedAt) => {
          if ("chunks" in step) {
            if (step.failAfter !== undefined) {
              const failAfter = step.failAfter
              return Effect.zipRight(
                Effect.sleep(chunkTime(step, Math.min(failAfter.chunks, step.chunks.length))),
                Effect.fail(failAfter.error)
              )
            }
            return Effect.zipRight(
              Effect.sleep(chunkTime(step, step.chunks.length)),
              Effect.map(
                Clock.currentTimeMillis,
                (endedAt) => completion(request, step.chunks.join(""), step, startedAt, endedAt)
              )
            )
          }
          const answer: Answer = "text" in step ? step : { ...echo(request), delay: step.delay }
          return Effect.zipRight(
            sleep(answer.delay),
            Effect.map(
              Clock.currentTimeMillis,
              (endedAt) => completion(request, answer.text, answer, startedAt, endedAt)
            )
          )
        })
      })

    const stream = (request: GenerateRequest.GenerateRequest): Stream.Stream<StreamEvent.StreamEvent, LlmError> =>
      Stream.unwrap(Effect.suspend(() => {
        const step = next(request)
        if ("fail" in step) return Effect.succeed(Stream.fail(step.fail).pipe(Stream.onStart(sleep(step.delay))))
        return Effect.map(Clock.currentTimeMillis, (startedAt) => {
          const chunksStep: Chunks = "chunks" in step
            ? step
            : "text" in step
            ? { ...step, chunks: step.text.length === 0 ? [] : [step.text] }
            : { chunks: [echo(request).text], delay: step.delay }
          const limit = chunksStep.failAfter === undefined
            ? chunksStep.chunks.length
            : Math.min(chunksStep.failAfter.chunks, chunksStep.chunks.length)
          const deltas: Stream.Stream<StreamEvent.StreamEvent> = Stream.unfoldEffect(0, (i) => {
            if (i >= limit) return Effect.succeed(Option.none())
            const wait = i === 0 ? chunksStep.delay : chunksStep.chunkDelay
            return Effect.as(sleep(wait), Option.some([StreamEvent.textDelta(chunksStep.chunks[i]!), i + 1] as const))
          })
          const end: Stream.Stream<StreamEvent.StreamEvent, LlmError> = chunksStep.failAfter !== undefined
            ? Stream.fail(chunksStep.failAfter.error)
            : Stream.fromEffect(
              Effect.map(Clock.currentTimeMillis, (endedAt) =>
                StreamEvent.finish(completion(request, chunksStep.chunks.join(""), chunksStep, startedAt, endedAt)))
            )
          const first = limit === 0 && chunksStep.delay !== undefined
            ? Stream.execute(sleep(chunksStep.delay))
            : Stream.empty
          return Stream.concat(Stream.concat(first, deltas), end)
        })
      }))

    return {
      model: LanguageModel.make({ provider, model: defaultModel, generate, stream }),
      calls: Effect.sync(() =>
        calls.slice()
      ),
      script: (steps) =>
        Effect.sync(() => {
          for (const step of steps) queue.push(step)
        })
    }
  })

/**
 * Serves a mock model under the `LanguageModel` tag.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, Effect.map(make(options), (mock) => mock.model))

/**
 * Serves a mock model under the `LanguageModel` tag and the mock itself under `MockLanguageModel`,
 * so a test can read its calls or script more steps.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithMock = (
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel | MockLanguageModel> =>
  Layer.effectContext(
    Effect.map(make(options), (mock) =>
      Context.make(MockLanguageModel, mock).pipe(Context.add(LanguageModel.LanguageModel, mock.model)))
  )
