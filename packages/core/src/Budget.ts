/**
 * Budgets that never overspend: per request (maximum input tokens, `maxOutputTokens` clamped to
 * what is left, maximum USD per call), per user (the request's `user`), per feature and global,
 * over rolling or calendar windows (day / month in a time zone), in tokens or USD.
 *
 * Each call reserves its worst case — the input (counted with the `Tokenizer`) plus
 * `maxOutputTokens` at the output price — atomically in the `BudgetStore` before it starts,
 * reconciles to the real usage when it ends, and releases the reservation on every other exit
 * (typed failure, timeout, interruption, defect) through `acquireUseRelease` / a scope finalizer.
 * Streams reconcile from their `Finish` usage, or from the text streamed so far when they are cut.
 *
 * Hard limits fail the call with `BudgetExceeded` (added to the model's error type); soft limits
 * send one `soft-budget` alert per episode through the `AlertSink`.
 *
 * Limits, windows and options are checked when they are built: an amount that is not positive, a
 * soft share outside (0, 1), an empty rolling window or an unknown time zone throws `InvalidOptions`
 * then, not on the first call.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Stream } from "effect"
 * import * as Budget from "@effect-llm/core/Budget"
 * import * as BudgetStore from "@effect-llm/core/BudgetStore"
 * import * as LanguageModel from "@effect-llm/core/LanguageModel"
 * import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
 * import * as Tokenizer from "@effect-llm/core/Tokenizer"
 *
 * declare const base: LanguageModel.With<never>
 *
 * const model = base.pipe(
 *   Budget.enforce({
 *     perRequest: { maxInputTokens: 20_000, maxUsd: 0.05 },
 *     perUser: Budget.usd(5, Budget.daily("Europe/Paris"), { soft: 0.8 }),
 *     global: Budget.usd(500, Budget.monthly("UTC"))
 *   })
 * )
 *
 * const program = model.generate({ messages: [{ role: "user", content: "Hi" }], user: "alice" }).pipe(
 *   Effect.provide(Layer.mergeAll(BudgetStore.layerMemory, ModelCatalog.layer, Tokenizer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AlertSink from "./AlertSink.js"
import * as BudgetStore from "./BudgetStore.js"
import * as CallEvent from "./CallEvent.js"
import type { Completion, Usage } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { clockOf, type Given, Known, withGiven, withGivenFiber } from "./internal/given.js"
import { Sweeper } from "./internal/sweep.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import { BudgetExceeded } from "./LlmError.js"
import * as ModelCatalog from "./ModelCatalog.js"
import type { StreamEvent } from "./StreamEvent.js"
import * as Tokenizer from "./Tokenizer.js"

/**
 * The window a budget counts over: the last `duration` (rolling), the current calendar day or month
 * in a time zone, or all time.
 *
 * @since 0.1.0
 * @category models
 */
export type Window =
  | { readonly _tag: "Rolling"; readonly duration: Duration.Duration }
  | { readonly _tag: "Calendar"; readonly unit: "day" | "month"; readonly timeZone: string }
  | { readonly _tag: "Total" }

const MODULE = "Budget"

/** USD counters hold integer nano-dollars. */
const NANO = 1_000_000_000

/** The largest USD amount a counter of integer nano-dollars holds exactly (about 9 million). */
const MAX_USD = Math.floor(Number.MAX_SAFE_INTEGER / NANO)

const required = <A>(option: string, value: A | undefined): A => InvalidOptions.required(MODULE, option, value)

const rollingDuration = (option: string, input: Duration.DurationInput): Duration.Duration =>
  required(option, InvalidOptions.duration(MODULE, option, required(option, input), { positive: true }))

const namedZone = (option: string, timeZone: string): DateTime.TimeZone.Named => {
  const zone = typeof timeZone === "string" ? DateTime.zoneMakeNamed(timeZone) : Option.none()
  return Option.isSome(zone)
    ? zone.value
    : InvalidOptions.invalid(MODULE, option, `must be an IANA time zone name, got ${JSON.stringify(timeZone)}`)
}

/**
 * A rolling window: spend in the last `duration` (finite, longer than zero). Throws `InvalidOptions`
 * for a duration it cannot work with.
 *
 * @since 0.1.0
 * @category windows
 */
export const rolling = (duration: Duration.DurationInput): Window => ({
  _tag: "Rolling",
  duration: rollingDuration("duration", duration)
})

/**
 * The current calendar day in `timeZone` (an IANA name; default `UTC`); resets at local midnight.
 * Throws `InvalidOptions` for a time zone that does not exist.
 *
 * @since 0.1.0
 * @category windows
 */
export const daily = (timeZone = "UTC"): Window => {
  namedZone("timeZone", timeZone)
  return { _tag: "Calendar", unit: "day", timeZone }
}

/**
 * The current calendar month in `timeZone` (default `UTC`); resets at local midnight of the 1st.
 * Throws `InvalidOptions` for a time zone that does not exist.
 *
 * @since 0.1.0
 * @category windows
 */
export const monthly = (timeZone = "UTC"): Window => {
  namedZone("timeZone", timeZone)
  return { _tag: "Calendar", unit: "month", timeZone }
}

