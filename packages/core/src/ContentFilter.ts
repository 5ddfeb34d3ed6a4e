/**
 * Handling `ContentFiltered`: the provider's safety system blocked the input or the output, or the
 * model refused. The handler logs it (provider, model, stage, category — the prompt only when you
 * opt in with `logPrompt`), emits a `ContentFiltered` call event, and answers with a graceful
 * `Completion` you supply, removing the tag from the error type. A filtered call is never retried
 * (no retry policy lists the tag) and the graceful answer carries `finishReason: "content-filter"`
 * so caches never store it.
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as ContentFilter from "@effect-llm/core/ContentFilter"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * // ContentFiltered is gone from the error type
 * const model = base.pipe(ContentFilter.handle(ContentFilter.reply("I can't help with that.")))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import { type Completion, emptyUsage } from "./Completion.js"
import { contentText, type GenerateRequest } from "./GenerateRequest.js"
import { beforeFirstEvent } from "./internal/each.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import * as LanguageModel from "./LanguageModel.js"
import type { ContentFiltered } from "./LlmError.js"
import * as StreamEvent from "./StreamEvent.js"

/**
 * Builds the graceful answer for a filtered call.
 *
 * @since 0.1.0
 * @category models
 */
export type Fallback<R = never> = (
  error: ContentFiltered,
  request: GenerateRequest
) => Completion | Effect.Effect<Completion, never, R>

/**
 * Options of the handler.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Log the prompt's text with the warning. Default `false`. */
  readonly logPrompt?: boolean
  /** Log at all. Default `true`. */
  readonly log?: boolean
}

/**
 * A graceful answer with a fixed text (no usage, `finishReason: "content-filter"`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const reply = (text: string): Fallback => (error) => ({
  text,
  finishReason: "content-filter",
  usage: emptyUsage,
  provider: error.provider,
  model: error.model,
  servedModel: error.model,
  ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
  attempts: [{ provider: error.provider, model: error.model, outcome: "ContentFiltered" }]
})

const isFiltered = (u: unknown): u is ContentFiltered => internal.isTaggedError(u) && u._tag === "ContentFiltered"

/**
 * Turns `ContentFiltered` into the graceful answer `fallback` builds. Removes `ContentFiltered`
 * from the error type. For streams: when nothing was streamed yet, the answer's text is sent as
 * one delta before its `Finish`; after some text, only the `Finish` is sent.
 *
 * @since 0.1.0
 * @category combinators
 */
export const handle: {
  <R2 = never>(
    fallback: Fallback<R2>,
    options?: Options
  ): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<Exclude<E, ContentFiltered>, R | R2>
  <E, R, R2 = never>(
    self: LanguageModel.With<E, R>,
    fallback: Fallback<R2>,
    options?: Options
  ): LanguageModel.With<Exclude<E, ContentFiltered>, R | R2>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R, R2>(
    self: LanguageModel.With<E, R>,
    fallback: Fallback<R2>,
    options?: Options
  ): LanguageModel.With<Exclude<E, ContentFiltered>, R | R2> => {
    const log = options?.log ?? true
    const logPrompt = options?.logPrompt ?? false
    const recover = (error: ContentFiltered, request: GenerateRequest): Effect.Effect<Completion, never, R2> => {
      const logged = log
        ? Effect.logWarning("content filtered").pipe(
          Effect.annotateLogs({
            provider: error.provider,
            model: error.model,
            stage: error.stage,
            ...(error.category !== undefined ? { category: error.category } : {}),
            ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
            ...(logPrompt
              ? { prompt: request.messages.map((m) => `${m.role}: ${contentText(m.content)}`).join("\n") }
              : {})
          })
        )
        : Effect.void
      const event = CallEvent.emit({
        _tag: "ContentFiltered",
        provider: error.provider,
        model: error.model,
        stage: error.stage,
        category: error.category
      })
      const answer = fallback(error, request)
      const graceful = Effect.map(
        Effect.isEffect(answer) ? answer : Effect.succeed(answer),
        (completion): Completion =>
          completion.finishReason === "content-filter" ? completion : { ...completion, finishReason: "content-filter" }
      )
      return Effect.zipRight(Effect.zipRight(logged, event), graceful)
    }
    return LanguageModel.transform(self, {
      generate: (generate) => (request) =>
        Effect.catchIf(generate(request), isFiltered, (error) => recover(error, request)) as Effect.Effect<
          Completion,
          Exclude<E, ContentFiltered>,
          R | R2
        >,
      // `stream`'s semantics without a `Stream`: the graceful answer's text is handed to `onEvent` only
      // when no event reached it before, then its `Finish`
      streamEach: (streamEach) => (request, onEvent) =>
        Effect.suspend(() => {
          const first = beforeFirstEvent(onEvent)
          return Effect.catchIf(streamEach(request, first.onEvent), isFiltered, (error) =>
            Effect.flatMap(recover(error, request), (completion) => {
              const finish = Effect.as(onEvent(StreamEvent.finish(completion)), completion)
              return !first.before() || completion.text === ""
                ? finish
                : Effect.zipRight(onEvent(StreamEvent.textDelta(completion.text)), finish)
            })) as Effect.Effect<Completion, Exclude<E, ContentFiltered>, R | R2>
        }),
      stream: (stream) => (request) =>
        Stream.suspend(() => {
          let emitted = false
          return stream(request).pipe(
            Stream.mapChunks((chunk) => {
              if (chunk.length > 0) emitted = true
              return chunk
            }),
            Stream.catchAll((error): Stream.Stream<StreamEvent.StreamEvent, Exclude<E, ContentFiltered>, R2> => {
              if (!isFiltered(error)) return Stream.fail(error as Exclude<E, ContentFiltered>)
              return internalStream.unwrap(Effect.map(recover(error, request), (completion) =>
                emitted || completion.text === ""
                  ? Stream.make(StreamEvent.finish(completion))
                  : Stream.make(StreamEvent.textDelta(completion.text), StreamEvent.finish(completion))))
            })
          )
        })
    })
  }
)

/**
 * The handler as a layer around the `LanguageModel` below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  fallback: Fallback,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (model): LanguageModel.Service => handle(model, fallback, options))
  )
