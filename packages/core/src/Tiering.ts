/**
 * Model tiering: name models by tier (`small`, `large`, ...), route each request to a tier — the
 * one the request names (`request.tier`), or the one a classifier picks — and cascade: try the
 * small model first and escalate to the large one when the small one fails or a caller-supplied
 * check rejects its answer. `Completion.tier` says which tier answered; `TierSelected` events say
 * why. With `UsageLedger.track({ savingsBaseline: largeModel })` the ledger shows what the cascade
 * saved against always calling the large model (escalations count the wasted small call).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type * as LanguageModel from "@effect-llm/core/LanguageModel"
 * import * as Tiering from "@effect-llm/core/Tiering"
 *
 * declare const mini: LanguageModel.With<never>
 * declare const full: LanguageModel.With<never>
 *
 * // route: the request's tier, else the classifier (prompt size and metadata.task)
 * const routed = Tiering.route({ tiers: { small: mini, large: full }, defaultTier: "small" })
 *
 * // cascade: small first, large when the small answer is not good enough
 * const cascaded = Tiering.cascade({
 *   small: mini,
 *   large: full,
 *   accept: (completion) => completion.finishReason === "stop" && completion.text.length > 20
 * })
 *
 * const program = cascaded.generate({ messages: [{ role: "user", content: "Explain monads briefly" }] }).pipe(
 *   Effect.map((completion) => `${completion.tier}: ${completion.text}`)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CallEvent from "./CallEvent.js"
import type { Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { contentText } from "./GenerateRequest.js"
import { beforeFirstEvent, mapFinish } from "./internal/each.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { InvalidRequest } from "./LlmError.js"
import * as ModelCatalog from "./ModelCatalog.js"
import * as StreamEvent from "./StreamEvent.js"

/**
 * Picks a tier for a request (the request's own `tier` always wins over it).
 *
 * @since 0.1.0
 * @category models
 */
export type Classifier<T extends string> = (request: GenerateRequest) => T

const MODULE = "Tiering"

/** The tiers each classifier made by {@link defaultClassifier} can pick, so `route` can check them. */
const classifierTiers = new WeakMap<Classifier<string>, ReadonlyArray<string>>()

/**
 * The default classifier: `large` when the prompt is longer than `largeAboveChars` (at least 0;
 * default 12,000 characters, ~3k tokens) or `metadata.task` is one of `largeTasks` (default
 * `reasoning`, `code`, `analysis`, `planning`); `small` otherwise. Throws `InvalidOptions` for
 * options it cannot work with; {@link route} refuses it when a tier it picks is not one of the
 * route's tiers.
 *
 * @since 0.1.0
 * @category classifiers
 */
export const defaultClassifier = <S extends string = "small", L extends string = "large">(options?: {
  readonly small?: S
  readonly large?: L
  /** A prompt longer than this many characters is large (at least 0). */
  readonly largeAboveChars?: number
  readonly largeTasks?: ReadonlyArray<string>
  readonly taskKey?: string
}): Classifier<S | L> => {
  InvalidOptions.nonNegative(MODULE, "largeAboveChars", options?.largeAboveChars)
  const small = (options?.small ?? "small") as S
  const large = (options?.large ?? "large") as L
  const limit = options?.largeAboveChars ?? 12_000
  const tasks = new Set(options?.largeTasks ?? ["reasoning", "code", "analysis", "planning"])
  const taskKey = options?.taskKey ?? "task"
  const classifier: Classifier<S | L> = (request) => {
    const task = request.metadata?.[taskKey]
    if (task !== undefined && tasks.has(task)) return large
    let chars = 0
    for (const message of request.messages) {
      chars += contentText(message.content).length
      if (chars > limit) return large
    }
    return small
  }
  classifierTiers.set(classifier, [small, large])
  return classifier
}

type AnyModel = LanguageModel.With<any, any>

const withTier = (completion: Completion, tier: string): Completion =>
  completion.tier === tier ? completion : { ...completion, tier }