/**
 * All time: never resets.
 *
 * @since 0.1.0
 * @category windows
 */
export const total: Window = { _tag: "Total" }

/**
 * One limit: `amount` of `unit` per `window`. `soft` (a fraction of `amount` in (0, 1), e.g. `0.8`)
 * sends an alert once per episode when crossed; the hard limit refuses calls. Build limits with
 * {@link usd} and {@link tokens}: `enforce` and `layer` check a hand-built one the same way.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limit {
  readonly unit: "tokens" | "usd"
  readonly amount: number
  readonly window: Window
  readonly soft?: number | undefined
}

const isWindow = (u: unknown): u is Window =>
  typeof u === "object" && u !== null && "_tag" in u &&
  (u._tag === "Rolling" || u._tag === "Calendar" || u._tag === "Total")

/** Checks a window (built by hand, perhaps); returns the time zone of a calendar window. */
const checkWindow = (option: string, window: Window): DateTime.TimeZone.Named | undefined => {
  if (!isWindow(window)) {
    return InvalidOptions.invalid(MODULE, option, "must be a window made by Budget.rolling, daily, monthly or total")
  }
  switch (window._tag) {
    case "Rolling":
      rollingDuration(`${option}.duration`, window.duration)
      return undefined
    case "Calendar":
      InvalidOptions.oneOf(MODULE, `${option}.unit`, required(`${option}.unit`, window.unit), ["day", "month"])
      return namedZone(`${option}.timeZone`, window.timeZone)
    case "Total":
      return undefined
  }
}

const toWindow = (window: Window | Duration.DurationInput): Window => {
  if (!isWindow(window)) return { _tag: "Rolling", duration: rollingDuration("window", window) }
  checkWindow("window", window)
  return window
}

/** An amount of USD: positive, finite and no more than the nano-dollar counters hold. */
const checkUsd = (option: string, amount: number | undefined) => {
  InvalidOptions.positive(MODULE, option, amount)
  if (amount !== undefined && amount > MAX_USD) {
    InvalidOptions.invalid(MODULE, option, `must be at most ${MAX_USD} (USD is counted in nano-dollars), got ${amount}`)
  }
}

const checkAmount = (option: string, unit: Limit["unit"], amount: number) => {
  required(option, amount)
  if (unit === "usd") checkUsd(option, amount)
  else InvalidOptions.integer(MODULE, option, amount, 1)
}

/**
 * A limit in USD; a plain duration (`"1 day"`) is a rolling window. `amount` is positive (at most
 * 9,007,199: counters hold nano-dollars); `soft` is in (0, 1) — a soft limit at the hard limit would
 * never alert before calls are refused. Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const usd = (
  amount: number,
  window: Window | Duration.DurationInput,
  options?: { readonly soft?: number }
): Limit => {
  checkAmount("amount", "usd", amount)
  InvalidOptions.share(MODULE, "soft", options?.soft, true)
  return { unit: "usd", amount, window: toWindow(window), soft: options?.soft }
}

/**
 * A limit in tokens (input plus output); a plain duration is a rolling window. `amount` is an
 * integer of at least 1; `soft` is in (0, 1). Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokens = (
  amount: number,
  window: Window | Duration.DurationInput,
  options?: { readonly soft?: number }
): Limit => {
  checkAmount("amount", "tokens", amount)
  InvalidOptions.share(MODULE, "soft", options?.soft, true)
  return { unit: "tokens", amount, window: toWindow(window), soft: options?.soft }
}

/**
 * Options of `enforce`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly perRequest?: {
    /** Refuse prompts over this many input tokens (an integer of at least 1). */
    readonly maxInputTokens?: number
    /** Clamp every call's `maxOutputTokens` to this (an integer of at least 1). */
    readonly maxOutputTokens?: number
    /** Refuse (or clamp the output of) calls whose worst case costs more than this (positive). */
    readonly maxUsd?: number
  }
  /** Limits per `request.user` (requests without a user are not counted here). */
  readonly perUser?: Limit | ReadonlyArray<Limit>
  /** Limits per `request.feature` (requests without a feature are not counted here). */
  readonly perFeature?: Limit | ReadonlyArray<Limit>
  /** Limits over every call through this model. */
  readonly global?: Limit | ReadonlyArray<Limit>
  /** Lower `maxOutputTokens` to what the budgets have left (default `true`); `false` refuses instead. */
  readonly clampOutput?: boolean
  /**
   * The fewest output tokens worth calling for when clamping (an integer of at least 1; default 16,
   * or less if the request asks for less).
   */
  readonly minOutputTokens?: number
  /** The output cap when neither the request nor the catalog gives one (an integer of at least 1; default 4,096). */
  readonly defaultMaxOutputTokens?: number
  /** Count input tokens with the provider's count-tokens endpoint (see `Tokenizer`). */
  readonly exactCount?: boolean
  /** How long a store keeps a reservation of a process that died (finite, longer than zero; default 10 minutes). */
  readonly reservationTtl?: Duration.DurationInput
  /**
   * Prices for models the catalog does not know (each at least 0); without it a USD budget on an
   * unknown model dies with `UnknownModel`.
   */
  readonly unpricedFallback?: ModelCatalog.Pricing
}

