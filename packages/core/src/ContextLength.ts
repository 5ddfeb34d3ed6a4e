/**
 * Keeping prompts inside the model's context window. Before a call, the prompt's tokens (the
 * `Tokenizer` in context, or the default local one) plus the requested output are checked against
 * the model's context window (the `ModelCatalog` in context, or the built-in catalog); when they do
 * not fit, a strategy applies:
 *
 * - {@link truncate}: drop the oldest turns, keep the system messages and the latest turns;
 * - {@link chunk}: split the last user message into parts that fit, ask for each, and combine the
 *   answers in a last call (map-reduce);
 * - {@link larger}: send the request to a model with a larger context window.
 *
 * The same strategy handles a `ContextLengthExceeded` the provider returns (the local count can
 * be off). The handler removes `ContextLengthExceeded` from the error type: when even the strategy
 * cannot make the request fit (a single message larger than the window), the call fails with
 * `InvalidRequest` — fix the request.
 *
 * @example
 * ```ts
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as ContextLength from "@effect-llm/core/ContextLength"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * // With<Exclude<ProviderError, ContextLengthExceeded> | InvalidRequest>
 * const model = base.pipe(ContextLength.handle(ContextLength.truncate()))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import { addUsage, type Completion } from "./Completion.js"
import { contentText, type GenerateRequest, type Message } from "./GenerateRequest.js"
import { beforeFirstEvent, mapFinish } from "./internal/each.js"
import * as internal from "./internal/resilienceTrail.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { type ContextLengthExceeded, InvalidRequest, type LlmError } from "./LlmError.js"
import * as ModelCatalog from "./ModelCatalog.js"
import * as StreamEvent from "./StreamEvent.js"
import * as Tokenizer from "./Tokenizer.js"

/**
 * Which model a count is for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly provider: string
  readonly model: string
}

/**
 * What a strategy does when a request does not fit. `E` and `R` are what it adds.
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy<E = never, R = never> =
  | { readonly _tag: "Truncate" }
  | {
    readonly _tag: "Chunk"
    readonly combine: (answers: ReadonlyArray<string>, request: GenerateRequest) => GenerateRequest
    readonly concurrency: number
  }
  | { readonly _tag: "Larger"; readonly model: LanguageModel.With<E, R> }

/**
 * Drop the oldest turns until the request fits; system messages and the latest message are kept.
 *
 * @since 0.1.0
 * @category strategies
 */
export const truncate = (): Strategy => ({ _tag: "Truncate" })

/**
 * The default reduce step of {@link chunk}: the system messages, then one user message asking to
 * combine the partial answers.
 *
 * @since 0.1.0
 * @category strategies
 */
export const defaultCombine = (answers: ReadonlyArray<string>, request: GenerateRequest): GenerateRequest => {
  const { messages, ...rest } = request
  return {
    ...rest,
    messages: [
      ...messages.filter((m) => m.role === "system"),
      {
        role: "user",
        content:
          `The input was too long, so it was answered in ${answers.length} parts. Combine these partial answers into one answer:\n\n${
            answers.map((a, i) => `Part ${i + 1}:\n${a}`).join("\n\n")
          }`
      }
    ]
  }
}

const MODULE = "ContextLength"

const checkChunk = (prefix: string, combine: unknown, concurrency: number | undefined): void => {
  InvalidOptions.isFunction(MODULE, `${prefix}combine`, combine)
  InvalidOptions.integer(MODULE, `${prefix}concurrency`, concurrency, 1)
}

/**
 * Split the last user message into parts that fit, ask for each part (with the rest of the
 * conversation), then combine the answers in one more call. The completion's usage is the sum.
 * Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category strategies
 */
export const chunk = (options?: {
  /** Builds the reduce request from the parts' answers. Default {@link defaultCombine}. */
  readonly combine?: (answers: ReadonlyArray<string>, request: GenerateRequest) => GenerateRequest
  /** Parts asked at once (an integer of at least 1). Default 1. */
  readonly concurrency?: number
}): Strategy => {
  checkChunk("", options?.combine, options?.concurrency)
  return {
    _tag: "Chunk",
    combine: options?.combine ?? defaultCombine,
    concurrency: options?.concurrency ?? 1
  }
}