const tagStream = <E, R>(stream: Stream.Stream<StreamEvent.StreamEvent, E, R>, tier: string) =>
  Stream.map(
    stream,
    (event): StreamEvent.StreamEvent =>
      event._tag === "Finish" ? { _tag: "Finish", completion: withTier(event.completion, tier) } : event
  )

/**
 * `tagStream` for `streamEach`: a streamed call of `model` whose `Finish` reaches `onEvent` with its
 * completion tagged with `tier` (as it arrives, not held back), and whose result is that completion.
 */
const tagEach = <E, R>(
  model: LanguageModel.With<E, R>,
  request: GenerateRequest,
  onEvent: LanguageModel.OnEvent,
  tier: string
): Effect.Effect<Completion, E, R> => {
  let tagged: Completion | undefined
  return Effect.map(
    model.streamEach(request, (event) => {
      if (event._tag !== "Finish") return onEvent(event)
      tagged = withTier(event.completion, tier)
      return onEvent(tagged === event.completion ? event : StreamEvent.finish(tagged))
    }),
    (completion) => tagged ?? withTier(completion, tier)
  )
}

/**
 * Routes each request to one of several models by tier: `request.tier` if it names one, else the
 * classifier's pick (default: `defaultClassifier()` when the tiers include `small` and `large`), else
 * `defaultTier`. A request naming an unknown tier fails with `InvalidRequest` (param `tier`).
 *
 * Throws `InvalidOptions` for options it cannot work with: no tiers, a tier that is not a model, a
 * `defaultTier` that is not one of the tiers, or a classifier made by {@link defaultClassifier} that
 * picks a tier that is not one of them (it would send those requests to `defaultTier` silently).
 *
 * @since 0.1.0
 * @category constructors
 */
export const route = <const Tiers extends Record<string, AnyModel>>(options: {
  readonly tiers: Tiers
  readonly defaultTier: keyof Tiers & string
  readonly classifier?: Classifier<keyof Tiers & string>
}): LanguageModel.With<
  LanguageModel.Error<Tiers[keyof Tiers]> | InvalidRequest,
  LanguageModel.Requirements<Tiers[keyof Tiers]>
> => {
  type E = LanguageModel.Error<Tiers[keyof Tiers]> | InvalidRequest
  type R = LanguageModel.Requirements<Tiers[keyof Tiers]>
  const tiers = options.tiers as Record<string, LanguageModel.With<E, R>>
  checkRoute(tiers, options.defaultTier, options.classifier)
  const fallback = tiers[options.defaultTier]!
  const classifier: Classifier<string> | undefined = options.classifier ??
    (Object.hasOwn(tiers, "small") && Object.hasOwn(tiers, "large") ? defaultClassifier() : undefined)
  const pick = (request: GenerateRequest): { readonly tier: string; readonly reason: string } | InvalidRequest => {
    if (request.tier !== undefined) {
      return Object.hasOwn(tiers, request.tier)
        ? { tier: request.tier, reason: "requested" }
        : new InvalidRequest({
          provider: fallback.provider,
          model: fallback.model,
          status: 400,
          param: "tier",
          detail: `unknown tier "${request.tier}" (tiers: ${Object.keys(tiers).join(", ")})`
        })
    }
    if (classifier !== undefined) {
      const tier = classifier(request)
      if (Object.hasOwn(tiers, tier)) return { tier, reason: "classifier" }
    }
    return { tier: options.defaultTier, reason: "default" }
  }
  const selected = (tier: string, reason: string) => {
    const model = tiers[tier]!
    return CallEvent.emit({ _tag: "TierSelected", tier, provider: model.provider, model: model.model, reason })
  }
  return LanguageModel.make<E, R>({
    provider: fallback.provider,
    model: fallback.model,
    generate: (request) => {
      const choice = pick(request)
      if (choice instanceof InvalidRequest) return Effect.fail(choice)
      return Effect.zipRight(
        selected(choice.tier, choice.reason),
        Effect.map(tiers[choice.tier]!.generate(request), (completion) => withTier(completion, choice.tier))
      )
    },
    stream: (request) => {
      const choice = pick(request)
      if (choice instanceof InvalidRequest) return Stream.fail(choice)
      return Stream.concat(
        Stream.execute(selected(choice.tier, choice.reason)),
        tagStream(tiers[choice.tier]!.stream(request), choice.tier)
      )
    },
    streamEach: (request, onEvent) => {
      const choice = pick(request)
      if (choice instanceof InvalidRequest) return Effect.fail(choice)
      return Effect.flatMap(
        selected(choice.tier, choice.reason),
        () => tagEach(tiers[choice.tier]!, request, onEvent, choice.tier)
      )
    }
  })
}