/**
 * The services a budgeted model needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = BudgetStore.BudgetStore | ModelCatalog.ModelCatalog | Tokenizer.Tokenizer

interface Rule {
  readonly scope: "user" | "feature" | "global"
  readonly limit: Limit
  readonly zone: DateTime.TimeZone | undefined
  readonly windowKey: string
  /** The scope and store key of each user or feature seen (made once, not built per call). */
  readonly keys: Map<string, Scoped>
  /** The last calendar window computed (zoned date math is slow: reuse it until it ends). */
  cached: { readonly start: number; readonly end: number; readonly window: BudgetStore.Window } | undefined
}

/** A rule as it applies to one request: its scope (`user:<id>`, ...) and its store key. */
interface Scoped {
  readonly rule: Rule
  readonly scope: string
  readonly key: string
}

/** At most this many scopes per rule keep their strings (past it they are built per call). */
const maxCachedScopes = 10_000

/** Options checked once, when the policy is built: the limits and their time zones, the TTL. */
interface Checked {
  readonly limits: ReadonlyArray<Pick<Rule, "scope" | "limit" | "zone">>
  readonly ttlMillis: number
}

const checkLimit = (option: string, limit: Limit): DateTime.TimeZone.Named | undefined => {
  if (typeof limit !== "object" || limit === null) {
    return InvalidOptions.invalid(MODULE, option, "must be a limit made by Budget.usd or Budget.tokens")
  }
  InvalidOptions.oneOf(MODULE, `${option}.unit`, required(`${option}.unit`, limit.unit), ["tokens", "usd"])
  checkAmount(`${option}.amount`, limit.unit, limit.amount)
  InvalidOptions.share(MODULE, `${option}.soft`, limit.soft, true)
  return checkWindow(`${option}.window`, limit.window)
}

const checkOptions = (options: Options): Checked => {
  const perRequest = options.perRequest
  if (perRequest !== undefined) {
    InvalidOptions.integer(MODULE, "perRequest.maxInputTokens", perRequest.maxInputTokens, 1)
    InvalidOptions.integer(MODULE, "perRequest.maxOutputTokens", perRequest.maxOutputTokens, 1)
    checkUsd("perRequest.maxUsd", perRequest.maxUsd)
  }
  InvalidOptions.integer(MODULE, "minOutputTokens", options.minOutputTokens, 1)
  InvalidOptions.integer(MODULE, "defaultMaxOutputTokens", options.defaultMaxOutputTokens, 1)
  const ttl = InvalidOptions.duration(MODULE, "reservationTtl", options.reservationTtl, { positive: true })
  const pricing = options.unpricedFallback
  if (pricing !== undefined) {
    for (const field of ["input", "cachedInput", "output"] as const) {
      InvalidOptions.nonNegative(
        MODULE,
        `unpricedFallback.${field}`,
        required(`unpricedFallback.${field}`, pricing[field])
      )
    }
    InvalidOptions.nonNegative(MODULE, "unpricedFallback.cacheWrite", pricing.cacheWrite)
    InvalidOptions.nonNegative(MODULE, "unpricedFallback.reasoning", pricing.reasoning)
  }
  const limits: Array<Pick<Rule, "scope" | "limit" | "zone">> = []
  const add = (scope: Rule["scope"], option: string, given: Limit | ReadonlyArray<Limit> | undefined) => {
    if (Array.isArray(given)) {
      given.forEach((limit: Limit, i) => limits.push({ scope, limit, zone: checkLimit(`${option}[${i}]`, limit) }))
    } else if (given !== undefined) {
      limits.push({ scope, limit: given as Limit, zone: checkLimit(option, given as Limit) })
    }
  }
  add("user", "perUser", options.perUser)
  add("feature", "perFeature", options.perFeature)
  add("global", "global", options.global)
  return { limits, ttlMillis: ttl === undefined ? Duration.toMillis(Duration.minutes(10)) : Duration.toMillis(ttl) }
}

const windowFor = (rule: Rule, now: number): BudgetStore.Window => {
  const cached = rule.cached
  if (cached !== undefined && now >= cached.start && now < cached.end) return cached.window
  const window = storeWindow(rule.limit.window, now, rule.zone)
  if (window._tag === "Fixed") rule.cached = { start: window.start, end: window.end, window }
  return window
}

const windowKeyOf = (window: Window): string => {
  switch (window._tag) {
    case "Rolling":
      return `rolling:${Duration.toMillis(window.duration)}`
    case "Calendar":
      return `${window.unit}@${window.timeZone}`
    case "Total":
      return "total"
  }
}

/**
 * The store window of a budget window at `now` (epoch millis): calendar periods are computed in the
 * window's time zone, so a day is 23 or 25 hours long across DST changes.
 *
 * @since 0.1.0
 * @category windows
 */