/**
 * Send the request to a model with a larger context window. Throws `InvalidOptions` when `model`
 * is not a model.
 *
 * @since 0.1.0
 * @category strategies
 */
export const larger = <E, R>(model: LanguageModel.With<E, R>): Strategy<E, R> => {
  InvalidOptions.isModel(MODULE, "model", model)
  return { _tag: "Larger", model }
}

/** Checks a strategy (built by hand, perhaps) and the options, when the handler is built. */
const check = (strategy: Strategy<unknown, unknown>, options: Options | undefined): void => {
  if (typeof strategy !== "object" || strategy === null) {
    InvalidOptions.invalid(MODULE, "strategy", "must be made by ContextLength.truncate, chunk or larger")
  }
  InvalidOptions.oneOf(MODULE, "strategy._tag", strategy._tag, ["Truncate", "Chunk", "Larger"])
  if (strategy._tag === "Chunk") {
    checkChunk(
      "strategy.",
      InvalidOptions.required(MODULE, "strategy.combine", strategy.combine),
      InvalidOptions.required(MODULE, "strategy.concurrency", strategy.concurrency)
    )
  } else if (strategy._tag === "Larger") {
    InvalidOptions.isModel(MODULE, "strategy.model", strategy.model)
  }
  InvalidOptions.isFunction(MODULE, "countTokens", options?.countTokens)
  InvalidOptions.isFunction(MODULE, "contextWindow", options?.contextWindow)
}

/**
 * Where counts and windows come from. By default the `Tokenizer` and `ModelCatalog` in context, or
 * their defaults (`Tokenizer.make()`, `ModelCatalog.defaultCatalog`) when none is provided; no
 * requirement is added either way.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly countTokens?: (messages: ReadonlyArray<Message>, target: Target) => Effect.Effect<number>
  readonly contextWindow?: (target: Target) => number | undefined
}

let defaultTokenizer: Tokenizer.Service | undefined

const countWith = (options: Options | undefined) =>
  options?.countTokens ??
    ((messages: ReadonlyArray<Message>, target: Target) =>
      Effect.flatMap(Effect.serviceOption(Tokenizer.Tokenizer), (tokenizer) =>
        Option.getOrElse(tokenizer, () => (defaultTokenizer ??= Tokenizer.make())).count(messages, target)))

const windowWith = (options: Options | undefined) => (target: Target): Effect.Effect<number | undefined> =>
  options?.contextWindow !== undefined
    ? Effect.succeed(options.contextWindow(target))
    : Effect.map(Effect.serviceOption(ModelCatalog.ModelCatalog), (catalog) => {
      const info = Option.getOrElse(catalog, () => ModelCatalog.defaultCatalog).find(target.provider, target.model)
      return Option.isSome(info) ? info.value.contextWindow : undefined
    })

const isContextLength = (u: unknown): u is ContextLengthExceeded =>
  internal.isTaggedError(u) && u._tag === "ContextLengthExceeded"

const tooLong = (target: Target, detail: string) =>
  new InvalidRequest({ provider: target.provider, model: target.model, status: 400, detail })

type Plan =
  | { readonly _tag: "Send"; readonly request: GenerateRequest }
  | { readonly _tag: "Parts"; readonly requests: ReadonlyArray<GenerateRequest> }
  | { readonly _tag: "Larger" }

/** Splits a text into parts of at most `size` characters, at whitespace when possible. */
const splitText = (text: string, size: number): Array<string> => {
  const parts: Array<string> = []
  let rest = text
  while (rest.length > size) {
    let cut = rest.lastIndexOf("\n", size)
    if (cut < size / 2) cut = rest.lastIndexOf(" ", size)
    if (cut < size / 2) cut = size
    parts.push(rest.slice(0, cut))
    rest = rest.slice(cut).replace(/^\s+/, "")
  }
  if (rest.length > 0) parts.push(rest)
  return parts
}