const checkRoute = (
  tiers: Record<string, AnyModel>,
  defaultTier: string,
  classifier: Classifier<string> | undefined
): void => {
  if (typeof tiers !== "object" || tiers === null) InvalidOptions.invalid(MODULE, "tiers", "must be a record of models")
  const names = Object.keys(tiers)
  if (names.length === 0) InvalidOptions.invalid(MODULE, "tiers", "must name at least one model")
  for (const name of names) {
    InvalidOptions.isModel(MODULE, `tiers.${name}`, tiers[name])
  }
  const list = names.map((name) => JSON.stringify(name)).join(", ")
  if (typeof defaultTier !== "string" || !Object.hasOwn(tiers, defaultTier)) {
    InvalidOptions.invalid(
      MODULE,
      "defaultTier",
      `must be one of the tiers (${list}), got ${JSON.stringify(defaultTier)}`
    )
  }
  if (classifier !== undefined) {
    InvalidOptions.isFunction(MODULE, "classifier", classifier)
    for (const tier of classifierTiers.get(classifier) ?? []) {
      if (!Object.hasOwn(tiers, tier)) {
        InvalidOptions.invalid(
          MODULE,
          "classifier",
          `picks the tier ${JSON.stringify(tier)}, which is not one of ${list}`
        )
      }
    }
  }
}

/**
 * Options of `cascade`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CascadeOptions<ES, RS, EL, RL> {
  readonly small: LanguageModel.With<ES, RS>
  readonly large: LanguageModel.With<EL, RL>
  /** Whether the small model's answer is good enough (default: every answer that finished with `stop`). */
  readonly accept?: (completion: Completion, request: GenerateRequest) => boolean | Effect.Effect<boolean>
  /** Which failures of the small model escalate (default: all). Others fail the call. */
  readonly escalateOn?: (error: ES) => boolean
  /** Tier names written to `Completion.tier` (default `small` / `large`; not empty, and different). */
  readonly names?: { readonly small?: string; readonly large?: string }
}

const defaultAccept = (completion: Completion) => completion.finishReason === "stop"

const isEffect = (u: unknown): u is Effect.Effect<boolean> => Effect.isEffect(u)

/** The `TierSelected` reason of an escalation after a failure of the small model. */
const escalatedAfter = (error: unknown): string =>
  `escalated after ${(error as { readonly _tag?: string } | undefined)?._tag ?? "failure"}`