export const storeWindow = (window: Window, now: number, zone?: DateTime.TimeZone): BudgetStore.Window => {
  switch (window._tag) {
    case "Rolling":
      return { _tag: "Rolling", millis: Duration.toMillis(window.duration) }
    case "Total":
      return { _tag: "Fixed", start: 0, end: Number.POSITIVE_INFINITY }
    case "Calendar": {
      const dt = DateTime.unsafeMakeZoned(now, { timeZone: zone ?? DateTime.zoneUnsafeMakeNamed(window.timeZone) })
      const start = DateTime.startOf(dt, window.unit)
      const end = DateTime.add(start, window.unit === "day" ? { days: 1 } : { months: 1 })
      return { _tag: "Fixed", start: DateTime.toEpochMillis(start), end: DateTime.toEpochMillis(end) }
    }
  }
}

let sequence = 0
const instance = Math.random().toString(36).slice(2, 10)

interface Plan {
  readonly id: string
  readonly request: GenerateRequest
  readonly target: Tokenizer.Target
  readonly info: ModelCatalog.ModelInfo | undefined
  readonly inputTokens: number
  readonly items: ReadonlyArray<{ readonly scope: string; readonly unit: "tokens" | "usd" }>
}

/** A store's and a tokenizer's plain faces (see `syncFacesOf` in `makeEnforcer`). */
interface SyncFaces {
  readonly store: BudgetStore.SyncFace
  readonly countSync: NonNullable<Tokenizer.Service["countSync"]>
}

/** What a reservation asks the store for, before it asks (see `draft` in `makeEnforcer`). */
type Draft =
  | { readonly _tag: "Refused"; readonly refusal: Effect.Effect<never, BudgetExceeded> }
  | { readonly _tag: "Free"; readonly plan: Plan }
  | {
    readonly _tag: "Reserve"
    readonly target: Tokenizer.Target
    readonly scoped: ReadonlyArray<Scoped>
    readonly plan: (k: number) => Plan
    readonly reservation: BudgetStore.ReserveRequest
  }

/**
 * Reserves, refuses or reconciles; shared by `generate` and `stream`.
 */