/**
 * Handles requests that do not fit the context window with a strategy. Removes
 * `ContextLengthExceeded` from the error type; adds `InvalidRequest` (a request no strategy can
 * fit) and what the strategy's model adds. Throws `InvalidOptions` for a strategy or options it
 * cannot work with (a strategy built by hand included), when it is called.
 *
 * @since 0.1.0
 * @category combinators
 */
export const handle: {
  <E2 = never, R2 = never>(
    strategy: Strategy<E2, R2>,
    options?: Options
  ): <E, R>(
    self: LanguageModel.With<E, R>
  ) => LanguageModel.With<Exclude<E | E2, ContextLengthExceeded> | InvalidRequest, R | R2>
  <E, R, E2 = never, R2 = never>(
    self: LanguageModel.With<E, R>,
    strategy: Strategy<E2, R2>,
    options?: Options
  ): LanguageModel.With<Exclude<E | E2, ContextLengthExceeded> | InvalidRequest, R | R2>
} = ((...args: ReadonlyArray<any>) => {
  // the strategy and options are checked when `handle` is called, in the data-last form too
  if (LanguageModel.isLanguageModel(args[0])) check(args[1], args[2])
  else check(args[0], args[1])
  return (handleUnchecked as (...args: ReadonlyArray<any>) => unknown)(...args)
}) as any