/**
 * A cascade: the small model answers unless it fails or `accept` rejects its answer, in which case
 * the large model answers. The completion's `tier` says which one answered, its `attempts` list both
 * calls, and when both are priced its `costUsd` includes the rejected small answer (what the
 * escalation really cost). Streams (`stream` and `streamEach` alike): without `accept` only a
 * failure before the first token escalates; with `accept` the small answer is buffered, checked,
 * then replayed or replaced.
 * Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const cascade = <ES, RS, EL, RL>(
  options: CascadeOptions<ES, RS, EL, RL>
): LanguageModel.With<ES | EL, RS | RL> => {
  const { large, small } = options
  InvalidOptions.isModel(MODULE, "small", small)
  InvalidOptions.isModel(MODULE, "large", large)
  const smallName = options.names?.small ?? "small"
  const largeName = options.names?.large ?? "large"
  for (const [option, name] of [["names.small", smallName], ["names.large", largeName]] as const) {
    if (typeof name !== "string" || name.length === 0) {
      InvalidOptions.invalid(MODULE, option, `must be a non-empty string, got ${JSON.stringify(name)}`)
    }
  }
  if (smallName === largeName) {
    // `Completion.tier` (and the ledger) could not tell which model answered
    InvalidOptions.invalid(MODULE, "names.large", `must differ from names.small, both are ${JSON.stringify(largeName)}`)
  }
  const acceptOf = options.accept
  const escalateOn = options.escalateOn ?? (() => true)

  const check = (completion: Completion, request: GenerateRequest): Effect.Effect<boolean> => {
    if (acceptOf === undefined) return Effect.succeed(defaultAccept(completion))
    const result = acceptOf(completion, request)
    return isEffect(result) ? result : Effect.succeed(result)
  }

  const event = (tier: string, model: LanguageModel.With<unknown, unknown>, reason: string) =>
    CallEvent.emit({ _tag: "TierSelected", tier, provider: model.provider, model: model.model, reason })

  /** The cost of the rejected small answer, added to the large answer's cost when both are priced. */
  const withWasted = (answer: Completion, rejected: Completion | undefined): Effect.Effect<Completion> => {
    if (rejected === undefined) return Effect.succeed(answer)
    return Effect.map(Effect.serviceOption(ModelCatalog.ModelCatalog), (catalog) => {
      const price = (c: Completion) =>
        c.costUsd ??
          (Option.isSome(catalog)
            ? Option.getOrUndefined(
              Option.map(ModelCatalog.findFor(catalog.value, c), (info) => ModelCatalog.cost(c.usage, info))
            )
            : undefined)
      const a = price(answer)
      const r = price(rejected)
      return {
        ...answer,
        ...(a !== undefined && r !== undefined ? { costUsd: a + r } : {}),
        attempts: [...rejected.attempts, ...answer.attempts]
      }
    })
  }

  const escalate = (request: GenerateRequest, reason: string, rejected: Completion | undefined) =>
    Effect.zipRight(
      event(largeName, large, reason),
      Effect.flatMap(large.generate(request), (completion) => withWasted(withTier(completion, largeName), rejected))
    )

  const generate = (request: GenerateRequest): Effect.Effect<Completion, ES | EL, RS | RL> =>
    Effect.zipRight(
      event(smallName, small, "cascade"),
      Effect.matchEffect(small.generate(request), {
        onFailure: (error): Effect.Effect<Completion, ES | EL, RS | RL> =>
          escalateOn(error)
            ? escalate(request, escalatedAfter(error), undefined)
            : Effect.fail(error),
        onSuccess: (completion) =>
          Effect.flatMap(check(completion, request), (ok) =>
            ok
              ? Effect.succeed(withTier(completion, smallName))
              : escalate(request, "escalated: answer rejected", completion))
      })
    )

  const stream = (request: GenerateRequest): Stream.Stream<StreamEvent.StreamEvent, ES | EL, RS | RL> => {
    // the large answer's `Finish` as `escalate` makes it for `generate`: tagged, with the rejected small call
    const largeStream = (reason: string, rejected?: Completion) =>
      Stream.concat(
        Stream.execute(event(largeName, large, reason)),
        Stream.mapEffect(large.stream(request), (e): Effect.Effect<StreamEvent.StreamEvent> =>
          e._tag === "Finish"
            ? Effect.map(withWasted(withTier(e.completion, largeName), rejected), StreamEvent.finish)
            : Effect.succeed(e))
      )
    if (acceptOf !== undefined) {
      // buffer the small answer so it can be checked before anything is emitted
      return internalStream.unwrap(
        Effect.zipRight(
          event(smallName, small, "cascade"),
          Effect.matchEffect(Stream.runCollect(small.stream(request)), {
            onFailure: (error) =>
              escalateOn(error)
                ? Effect.succeed(largeStream(escalatedAfter(error)))
                : Effect.fail(error),
            onSuccess: (events) => {
              const finish = Array.from(events).find((e) => e._tag === "Finish")
              if (finish === undefined || finish._tag !== "Finish") {
                return Effect.succeed(largeStream("escalated: no answer"))
              }
              return Effect.map(check(finish.completion, request), (ok) =>
                ok
                  ? tagStream(Stream.fromIterable(events), smallName)
                  : largeStream("escalated: answer rejected", finish.completion))
            }
          })
        )
      )
    }
    // no check: stream the small answer; escalate only if it fails before its first event
    return internalStream.unwrap(Effect.map(event(smallName, small, "cascade"), () => {
      let started = false
      return tagStream(small.stream(request), smallName).pipe(
        Stream.tap(() => Effect.sync(() => void (started = true))),
        Stream.catchAll((error): Stream.Stream<StreamEvent.StreamEvent, ES | EL, RS | RL> =>
          !started && escalateOn(error)
            ? largeStream(escalatedAfter(error))
            : Stream.fail(error)
        )
      )
    }))
  }

  // `stream`'s semantics without a `Stream`: the same events reach `onEvent`, in the same order
  const largeEach = (
    request: GenerateRequest,
    onEvent: LanguageModel.OnEvent,
    reason: string,
    rejected?: Completion
  ) =>
    Effect.flatMap(event(largeName, large, reason), () =>
      mapFinish(
        (onEvent) => large.streamEach(request, onEvent),
        onEvent,
        (completion) => withWasted(withTier(completion, largeName), rejected)
      ))

  const streamEach = (
    request: GenerateRequest,
    onEvent: LanguageModel.OnEvent
  ): Effect.Effect<Completion, ES | EL, RS | RL> => {
    if (acceptOf !== undefined) {
      // hold the small answer's events back until it is checked, then replay or drop them
      return Effect.flatMap(event(smallName, small, "cascade"), () => {
        const held: Array<StreamEvent.StreamEvent> = []
        // pushed when run, not when built (a model may build an event's effect before running the ones before it)
        const hold = (e: StreamEvent.StreamEvent) => Effect.sync(() => void held.push(e))
        return Effect.matchEffect(small.streamEach(request, hold), {
          onFailure: (error): Effect.Effect<Completion, ES | EL, RS | RL> =>
            escalateOn(error) ? largeEach(request, onEvent, escalatedAfter(error)) : Effect.fail(error),
          onSuccess: () => {
            const finish = held.find((e) => e._tag === "Finish")
            if (finish === undefined || finish._tag !== "Finish") {
              return largeEach(request, onEvent, "escalated: no answer")
            }
            return Effect.flatMap(check(finish.completion, request), (ok) => {
              if (!ok) return largeEach(request, onEvent, "escalated: answer rejected", finish.completion)
              // replayed as `tagStream` would: every `Finish` tagged; the result is the checked one's completion
              const answer = withTier(finish.completion, smallName)
              const replay = (e: StreamEvent.StreamEvent) =>
                onEvent(
                  e === finish
                    ? StreamEvent.finish(answer)
                    : e._tag === "Finish"
                    ? StreamEvent.finish(withTier(e.completion, smallName))
                    : e
                )
              return Effect.as(Effect.forEach(held, replay, { discard: true }), answer)
            })
          }
        })
      })
    }
    // no check: stream the small answer; escalate only if it fails before its first event
    return Effect.flatMap(event(smallName, small, "cascade"), () => {
      const first = beforeFirstEvent(onEvent)
      return Effect.catchAll(
        tagEach(small, request, first.onEvent, smallName),
        (error): Effect.Effect<Completion, ES | EL, RS | RL> =>
          first.before() && escalateOn(error) ? largeEach(request, onEvent, escalatedAfter(error)) : Effect.fail(error)
      )
    })
  }

  return LanguageModel.make({ provider: small.provider, model: small.model, generate, stream, streamEach })
}