const makeEnforcer = (options: Options, checked: Checked) => {
  const rules: Array<Rule> = checked.limits.map(({ limit, scope, zone }) => ({
    scope,
    limit,
    zone,
    windowKey: windowKeyOf(limit.window),
    keys: new Map(),
    cached: undefined
  }))
  const perRequest = options.perRequest
  const hasPerRequest = perRequest !== undefined &&
    (perRequest.maxInputTokens !== undefined || perRequest.maxOutputTokens !== undefined ||
      perRequest.maxUsd !== undefined)
  const clamp = options.clampOutput ?? true
  const minOutput = options.minOutputTokens ?? 16
  const defaultMaxOutput = options.defaultMaxOutputTokens ?? 4_096
  const ttl = checked.ttlMillis
  const needsUsd = perRequest?.maxUsd !== undefined || rules.some((rule) => rule.limit.unit === "usd")
  /**
   * Soft-limit episodes in progress: store key -> the time the episode ends by (its fixed window's
   * end; for a rolling window, one window after the last call that saw it above the threshold).
   * Ended episodes are swept as the map grows: it holds the keys above their soft limit now, not
   * every user that ever crossed one.
   */
  const softEpisodes = new Map<string, number>()
  const softSweeper = new Sweeper()

  const applies = (rule: Rule, request: GenerateRequest): boolean =>
    rule.scope === "global" || (rule.scope === "user" ? request.user !== undefined : request.feature !== undefined)

  const scopedOf = (rule: Rule, id: string): Scoped => {
    let scoped = rule.keys.get(id)
    if (scoped === undefined) {
      const scope = rule.scope === "global" ? "global" : `${rule.scope}:${id}`
      scoped = { rule, scope, key: `budget:${scope}:${rule.limit.unit}:${rule.windowKey}` }
      if (rule.keys.size < maxCachedScopes) rule.keys.set(id, scoped)
    }
    return scoped
  }

  const applicable = (request: GenerateRequest): ReadonlyArray<Scoped> => {
    const out: Array<Scoped> = []
    for (const rule of rules) {
      if (!applies(rule, request)) continue
      out.push(scopedOf(rule, rule.scope === "global" ? "" : rule.scope === "user" ? request.user! : request.feature!))
    }
    return out
  }

  /** Whether a request is budgeted at all (a policy with nothing to check does no work, nor builds the scopes). */
  const isActive = (request: GenerateRequest) => hasPerRequest || rules.some((rule) => applies(rule, request))

  const refuse = (
    plan: { readonly target: Tokenizer.Target },
    scope: string,
    unit: "tokens" | "usd",
    limit: number,
    spent: number,
    requested: number,
    listening: boolean
  ): Effect.Effect<never, BudgetExceeded> => {
    const refused = Effect.fail(
      new BudgetExceeded({
        provider: plan.target.provider,
        model: plan.target.model,
        scope,
        unit,
        limit,
        spent,
        requested
      })
    )
    if (!listening) return refused
    return Effect.zipRight(
      decision("refused", scope, unit, requested),
      refused
    )
  }

  /** The model a request is priced and counted for, or the defect of an unpriced one under a USD limit. */
  const infoFor = (
    catalog: ModelCatalog.Service,
    target: Tokenizer.Target
  ): ModelCatalog.ModelInfo | undefined | Effect.Effect<never> => {
    const info = Option.getOrUndefined(catalog.find(target.provider, target.model))
    if (info !== undefined || !needsUsd) return info
    if (options.unpricedFallback === undefined) return Effect.die(new ModelCatalog.UnknownModel(target))
    return {
      provider: target.provider,
      model: target.model,
      pricing: options.unpricedFallback,
      contextWindow: Number.MAX_SAFE_INTEGER,
      maxOutputTokens: defaultMaxOutput,
      pricesAsOf: "1970-01-01"
    }
  }

  const reserve = (
    context: Context.Context<Requirements>,
    provider: string,
    defaultModel: string,
    request: GenerateRequest
  ): Effect.Effect<Plan, BudgetExceeded> => {
    const store = Context.get(context, BudgetStore.BudgetStore)
    const catalog = Context.get(context, ModelCatalog.ModelCatalog)
    const tokenizer = Context.get(context, Tokenizer.Tokenizer)
    const target: Tokenizer.Target = { provider, model: request.model ?? defaultModel }
    const info = infoFor(catalog, target)
    if (Effect.isEffect(info)) return info
    const counted = tokenizer.count(request, target, options.exactCount ? { exact: true } : undefined)
    return Effect.flatMap(counted, (inputTokens) =>
      Effect.withFiberRuntime((fiber) => {
        const now = clockOf(fiber).unsafeCurrentTimeMillis()
        const listening = fiber.getFiberRef(CallEvent.currentListeners).length > 0
        const d = draft(target, info, request, inputTokens, now, listening)
        if (d._tag !== "Reserve") return d._tag === "Free" ? Effect.succeed(d.plan) : d.refusal
        return Effect.flatMap(store.reserve(d.reservation), (result) => {
          const settled = settle(d, result, now, listening)
          return Effect.isEffect(settled) ? settled : Effect.succeed(settled)
        })
      }))
  }

  /**
   * The plain faces a call is reserved and settled through, when it can be in plain code: a store
   * and a tokenizer that have them, and nobody listening for events. `undefined` otherwise.
   */
  const syncFacesOf = (
    context: Context.Context<Requirements>,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ): SyncFaces | undefined => {
    if (options.exactCount) return undefined
    const store = Context.get(context, BudgetStore.BudgetStore).sync
    const countSync = Context.get(context, Tokenizer.Tokenizer).countSync
    if (store === undefined || countSync === undefined) return undefined
    return fiber.getFiberRef(CallEvent.currentListeners).length === 0 ? { store, countSync } : undefined
  }

  /**
   * The reservation in plain code (through {@link syncFacesOf}): the plan, an effect that ends in it
   * (a soft-limit alert) or fails (a refusal), or else {@link reserve}'s effect (the tokenizer could
   * not count now: its encoder is not loaded yet).
   */
  const reserveNow = (
    context: Context.Context<Requirements>,
    faces: SyncFaces,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    provider: string,
    defaultModel: string,
    request: GenerateRequest
  ): Plan | Effect.Effect<Plan, BudgetExceeded> => {
    const target: Tokenizer.Target = { provider, model: request.model ?? defaultModel }
    const inputTokens = faces.countSync(request, target)
    if (inputTokens === undefined) return reserve(context, provider, defaultModel, request)
    const info = infoFor(Context.get(context, ModelCatalog.ModelCatalog), target)
    if (Effect.isEffect(info)) return info
    const now = clockOf(fiber).unsafeCurrentTimeMillis()
    const d = draft(target, info, request, inputTokens, now, false)
    if (d._tag !== "Reserve") return d._tag === "Free" ? d.plan : d.refusal
    return settle(d, faces.store.reserve(d.reservation), now, false)
  }

  /**
   * What a call's reservation asks the store for (plain code): a refusal before asking (the
   * request's own limits), a plan with nothing to reserve, or the store request.
   */
  const draft = (
    target: Tokenizer.Target,
    info: ModelCatalog.ModelInfo | undefined,
    request: GenerateRequest,
    inputTokens: number,
    now: number,
    listening: boolean
  ): Draft => {
    if (perRequest?.maxInputTokens !== undefined && inputTokens > perRequest.maxInputTokens) {
      return {
        _tag: "Refused",
        refusal: refuse({ target }, "request", "tokens", perRequest.maxInputTokens, 0, inputTokens, listening)
      }
    }
    // USD is counted in integer nano-dollars (exact sums); reservations round up, commits to nearest
    const inNano = info ? Math.max(info.pricing.input, info.pricing.cacheWrite ?? info.pricing.input) * 1_000 : 0
    const outNano = info
      ? Math.ceil(Math.max(info.pricing.output, info.pricing.reasoning ?? info.pricing.output) * 1_000)
      : 0
    const inputNano = Math.ceil(inputTokens * inNano)
    let kMax = Math.min(
      request.maxOutputTokens ?? info?.maxOutputTokens ?? defaultMaxOutput,
      info?.maxOutputTokens ?? Number.POSITIVE_INFINITY,
      perRequest?.maxOutputTokens ?? Number.POSITIVE_INFINITY
    )
    const kMinWanted = clamp ? Math.min(minOutput, kMax) : kMax
    if (perRequest?.maxUsd !== undefined) {
      const maxNano = Math.round(perRequest.maxUsd * NANO)
      const fit = outNano > 0 ? Math.floor((maxNano - inputNano) / outNano) : kMax
      if (fit < kMinWanted) {
        return {
          _tag: "Refused",
          refusal: refuse(
            { target },
            "request",
            "usd",
            perRequest.maxUsd,
            0,
            (inputNano + kMinWanted * outNano) / NANO,
            listening
          )
        }
      }
      kMax = Math.min(kMax, fit)
    }
    const kMin = clamp ? Math.min(kMinWanted, kMax) : kMax
    const scoped = applicable(request)
    const id = `${instance}-${++sequence}`
    const plan = (k: number): Plan => ({
      id,
      request: k === request.maxOutputTokens ? request : { ...request, maxOutputTokens: k },
      target,
      info,
      inputTokens,
      items: scoped.map(({ rule, scope }) => ({ scope, unit: rule.limit.unit }))
    })
    if (scoped.length === 0) return { _tag: "Free", plan: plan(kMax) }
    const items = scoped.map(({ key, rule }): BudgetStore.Item => {
      const usdUnit = rule.limit.unit === "usd"
      return {
        key,
        limit: usdUnit ? Math.round(rule.limit.amount * NANO) : rule.limit.amount,
        window: windowFor(rule, now),
        base: usdUnit ? inputNano : inputTokens,
        rate: usdUnit ? outNano : 1
      }
    })
    return {
      _tag: "Reserve",
      target,
      scoped,
      plan,
      reservation: { id, now, expiresAt: now + ttl, kMin, kMax, items }
    }
  }

  /**
   * The plan once the store answered (plain code): a refusal, or the plan with the events and
   * soft-limit alerts it gives rise to (then as an effect).
   */
  const settle = (
    d: Extract<Draft, { readonly _tag: "Reserve" }>,
    result: BudgetStore.ReserveResult,
    now: number,
    listening: boolean
  ): Plan | Effect.Effect<Plan, BudgetExceeded> => {
    const { items } = d.reservation
    const scoped = d.scoped
    if (result._tag === "Refused") {
      const { rule, scope } = scoped[result.index]!
      const scale = rule.limit.unit === "usd" ? NANO : 1
      return refuse(
        { target: d.target },
        scope,
        rule.limit.unit,
        rule.limit.amount,
        result.used / scale,
        result.requested / scale,
        listening
      )
    }
    const k = result.k
    const effects: Array<Effect.Effect<void>> = []
    for (let i = 0; i < items.length; i++) {
      const { rule, scope } = scoped[i]!
      const item = items[i]!
      const scale = rule.limit.unit === "usd" ? NANO : 1
      if (listening) {
        effects.push(decision("reserved", scope, rule.limit.unit, (item.base + k * item.rate) / scale))
      }
      if (rule.limit.soft !== undefined) {
        const threshold = rule.limit.amount * rule.limit.soft
        const level = result.levels[i]! / scale
        const episode = softEpisodes.get(item.key)
        const fired = episode !== undefined && episode > now
        if (level >= threshold) {
          const window = item.window
          softEpisodes.set(item.key, window._tag === "Fixed" ? window.end : now + window.millis)
          if (!fired) softSweeper.maybeSweep(softEpisodes, (endsBy) => endsBy <= now)
        } else if (episode !== undefined) {
          softEpisodes.delete(item.key)
        }
        if (level >= threshold && !fired) {
          if (listening) {
            effects.push(decision("soft-limit", scope, rule.limit.unit, level))
          }
          effects.push(
            AlertSink.send({
              kind: "soft-budget",
              key: scope,
              severity: "warning",
              message: `Budget ${scope} passed its soft limit: ${format(level, rule.limit.unit)} of ${
                format(rule.limit.amount, rule.limit.unit)
              } (${windowKeyOf(rule.limit.window)})`,
              value: level,
              threshold,
              at: now
            })
          )
        }
      }
    }
    return effects.length === 0 ? d.plan(k) : Effect.as(Effect.all(effects, { discard: true }), d.plan(k))
  }

  /** What a call spent, one amount per budgeted item (USD in nano-dollars). */
  const amountsOf = (
    context: Context.Context<Requirements>,
    plan: Plan,
    usage: Usage,
    completion: Completion | undefined
  ): { readonly amounts: ReadonlyArray<number>; readonly usd: number; readonly tokens: number } => {
    const catalog = Context.get(context, ModelCatalog.ModelCatalog)
    const served = completion === undefined
      ? undefined
      : Option.getOrUndefined(ModelCatalog.findFor(catalog, completion))
    const info = served ?? plan.info
    const usd = info === undefined ? 0 : ModelCatalog.cost(usage, info)
    const tokens = usage.inputTokens + usage.outputTokens
    return { amounts: plan.items.map((item) => item.unit === "usd" ? Math.round(usd * NANO) : tokens), usd, tokens }
  }

  const commitUsage = (
    context: Context.Context<Requirements>,
    plan: Plan,
    usage: Usage,
    completion: Completion | undefined
  ): Effect.Effect<void> => {
    if (plan.items.length === 0) return Effect.void
    const store = Context.get(context, BudgetStore.BudgetStore)
    const { amounts, tokens, usd } = amountsOf(context, plan, usage, completion)
    return Effect.withFiberRuntime((fiber) => {
      const commit = store.commit(plan.id, clockOf(fiber).unsafeCurrentTimeMillis(), amounts)
      if (fiber.getFiberRef(CallEvent.currentListeners).length === 0) return commit
      return Effect.zipRight(
        commit,
        Effect.forEach(
          plan.items,
          (item) => decision("reconciled", item.scope, item.unit, item.unit === "usd" ? usd : tokens),
          { discard: true }
        )
      )
    })
  }

  /** {@link commitUsage} of a `generate` call in plain code (a store with a sync face, nobody listening). */
  const commitNow = (
    context: Context.Context<Requirements>,
    sync: BudgetStore.SyncFace,
    plan: Plan,
    completion: Completion,
    now: number
  ): void => {
    if (plan.items.length === 0) return
    sync.commit(plan.id, now, amountsOf(context, plan, completion.usage, completion).amounts)
  }

  const release = (context: Context.Context<Requirements>, plan: Plan): Effect.Effect<void> => {
    if (plan.items.length === 0) return Effect.void
    return Effect.zipRight(
      Context.get(context, BudgetStore.BudgetStore).release(plan.id),
      Effect.flatMap(CallEvent.isListening, (listening) =>
        listening
          ? Effect.forEach(plan.items, (item) => decision("released", item.scope, item.unit, 0), {
            discard: true
          })
          : Effect.void)
    )
  }

  return { isActive, reserve, syncFacesOf, reserveNow, commitUsage, commitNow, release }
}

