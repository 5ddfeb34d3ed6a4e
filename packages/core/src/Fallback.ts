/**
 * Fallback chains: when a model fails with an error that may move on (by default
 * `LlmError.isFallbackable`: rate limit after retries, quota, server error, overload, connection,
 * timeout, authentication, open circuit, malformed response — never `InvalidRequest`), the next
 * model of the chain answers. Streams fall back only before their first event; after it, the
 * failure reaches the caller.
 *
 * The `Completion`'s `attempts` records the trail: every model tried (with the retries each made),
 * its outcome, and the one that answered. Every switch emits a `FallbackTriggered` call event.
 *
 * The error type of the result is the union of the chain's errors: the primary's errors still
 * reach the caller when they do not move on (an `InvalidRequest`), and the last model's errors
 * when the chain runs out.
 *
 * {@link to}, {@link chain} and {@link layer} throw `InvalidOptions` for options they cannot work
 * with (an empty chain, a `when` that is not a function).
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as Fallback from "@effect-llm/core/Fallback"
 *
 * declare const primary: LanguageModel.With<LlmError.ProviderError>
 * declare const backup: LanguageModel.With<LlmError.ProviderError>
 * declare const lastResort: LanguageModel.With<LlmError.ProviderError>
 *
 * const model = primary.pipe(Fallback.to(backup))
 * const chain = Fallback.chain([primary, backup, lastResort])
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import type { Attempt, Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { always, beforeFirstEvent, withTrail } from "./internal/each.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import * as LlmError from "./LlmError.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * Options of a fallback.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Which errors move on to the next model. Default `LlmError.isFallbackable`. */
  readonly when?: (error: LlmError.LlmError) => boolean
}

const defaultWhen = LlmError.isFallbackable

/** Checks options, throwing `InvalidOptions` for one it cannot work with. */
const check = (options: Options | undefined): void => InvalidOptions.isFunction("Fallback", "when", options?.when)

/** Checks the models of a chain: `LanguageModel`s, at least `min` of them. */
const checkModels = (option: string, models: ReadonlyArray<unknown>, min: number): void => {
  if (!Array.isArray(models)) return InvalidOptions.invalid("Fallback", option, "must be an array of models")
  if (models.length < min) InvalidOptions.invalid("Fallback", option, `must hold at least ${min} model`)
  models.forEach((model, i) => InvalidOptions.isModel("Fallback", `${option}[${i}]`, model))
}

/** The request for a model other than the one it named: the next model answers with its own. */
const forOther = (request: GenerateRequest): GenerateRequest => {
  if (request.model === undefined) return request
  const { model: _, ...rest } = request
  return rest
}

/**
 * Tries `self`, then `other` when `self` fails with an error that moves on. Throws
 * `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category combinators
 */