const handleUnchecked: {
  <E, R, E2, R2>(
    self: LanguageModel.With<E, R>,
    strategy: Strategy<E2, R2>,
    options?: Options
  ): LanguageModel.With<Exclude<E | E2, ContextLengthExceeded> | InvalidRequest, R | R2>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R, E2, R2>(
    self: LanguageModel.With<E, R>,
    strategy: Strategy<E2, R2>,
    options?: Options
  ): LanguageModel.With<Exclude<E | E2, ContextLengthExceeded> | InvalidRequest, R | R2> => {
    type Out = Exclude<E | E2, ContextLengthExceeded> | InvalidRequest
    const count = countWith(options)
    const windowOf = windowWith(options)
    const targetOf = (request: GenerateRequest): Target => ({
      provider: self.provider,
      model: request.model ?? self.model
    })
    // the handler removes `ContextLengthExceeded` from the error type: one that comes after a stream
    // began (nothing can be re-planned then) is an `InvalidRequest` too
    const afterFirstEvent = (target: Target, e: ContextLengthExceeded) =>
      tooLong(target, `context length exceeded after the stream began: ${e.message}`)
    const residual = (target: Target) => <A, X, Y>(effect: Effect.Effect<A, X, Y>) =>
      Effect.catchIf(
        effect,
        isContextLength,
        (e) =>
          Effect.fail(tooLong(target, `context length exceeded after ${strategy._tag.toLowerCase()}: ${e.message}`))
      ) as Effect.Effect<A, Exclude<X, ContextLengthExceeded> | InvalidRequest, Y>

    /**
     * Plans the request for a budget of input tokens (in the tokenizer's units). `scale` converts
     * the provider's reported count to ours when the provider refused a request we thought fit.
     */
    const plan = (
      request: GenerateRequest,
      target: Target,
      inputBudget: number,
      limit: number
    ): Effect.Effect<Plan, InvalidRequest> => {
      if (strategy._tag === "Larger") return Effect.succeed({ _tag: "Larger" })
      const messages = request.messages
      return Effect.flatMap(Effect.forEach(messages, (m) => count([m], target)), (counts) => {
        if (strategy._tag === "Truncate") {
          let used = 0
          const keep = new Array<boolean>(messages.length).fill(false)
          messages.forEach((m, i) => {
            if (m.role === "system") {
              keep[i] = true
              used += counts[i]!
            }
          })
          const last = messages.length - 1
          for (let i = last; i >= 0; i--) {
            if (keep[i]) continue
            if (i !== last && used + counts[i]! > inputBudget) break
            keep[i] = true
            used += counts[i]!
          }
          if (used > inputBudget) {
            return Effect.fail(
              tooLong(target, `the system messages and the last message need ${used} tokens, ${inputBudget} fit`)
            )
          }
          const kept = messages.filter((_, i) => keep[i])
          return Effect.as(
            CallEvent.emit({
              _tag: "ContextTruncated",
              provider: target.provider,
              model: target.model,
              droppedMessages: messages.length - kept.length,
              tokens: used,
              limit
            }),
            { _tag: "Send", request: { ...request, messages: kept } } as Plan
          )
        }
        // Chunk: split the last user message
        let lastUser = -1
        for (let i = messages.length - 1; i >= 0; i--) {
          if (messages[i]!.role === "user") {
            lastUser = i
            break
          }
        }
        if (lastUser < 0) return Effect.fail(tooLong(target, "no user message to split"))
        const text = contentText(messages[lastUser]!.content)
        let others = 0
        counts.forEach((c, i) => {
          if (i !== lastUser) others += c
        })
        const room = inputBudget - others
        const tokens = counts[lastUser]!
        if (room <= 0 || text.length === 0) {
          return Effect.fail(tooLong(target, `the rest of the conversation needs ${others} tokens, ${inputBudget} fit`))
        }
        const size = Math.max(1, Math.floor((text.length * room) / Math.max(tokens, 1) * 0.9))
        const requests = splitText(text, size).map((part): GenerateRequest => ({
          ...request,
          messages: messages.map((m, i) => (i === lastUser ? { role: m.role, content: part } : m))
        }))
        return Effect.succeed({ _tag: "Parts", requests } as Plan)
      })
    }

    /** The budget of input tokens for a limit, and the plan; `reported` when the provider refused. */
    const rescue = (
      request: GenerateRequest,
      target: Target,
      limit: number,
      counted: number,
      reported: ContextLengthExceeded | undefined
    ) => {
      const output = request.maxOutputTokens ?? 0
      let budget = limit - output
      if (reported !== undefined) {
        const scale = reported.requested !== undefined && reported.limit !== undefined && counted > 0
          ? reported.requested / counted
          : 4 / 3
        budget = Math.floor(((reported.limit ?? limit) - output) / Math.max(scale, 1) * 0.95)
        if (reported.limit === undefined && reported.requested === undefined) budget = Math.floor(counted * 0.75)
      }
      return plan(request, target, budget, limit)
    }

    const larger = strategy._tag === "Larger" ? strategy.model : undefined
    const toLarger = (request: GenerateRequest, target: Target) => {
      const { model: _, ...rest } = request
      return Effect.as(
        CallEvent.emit({
          _tag: "FallbackTriggered",
          from: target,
          to: { provider: larger!.provider, model: larger!.model },
          reason: "ContextLengthExceeded"
        }),
        rest as GenerateRequest
      )
    }

    const runPlanGenerate = (
      request: GenerateRequest,
      target: Target,
      p: Plan,
      generate: (request: GenerateRequest) => Effect.Effect<Completion, E, R>
    ): Effect.Effect<Completion, Out, R | R2> => {
      switch (p._tag) {
        case "Send":
          return residual(target)(generate(p.request)) as Effect.Effect<Completion, Out, R>
        case "Larger":
          return Effect.flatMap(
            toLarger(request, target),
            (r) => residual(target)(larger!.generate(r))
          ) as Effect.Effect<
            Completion,
            Out,
            R2
          >
        case "Parts": {
          if (strategy._tag !== "Chunk") return Effect.die("unreachable")
          return Effect.flatMap(
            Effect.forEach(p.requests, (r) => residual(target)(generate(r)), { concurrency: strategy.concurrency }),
            (parts) =>
              Effect.map(
                residual(target)(generate(strategy.combine(parts.map((c) => c.text), request))),
                (final) => sumParts(parts, final)
              )
          ) as Effect.Effect<Completion, Out, R>
        }
      }
    }

    /**
     * `runPlan` of `stream` without a `Stream`: the events of the planned call go to `onEvent`. For
     * chunks, the parts are generated and the reduce call is streamed, its `Finish` carrying the sum.
     */
    const runPlanEach = (
      request: GenerateRequest,
      target: Target,
      p: Plan,
      streamEach: (request: GenerateRequest, onEvent: LanguageModel.OnEvent) => Effect.Effect<Completion, E, R>,
      onEvent: LanguageModel.OnEvent
    ): Effect.Effect<Completion, Out, R | R2> => {
      switch (p._tag) {
        case "Send":
          return residual(target)(streamEach(p.request, onEvent)) as Effect.Effect<Completion, Out, R>
        case "Larger":
          return Effect.flatMap(
            toLarger(request, target),
            (r) => residual(target)(larger!.streamEach(r, onEvent))
          ) as Effect.Effect<Completion, Out, R2>
        case "Parts": {
          if (strategy._tag !== "Chunk") return Effect.die("unreachable")
          return Effect.flatMap(
            Effect.forEach(p.requests, (r) => residual(target)(self.generate(r)), {
              concurrency: strategy.concurrency
            }),
            (parts) =>
              residual(target)(
                mapFinish(
                  (onEvent) => streamEach(strategy.combine(parts.map((c) => c.text), request), onEvent),
                  onEvent,
                  (final) => Effect.succeed(sumParts(parts, final))
                )
              )
          ) as Effect.Effect<Completion, Out, R>
        }
      }
    }

    interface Preflight {
      readonly limit: number | undefined
      readonly counted: number
      readonly fits: boolean
    }
    const preflight = (request: GenerateRequest, target: Target): Effect.Effect<Preflight> =>
      Effect.flatMap(windowOf(target), (limit): Effect.Effect<Preflight> =>
        limit === undefined
          ? Effect.succeed({ limit, counted: 0, fits: true })
          : Effect.map(count(request.messages, target), (counted) => ({
            limit,
            counted,
            fits: counted + (request.maxOutputTokens ?? 0) <= limit
          })))

    return LanguageModel.transform(self, {
      generate: (generate) => (request) => {
        const target = targetOf(request)
        return Effect.flatMap(preflight(request, target), ({ counted, fits, limit }) => {
          if (!fits) {
            return Effect.flatMap(
              rescue(request, target, limit!, counted, undefined),
              (p) => runPlanGenerate(request, target, p, generate)
            )
          }
          return Effect.catchIf(
            generate(request) as Effect.Effect<Completion, E | ContextLengthExceeded, R>,
            isContextLength,
            (e) =>
              Effect.flatMap(
                counted === 0 ? count(request.messages, target) : Effect.succeed(counted),
                (c) =>
                  Effect.flatMap(rescue(request, target, limit ?? e.limit ?? c, c, e), (p) =>
                    runPlanGenerate(request, target, p, generate))
              )
          ) as Effect.Effect<Completion, Out, R | R2>
        })
      },
      // `stream`'s semantics without a `Stream` in any branch (the chunk parts are generated, as in
      // `stream`, so nothing needs collecting)
      streamEach: (streamEach) => (request, onEvent) => {
        const target = targetOf(request)
        return Effect.flatMap(preflight(request, target), ({ counted, fits, limit }) => {
          if (!fits) {
            return Effect.flatMap(
              rescue(request, target, limit!, counted, undefined),
              (p) => runPlanEach(request, target, p, streamEach, onEvent)
            )
          }
          // made per run (inside the pre-flight's continuation): a call value run twice starts afresh
          const first = beforeFirstEvent(onEvent)
          return Effect.catchAll(
            streamEach(request, first.onEvent),
            (e): Effect.Effect<Completion, Out, R | R2> => {
              if (!isContextLength(e)) return Effect.fail(e as Out)
              // once an event reached the caller nothing is re-planned (as in `stream`)
              if (!first.before()) return Effect.fail(afterFirstEvent(target, e))
              return Effect.flatMap(
                counted === 0 ? count(request.messages, target) : Effect.succeed(counted),
                (c) =>
                  Effect.flatMap(
                    rescue(request, target, limit ?? e.limit ?? c, c, e),
                    (p) => runPlanEach(request, target, p, streamEach, onEvent)
                  )
              )
            }
          )
        })
      },
      stream: (stream) => (request) => {
        const target = targetOf(request)
        const residualStream = <X, Y>(
          s: Stream.Stream<StreamEvent.StreamEvent, X, Y>
        ): Stream.Stream<StreamEvent.StreamEvent, Exclude<X, ContextLengthExceeded> | InvalidRequest, Y> =>
          Stream.catchAll(
            s,
            (e): Stream.Stream<never, Exclude<X, ContextLengthExceeded> | InvalidRequest> =>
              isContextLength(e)
                ? Stream.fail(
                  tooLong(target, `context length exceeded after ${strategy._tag.toLowerCase()}: ${e.message}`)
                )
                : Stream.fail(e as Exclude<X, ContextLengthExceeded>)
          )
        const runPlan = (p: Plan): Stream.Stream<StreamEvent.StreamEvent, Out, R | R2> => {
          switch (p._tag) {
            case "Send":
              return residualStream(stream(p.request)) as Stream.Stream<StreamEvent.StreamEvent, Out, R>
            case "Larger":
              return internalStream.unwrap(
                Effect.map(toLarger(request, target), (r) => residualStream(larger!.stream(r)))
              ) as Stream.Stream<StreamEvent.StreamEvent, Out, R2>
            case "Parts": {
              if (strategy._tag !== "Chunk") return Stream.die("unreachable")
              // the parts are generated; the reduce step is streamed
              return internalStream.unwrap(Effect.map(
                Effect.forEach(p.requests, (r) => residual(target)(self.generate(r)), {
                  concurrency: strategy.concurrency
                }),
                (parts) =>
                  residualStream(stream(strategy.combine(parts.map((c) => c.text), request))).pipe(
                    Stream.map((event) =>
                      event._tag === "Finish" ? StreamEvent.finish(sumParts(parts, event.completion)) : event
                    )
                  )
              )) as Stream.Stream<StreamEvent.StreamEvent, Out, R>
            }
          }
        }
        return internalStream.unwrap(Effect.map(preflight(request, target), ({ counted, fits, limit }) => {
          if (!fits) {
            return internalStream.unwrap(Effect.map(rescue(request, target, limit!, counted, undefined), runPlan))
          }
          let emitted = false
          return stream(request).pipe(
            Stream.mapChunks((c) => {
              if (c.length > 0) emitted = true
              return c
            }),
            Stream.catchAll((e): Stream.Stream<StreamEvent.StreamEvent, Out, R | R2> => {
              if (!isContextLength(e)) return Stream.fail(e as Out)
              if (emitted) return Stream.fail(afterFirstEvent(target, e))
              return internalStream.unwrap(Effect.flatMap(
                counted === 0 ? count(request.messages, target) : Effect.succeed(counted),
                (c) => Effect.map(rescue(request, target, limit ?? e.limit ?? c, c, e), runPlan)
              ))
            })
          )
        }))
      }
    })
  }
)

const sumParts = (parts: ReadonlyArray<Completion>, final: Completion): Completion => ({
  ...final,
  usage: parts.reduce((usage, part) => addUsage(usage, part.usage), final.usage),
  ...(final.costUsd !== undefined && parts.every((p) => p.costUsd !== undefined)
    ? { costUsd: parts.reduce((sum, p) => sum + p.costUsd!, final.costUsd) }
    : {}),
  attempts: [...parts.flatMap((p) => p.attempts), ...final.attempts]
})

/**
 * The handler as a layer around the `LanguageModel` below it (whose type keeps every tag, so the
 * layer form does not narrow; use {@link handle} on a model value for that). Throws
 * `InvalidOptions` for a strategy or options it cannot work with, when it is called (not when the
 * layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E2 extends LlmError = never, R2 = never>(
  strategy: Strategy<E2, R2>,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | R2> => {
  check(strategy, options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const model = yield* LanguageModel.LanguageModel
      const context = yield* Effect.context<R2>()
      return LanguageModel.provideContext(handleUnchecked(model, strategy, options), context) as LanguageModel.Service
    })
  )
}