/** A `BudgetDecision` call event. */
const decision = (
  decision: "reserved" | "refused" | "soft-limit" | "reconciled" | "released",
  scope: string,
  unit: "tokens" | "usd",
  amount: number
): Effect.Effect<void> => CallEvent.emit({ _tag: "BudgetDecision", decision, scope, unit, amount })

const format = (amount: number, unit: "tokens" | "usd") =>
  unit === "usd" ? `$${amount.toFixed(4)}` : `${Math.round(amount)} tokens`

/** What a streamed call has given so far (one per run of the stream). */
interface Streamed {
  finish: Completion | undefined
  text: string
}

/** A stream's reservation and what it has streamed so far. */
interface Reservation extends Streamed {
  readonly context: Context.Context<Requirements>
  readonly plan: Plan
}

const apply = <E, R, RC>(
  self: LanguageModel.With<E, R>,
  options: Options,
  /** The services: from the context (`enforce`), or the ones the layer was built with. */
  contextOf: Given<Context.Context<Requirements>, RC>,
  checked: Checked
) => {
  const enforcer = makeEnforcer(options, checked)
  /**
   * Settles a streamed call: from its `Finish`, else from the text it streamed before it was cut
   * (the provider bills what it sent), else the reservation is released.
   */
  const settleStreamed = (
    context: Context.Context<Requirements>,
    plan: Plan,
    { finish, text }: Streamed
  ): Effect.Effect<void> => {
    if (finish !== undefined) return enforcer.commitUsage(context, plan, finish.usage, finish)
    if (text.length === 0) return enforcer.release(context, plan)
    return Effect.flatMap(
      Context.get(context, Tokenizer.Tokenizer).countText(text, plan.target),
      (outputTokens) =>
        enforcer.commitUsage(context, plan, {
          inputTokens: plan.inputTokens,
          cachedInputTokens: 0,
          cacheWriteInputTokens: 0,
          outputTokens,
          reasoningTokens: 0
        }, undefined)
    )
  }
  /**
   * A call (a `generate`, or a `streamEach` with what it has streamed) between its reservation and
   * its settlement, which runs on every exit.
   */
  const budgeted = <E2, R2>(
    request: GenerateRequest,
    call: (request: GenerateRequest) => Effect.Effect<Completion, E2, R2>,
    streamed: Streamed | undefined
  ): Effect.Effect<Completion, E2 | BudgetExceeded, R2 | RC> =>
    withGivenFiber(contextOf, (context, fiber) => {
      const faces = enforcer.syncFacesOf(context, fiber)
      if (faces !== undefined) {
        // a store and a tokenizer in the process, nobody listening: reserve and settle in plain
        // code, in one uninterruptible region (the reservation is settled on every exit)
        return Effect.uninterruptibleMask((restore) => {
          // (the mask's body runs when the effect does: the reservation is made then, uninterruptibly)
          const use = (plan: Plan) =>
            Effect.matchCauseEffect(restore(Effect.suspend(() => call(plan.request))), {
              onFailure: (cause) => {
                if (streamed === undefined || (streamed.finish === undefined && streamed.text.length === 0)) {
                  faces.store.release(plan.id)
                  return Effect.failCause(cause)
                }
                return Effect.zipRight(settleStreamed(context, plan, streamed), Effect.failCause(cause))
              },
              onSuccess: (completion) => {
                enforcer.commitNow(context, faces.store, plan, completion, clockOf(fiber).unsafeCurrentTimeMillis())
                return Effect.succeed(completion)
              }
            })
          const reserved = enforcer.reserveNow(context, faces, fiber, self.provider, self.model, request)
          return Effect.isEffect(reserved) ? Effect.flatMap(reserved, use) : use(reserved)
        })
      }
      return Effect.acquireUseRelease(
        enforcer.reserve(context, self.provider, self.model, request),
        (plan) => call(plan.request),
        (plan, exit) =>
          Exit.isSuccess(exit)
            ? enforcer.commitUsage(context, plan, exit.value.usage, exit.value)
            : streamed === undefined
            ? enforcer.release(context, plan)
            : settleStreamed(context, plan, streamed)
      )
    })
  return LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) =>
      enforcer.isActive(request) ? budgeted(request, generate, undefined) : generate(request),
    streamEach: (streamEach) => (request, onEvent) => {
      if (!enforcer.isActive(request)) return streamEach(request, onEvent)
      const streamed: Streamed = { finish: undefined, text: "" }
      const each: LanguageModel.OnEvent = (event) => {
        if (event._tag === "TextDelta") streamed.text += event.text
        else streamed.finish = event.completion
        return onEvent(event)
      }
      return budgeted(request, (request) => streamEach(request, each), streamed)
    },
    stream: (stream) => (request) => {
      if (!enforcer.isActive(request)) return stream(request)
      // the reservation is settled by a finalizer installed before it is made (the channel's
      // acquire-use-release): released on every exit, with no scope per call
      return Stream.fromChannel(
        Channel.acquireUseRelease<
          Reservation,
          E | BudgetExceeded,
          R | RC,
          Chunk.Chunk<StreamEvent>,
          unknown,
          unknown,
          unknown,
          unknown
        >(
          withGiven(contextOf, (context) =>
            Effect.map(
              enforcer.reserve(context, self.provider, self.model, request),
              (plan): Reservation => ({ context, plan, finish: undefined, text: "" })
            )),
          (reservation) =>
            Stream.toChannel(Stream.mapChunks(stream(reservation.plan.request), (chunk) => {
              for (const event of chunk) {
                if (event._tag === "TextDelta") reservation.text += event.text
                else reservation.finish = event.completion
              }
              return chunk
            })),
          (reservation) => settleStreamed(reservation.context, reservation.plan, reservation)
        )
      )
    }
  })
}