export const to: {
  <E2, R2>(
    other: LanguageModel.With<E2, R2>,
    options?: Options
  ): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E | E2, R | R2>
  <E, R, E2, R2>(
    self: LanguageModel.With<E, R>,
    other: LanguageModel.With<E2, R2>,
    options?: Options
  ): LanguageModel.With<E | E2, R | R2>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]) && LanguageModel.isLanguageModel(args[1]),
  <E, R, E2, R2>(
    self: LanguageModel.With<E, R>,
    other: LanguageModel.With<E2, R2>,
    options?: Options
  ): LanguageModel.With<E | E2, R | R2> => {
    check(options)
    const when = options?.when ?? defaultWhen
    const movesOn = (error: unknown): error is LlmError.LlmError => internal.isTaggedError(error) && when(error)
    const switchTo = (request: GenerateRequest, error: LlmError.LlmError) =>
      CallEvent.emit({
        _tag: "FallbackTriggered",
        from: { provider: self.provider, model: request.model ?? self.model },
        to: { provider: other.provider, model: other.model },
        reason: error._tag
      })
    const trailFor = (request: GenerateRequest, error: unknown) =>
      internal.trailOf(error, { provider: self.provider, model: request.model ?? self.model })
    /**
     * Runs `first`; when it fails with an error that moves on (and `canMove()` holds), the other
     * model's call, given the trail of the first.
     */
    const fallingBack = (
      request: GenerateRequest,
      first: Effect.Effect<Completion, E, R>,
      second: (request: GenerateRequest, trail: ReadonlyArray<Attempt>) => Effect.Effect<Completion, E2, R2>,
      canMove: () => boolean
    ): Effect.Effect<Completion, E | E2, R | R2> =>
      Effect.catchAll(first, (error): Effect.Effect<Completion, E | E2, R2> => {
        if (!canMove() || !movesOn(error)) return Effect.fail(error)
        const trail = trailFor(request, error)
        return Effect.zipRight(
          switchTo(request, error),
          Effect.tapError(
            second(forOther(request), trail),
            (next) => Effect.sync(() => internal.setTrail(next, [...trail, ...internal.trailOf(next, other)]))
          )
        )
      })
    const generateOther = (request: GenerateRequest, trail: ReadonlyArray<Attempt>) =>
      Effect.map(other.generate(request), (completion) => internal.prependTrail(completion, trail))
    return LanguageModel.make<E | E2, R | R2>({
      provider: self.provider,
      model: self.model,
      // no wait of its own: the chain enforces deadlines when both of its models do
      enforcesDeadlines: self.enforcesDeadlines === true && other.enforcesDeadlines === true,
      generate: (request) => fallingBack(request, self.generate(request), generateOther, always),
      streamEach: (request, onEvent) => {
        const first = beforeFirstEvent(onEvent)
        return fallingBack(
          request,
          self.streamEach(request, first.onEvent),
          (request, trail) => withTrail((onEvent) => other.streamEach(request, onEvent), onEvent, trail),
          first.before
        )
      },
      stream: (request) =>
        Stream.suspend(() => {
          let emitted = false
          return self.stream(request).pipe(
            Stream.mapChunks((chunk) => {
              if (chunk.length > 0) emitted = true
              return chunk
            }),
            Stream.catchAll((error): Stream.Stream<StreamEvent, E | E2, R2> => {
              if (emitted || !movesOn(error)) return Stream.fail(error)
              const trail = trailFor(request, error)
              return internalStream.unwrap(Effect.as(
                switchTo(request, error),
                other.stream(forOther(request)).pipe(
                  Stream.map(internal.prependTrailEvent(trail)),
                  Stream.tapError((next) =>
                    Effect.sync(() => internal.setTrail(next, [...trail, ...internal.trailOf(next, other)]))
                  )
                )
              ))
            })
          )
        })
    })
  }
)

/**
 * An ordered chain: the first model answers unless it fails with an error that moves on, then the
 * second, and so on. Throws `InvalidOptions` for an empty chain (or an entry that is not a model).
 *
 * @since 0.1.0
 * @category constructors
 */
export const chain = <
  const Models extends readonly [LanguageModel.With<any, any>, ...Array<LanguageModel.With<any, any>>]
>(
  models: Models,
  options?: Options
): LanguageModel.With<LanguageModel.Error<Models[number]>, LanguageModel.Requirements<Models[number]>> => {
  checkModels("models", models, 1)
  check(options)
  let result: LanguageModel.With<any, any> = models[0]
  for (let i = 1; i < models.length; i++) result = to(result, models[i]!, options)
  return result
}

/**
 * The `LanguageModel` below it, falling back to `others` in order (none: the model below as it is).
 * Throws `InvalidOptions` for options it cannot work with (when called, not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E extends LlmError.LlmError, R>(
  others: ReadonlyArray<LanguageModel.With<E, R>>,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | R> => {
  checkModels("others", others, 0)
  check(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const primary = yield* LanguageModel.LanguageModel
      const context = yield* Effect.context<R>()
      let result: LanguageModel.Service = primary
      for (const other of others) result = to(result, LanguageModel.provideContext(other, context), options)
      return result
    })
  )
}