/**
 * Enforces budgets on a model: adds `BudgetExceeded` to its errors and the budget's services
 * (`BudgetStore`, `ModelCatalog`, `Tokenizer`) to its requirements. Throws `InvalidOptions` for
 * options it cannot work with (limits built by hand included), when it is called.
 *
 * @since 0.1.0
 * @category combinators
 */
export const enforce: {
  (options: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E | BudgetExceeded, R | Requirements>
  <E, R>(self: LanguageModel.With<E, R>, options: Options): LanguageModel.With<E | BudgetExceeded, R | Requirements>
} = ((...args: [options: Options] | [self: LanguageModel.With<unknown, unknown>, options: Options]) => {
  // the options are checked when `enforce` is called, in the data-last form too
  if (args.length === 1) {
    const [options] = args
    const checked = checkOptions(options)
    return <E, R>(self: LanguageModel.With<E, R>) => apply(self, options, Effect.context<Requirements>(), checked)
  }
  const [self, options] = args
  return apply(self, options, Effect.context<Requirements>(), checkOptions(options))
}) as any

/**
 * `enforce` for code that works through the `LanguageModel` tag: wraps the model below it. Throws
 * `InvalidOptions` for options it cannot work with, when it is called (not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | Requirements> => {
  const checked = checkOptions(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      // the services are taken once, here: calls do not look them up
      const context = yield* Effect.context<Requirements>()
      const model = yield* LanguageModel.LanguageModel
      return apply(model, options, new Known(context), checked) as LanguageModel.Service
    })
  )
}

/**
 * A counter's spend and reservations in its current window, e.g. for a "budget left" display.
 *
 * @since 0.1.0
 * @category accessors
 */
export const status = (
  scope: string,
  limit: Limit
): Effect.Effect<
  BudgetStore.Status & { readonly limit: number; readonly remaining: number },
  never,
  BudgetStore.BudgetStore
> =>
  Effect.gen(function*() {
    const store = yield* BudgetStore.BudgetStore
    const now = yield* Clock.currentTimeMillis
    const s = yield* store.status(
      `budget:${scope}:${limit.unit}:${windowKeyOf(limit.window)}`,
      storeWindow(limit.window, now),
      now
    )
    const scale = limit.unit === "usd" ? NANO : 1
    const spent = s.spent / scale
    const reserved = s.reserved / scale
    return { spent, reserved, limit: limit.amount, remaining: Math.max(0, limit.amount - spent - reserved) }
  })
