/**
 * The usage ledger: every call's provider, model, tier, user, feature, tokens (with cached and
 * cache-write), cost, latency, cache status and outcome — recorded into a `UsageLedger` service
 * (queryable totals by user, feature, model, tier and window) and into Effect `Metric`s.
 *
 * `UsageLedger.track` is the policy that records each call, failures included (`outcome` is the
 * error tag, `interrupted` or `defect`). With a `savingsBaseline` (the model you would otherwise
 * always use — the large tier of a cascade) each entry also records what the baseline would have
 * cost for the same tokens, so the ledger shows what tiering saved.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as LanguageModel from "@effect-llm/core/LanguageModel"
 * import * as UsageLedger from "@effect-llm/core/UsageLedger"
 *
 * declare const base: LanguageModel.With<never>
 *
 * const program = Effect.gen(function*() {
 *   const model = base.pipe(UsageLedger.track())
 *   yield* model.generate({ messages: [{ role: "user", content: "Hi" }], user: "alice", feature: "chat" })
 *   const ledger = yield* UsageLedger.UsageLedger
 *   const byUser = yield* ledger.totalsBy("user", { window: "1 day" })
 *   return byUser
 * }).pipe(Effect.provide(UsageLedger.layerMemory()))
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import type * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { CacheStatus, Completion, Usage } from "./Completion.js"
import { emptyUsage } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import { afterExit } from "./internal/afterExit.js"
import { type Given, Known, withGivenAndClock } from "./internal/given.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import * as ModelCatalog from "./ModelCatalog.js"

/**
 * One call, as the ledger keeps it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** Epoch milliseconds when the call ended. */
  readonly at: number
  readonly provider: string
  /** The model that answered (the served model's catalog name when known, else what was asked for). */
  readonly model: string
  readonly tier?: string | undefined
  readonly user?: string | undefined
  readonly feature?: string | undefined
  readonly usage: Usage
  /** USD; `undefined` when no catalog priced the call (never a silent zero). */
  readonly costUsd?: number | undefined
  /** What the savings baseline would have cost for the same tokens, when one is configured. */
  readonly baselineCostUsd?: number | undefined
  readonly latencyMillis: number
  readonly cache?: CacheStatus | undefined
  /** `success`, an error tag, `interrupted` or `defect`. */
  readonly outcome: string
}

/**
 * Sums over entries.
 *
 * @since 0.1.0
 * @category models
 */
export interface Totals {
  readonly calls: number
  readonly failures: number
  readonly inputTokens: number
  readonly cachedInputTokens: number
  readonly cacheWriteInputTokens: number
  readonly outputTokens: number
  readonly reasoningTokens: number
  readonly costUsd: number
  /** Calls that had no price. */
  readonly unpriced: number
  readonly cacheHits: number
  /** Baseline cost minus actual cost, over the entries that have a baseline. */
  readonly savedUsd: number
  readonly baselineCostUsd: number
  readonly latencyMillis: number
}

/**
 * Which entries a query covers. `window` is relative to now (`"1 hour"`); `since` / `until` are
 * epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Query {
  readonly window?: Duration.DurationInput
  readonly since?: number
  readonly until?: number
  readonly provider?: string
  readonly model?: string
  readonly tier?: string
  readonly user?: string
  readonly feature?: string
  readonly outcome?: string
}

/**
 * A dimension to group totals by.
 *
 * @since 0.1.0
 * @category models
 */
export type GroupBy = "user" | "feature" | "model" | "provider" | "tier" | "outcome" | "cache"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly record: (entry: Entry) => Effect.Effect<void>
  /**
   * `record` in plain code, for a ledger that can record without an effect (the memory ledger):
   * the policy then records a call with no effect of its own. Optional; it must record into the
   * same ledger as `record`.
   */
  readonly recordSync?: ((entry: Entry) => void) | undefined
  readonly entries: (query?: Query) => Effect.Effect<ReadonlyArray<Entry>>
  readonly totals: (query?: Query) => Effect.Effect<Totals>
  /** Totals per value of `by`; entries without that value are grouped under `"(none)"`. */
  readonly totalsBy: (by: GroupBy, query?: Query) => Effect.Effect<ReadonlyMap<string, Totals>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class UsageLedger extends Context.Tag("@effect-llm/core/UsageLedger")<UsageLedger, Service>() {}

/**
 * Totals of nothing.
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyTotals: Totals = {
  calls: 0,
  failures: 0,
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  costUsd: 0,
  unpriced: 0,
  cacheHits: 0,
  savedUsd: 0,
  baselineCostUsd: 0,
  latencyMillis: 0
}

/**
 * Adds one entry to totals.
 *
 * @since 0.1.0
 * @category utils
 */
export const addEntry = (totals: Totals, entry: Entry): Totals => ({
  calls: totals.calls + 1,
  failures: totals.failures + (entry.outcome === "success" ? 0 : 1),
  inputTokens: totals.inputTokens + entry.usage.inputTokens,
  cachedInputTokens: totals.cachedInputTokens + entry.usage.cachedInputTokens,
  cacheWriteInputTokens: totals.cacheWriteInputTokens + entry.usage.cacheWriteInputTokens,
  outputTokens: totals.outputTokens + entry.usage.outputTokens,
  reasoningTokens: totals.reasoningTokens + entry.usage.reasoningTokens,
  costUsd: totals.costUsd + (entry.costUsd ?? 0),
  unpriced: totals.unpriced + (entry.costUsd === undefined && entry.outcome === "success" ? 1 : 0),
  cacheHits: totals.cacheHits + (entry.cache === "hit" ? 1 : 0),
  savedUsd: totals.savedUsd +
    (entry.baselineCostUsd === undefined ? 0 : entry.baselineCostUsd - (entry.costUsd ?? 0)),
  baselineCostUsd: totals.baselineCostUsd + (entry.baselineCostUsd ?? 0),
  latencyMillis: totals.latencyMillis + entry.latencyMillis
})

const groupKey = (entry: Entry, by: GroupBy): string => {
  const value = entry[by]
  return value === undefined ? "(none)" : value
}

/**
 * Options of the memory ledger.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** Keep the last this many entries (an integer of at least 1; default 100,000). */
  readonly maxEntries?: number
}

const checkMemoryOptions = (options: MemoryOptions | undefined): void =>
  InvalidOptions.integer("UsageLedger", "maxEntries", options?.maxEntries, 1)

/**
 * A memory ledger keeping the last `maxEntries` entries (default 100,000; the oldest are dropped).
 * Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options?: MemoryOptions): Service => {
  checkMemoryOptions(options)
  return buildMemory(options)
}

const buildMemory = (options: MemoryOptions | undefined): Service => {
  const max = options?.maxEntries ?? 100_000
  let log: Array<Entry> = []
  const select = (query: Query | undefined, now: number): Array<Entry> => {
    if (log.length > max) log = log.slice(log.length - max)
    if (query === undefined) return log.slice()
    const since = Math.max(
      query.since ?? Number.NEGATIVE_INFINITY,
      query.window === undefined ? Number.NEGATIVE_INFINITY : now - Duration.toMillis(query.window)
    )
    const until = query.until ?? Number.POSITIVE_INFINITY
    return log.filter((e) =>
      e.at > since - (query.window === undefined ? 1 : 0) && e.at <= until &&
      (query.provider === undefined || e.provider === query.provider) &&
      (query.model === undefined || e.model === query.model) &&
      (query.tier === undefined || e.tier === query.tier) &&
      (query.user === undefined || e.user === query.user) &&
      (query.feature === undefined || e.feature === query.feature) &&
      (query.outcome === undefined || e.outcome === query.outcome)
    )
  }
  const recordSync = (entry: Entry): void => {
    log.push(entry)
    // trim in batches so a full ledger does not copy itself on every call
    if (log.length > max + Math.max(16, max >> 3)) log = log.slice(log.length - max)
  }
  return {
    record: (entry) => Effect.sync(() => recordSync(entry)),
    recordSync,
    entries: (query) => Effect.map(Clock.currentTimeMillis, (now) => select(query, now)),
    totals: (query) => Effect.map(Clock.currentTimeMillis, (now) => select(query, now).reduce(addEntry, emptyTotals)),
    totalsBy: (by, query) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const out = new Map<string, Totals>()
        for (const entry of select(query, now)) {
          const key = groupKey(entry, by)
          out.set(key, addEntry(out.get(key) ?? emptyTotals, entry))
        }
        return out
      })
  }
}

/**
 * A fresh memory ledger. Throws `InvalidOptions` for options it cannot work with, when it is called
 * (not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<UsageLedger> => {
  checkMemoryOptions(options)
  return Layer.sync(UsageLedger, () => buildMemory(options))
}

const latencyBoundaries = MetricBoundaries.exponential({ start: 50, factor: 2, count: 12 })

/**
 * The metrics the ledger updates on every record (tagged `provider`, `model`, `outcome`; token
 * counts also `type`: input / cached_input / cache_write / output).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = {
  calls: Metric.counter("effect_llm.calls", { description: "Model calls, by provider, model and outcome" }),
  tokens: Metric.counter("effect_llm.tokens", { description: "Tokens, by provider, model and type" }),
  costUsd: Metric.counter("effect_llm.cost_usd", { description: "Spend in USD, by provider and model" }),
  latency: Metric.histogram("effect_llm.latency_ms", latencyBoundaries, "Call latency in milliseconds")
}

type Counter = Metric.Metric.Counter<number>
type Histogram = Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>

interface Tagged {
  readonly calls: Counter
  readonly input: Counter
  readonly cached: Counter
  readonly cacheWrite: Counter
  readonly output: Counter
  readonly cost: Counter
  readonly latency: Histogram
}

// provider -> model -> outcome: looked up with the strings a call already has (no key built and
// hashed per call); at most `maxTagged` sets are kept
const taggedCache = new Map<string, Map<string, Map<string, Tagged>>>()
let taggedCount = 0
const maxTagged = 10_000

const makeTagged = (provider: string, model: string, outcome: string): Tagged => {
  const labels = (...pairs: ReadonlyArray<readonly [string, string]>) => pairs.map(([k, v]) => MetricLabel.make(k, v))
  const p = ["provider", provider] as const
  const m = ["model", model] as const
  const o = ["outcome", outcome] as const
  const counter = (name: string, description: string, tags: ReadonlyArray<MetricLabel.MetricLabel>): Counter =>
    Metric.fromMetricKey(MetricKey.taggedWithLabels(MetricKey.counter(name, { description }), tags))
  const tokens = (type: string) =>
    counter("effect_llm.tokens", "Tokens, by provider, model and type", labels(p, m, ["type", type]))
  return {
    calls: counter("effect_llm.calls", "Model calls, by provider, model and outcome", labels(p, m, o)),
    input: tokens("input"),
    cached: tokens("cached_input"),
    cacheWrite: tokens("cache_write"),
    output: tokens("output"),
    cost: counter("effect_llm.cost_usd", "Spend in USD, by provider and model", labels(p, m)),
    latency: Metric.fromMetricKey(
      MetricKey.taggedWithLabels(
        MetricKey.histogram("effect_llm.latency_ms", latencyBoundaries, "Call latency in milliseconds"),
        labels(p, m, o)
      )
    )
  }
}

/**
 * The tagged metrics of one provider / model / outcome, built from their keys so that each update
 * hits a cached hook (`Metric.tagged` would look the registry up on every update).
 */
const taggedFor = (provider: string, model: string, outcome: string): Tagged => {
  const found = taggedCache.get(provider)?.get(model)?.get(outcome)
  if (found !== undefined) return found
  const made = makeTagged(provider, model, outcome)
  if (taggedCount < maxTagged) {
    let models = taggedCache.get(provider)
    if (models === undefined) taggedCache.set(provider, models = new Map())
    let outcomes = models.get(model)
    if (outcomes === undefined) models.set(model, outcomes = new Map())
    outcomes.set(outcome, made)
    taggedCount++
  }
  return made
}

/**
 * Updates the ledger's metrics for one entry.
 *
 * @since 0.1.0
 * @category metrics
 */
export const updateMetrics = (entry: Entry): Effect.Effect<void> => Effect.sync(() => unsafeUpdateMetrics(entry))

// the metric updates of one entry, in plain code: this runs on every call
const unsafeUpdateMetrics = (entry: Entry): void => {
  const m = taggedFor(entry.provider, entry.model, entry.outcome)
  const uncached = entry.usage.inputTokens - entry.usage.cachedInputTokens - entry.usage.cacheWriteInputTokens
  m.calls.unsafeUpdate(1, noTags)
  m.latency.unsafeUpdate(entry.latencyMillis, noTags)
  if (uncached > 0) m.input.unsafeUpdate(uncached, noTags)
  if (entry.usage.cachedInputTokens > 0) m.cached.unsafeUpdate(entry.usage.cachedInputTokens, noTags)
  if (entry.usage.cacheWriteInputTokens > 0) m.cacheWrite.unsafeUpdate(entry.usage.cacheWriteInputTokens, noTags)
  if (entry.usage.outputTokens > 0) m.output.unsafeUpdate(entry.usage.outputTokens, noTags)
  if (entry.costUsd !== undefined && entry.costUsd > 0) m.cost.unsafeUpdate(entry.costUsd, noTags)
}

const noTags: ReadonlyArray<never> = []

/**
 * Options of `track`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrackOptions {
  /** The model to compare against (e.g. the large tier): each entry records what it would have cost. */
  readonly savingsBaseline?: { readonly provider: string; readonly model: string }
  /** Also update the Effect metrics (default `true`). */
  readonly metrics?: boolean
}

const outcomeOf = <E>(exit: Exit.Exit<unknown, E>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value as { readonly _tag?: unknown }
    return typeof error === "object" && error !== null && typeof error._tag === "string" ? error._tag : "failure"
  }
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

type Services = readonly [ledger: Service, catalog: Option.Option<ModelCatalog.Service>]

/** The ledger and the catalog (if any) in context, looked up per call (`track`). */
const servicesInContext: Effect.Effect<Services, never, UsageLedger> = Effect.zip(
  UsageLedger,
  Effect.serviceOption(ModelCatalog.ModelCatalog)
)

const apply = <E, R, RS>(
  self: LanguageModel.With<E, R>,
  options: TrackOptions | undefined,
  /** From the context (`track`), or the ones the layer was built with. */
  servicesOf: Given<Services, RS>
): LanguageModel.With<E, R | RS> => {
  const withMetrics = options?.metrics ?? true
  const baseline = options?.savingsBaseline

  const entryOf = (
    catalog: Option.Option<ModelCatalog.Service>,
    request: GenerateRequest,
    completion: Completion | undefined,
    outcome: string,
    started: number,
    now: number
  ): Entry => {
    const usage = completion?.usage ?? emptyUsage
    let model = request.model ?? self.model
    let costUsd: number | undefined
    let baselineCostUsd: number | undefined
    if (completion !== undefined) {
      model = completion.model
      costUsd = completion.costUsd
      if (Option.isSome(catalog)) {
        const info = ModelCatalog.findFor(catalog.value, completion)
        if (Option.isSome(info)) {
          model = info.value.model
          if (costUsd === undefined) costUsd = ModelCatalog.cost(usage, info.value)
        }
        if (baseline !== undefined) {
          const base = catalog.value.find(baseline.provider, baseline.model)
          if (Option.isSome(base)) baselineCostUsd = ModelCatalog.cost(usage, base.value)
        }
      }
    }
    // A cache hit consumed no tokens and cost nothing: it is recorded at zero, and what it would have
    // cost (its stored answer's cost, or the baseline's when one is set) counts as saved.
    const hit = completion?.cache === "hit"
    if (hit) {
      baselineCostUsd = Math.max(baselineCostUsd ?? 0, costUsd ?? 0)
      costUsd = 0
    }
    return {
      at: now,
      provider: completion?.provider ?? self.provider,
      model,
      tier: completion?.tier ?? request.tier,
      user: request.user,
      feature: request.feature,
      usage: hit ? emptyUsage : usage,
      costUsd,
      baselineCostUsd,
      latencyMillis: now - started,
      cache: completion?.cache,
      outcome
    }
  }

  const write = (
    ledger: Service,
    catalog: Option.Option<ModelCatalog.Service>,
    request: GenerateRequest,
    completion: Completion | undefined,
    outcome: string,
    started: number,
    now: number
  ) => {
    const entry = entryOf(catalog, request, completion, outcome, started, now)
    if (withMetrics) unsafeUpdateMetrics(entry)
    if (ledger.recordSync === undefined) return ledger.record(entry)
    ledger.recordSync(entry)
    return undefined
  }

  return LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) => {
      const recorded = ([ledger, catalog]: Services, clock: Clock.Clock) => {
        const started = clock.unsafeCurrentTimeMillis()
        return afterExit(generate(request), (exit) =>
          write(
            ledger,
            catalog,
            request,
            Exit.isSuccess(exit) ? exit.value : undefined,
            outcomeOf(exit),
            started,
            clock.unsafeCurrentTimeMillis()
          ))
      }
      return withGivenAndClock(servicesOf, recorded)
    },
    streamEach: (streamEach) => (request, onEvent) =>
      withGivenAndClock(servicesOf, ([ledger, catalog], clock) => {
        const started = clock.unsafeCurrentTimeMillis()
        // a call ended after its `Finish` reached the caller (the caller's `onEvent` interrupted it
        // there) is recorded with that answer, as its stream would be
        let finish: Completion | undefined
        const each: LanguageModel.OnEvent = (event) => {
          if (event._tag === "Finish") finish = event.completion
          return onEvent(event)
        }
        return afterExit(streamEach(request, each), (exit) =>
          write(
            ledger,
            catalog,
            request,
            Exit.isSuccess(exit) ? exit.value : finish,
            finish !== undefined ? "success" : outcomeOf(exit),
            started,
            clock.unsafeCurrentTimeMillis()
          ))
      }),
    stream: (stream) => (request) =>
      internalStream.unwrap(
        withGivenAndClock(servicesOf, ([ledger, catalog], clock) => {
          const started = clock.unsafeCurrentTimeMillis()
          let finish: Completion | undefined
          return Effect.succeed(
            stream(request).pipe(
              Stream.mapChunks((chunk) => {
                for (const event of chunk) if (event._tag === "Finish") finish = event.completion
                return chunk
              }),
              Stream.ensuringWith((exit) =>
                write(
                  ledger,
                  catalog,
                  request,
                  finish,
                  Exit.isSuccess(exit) && finish === undefined
                    ? "interrupted"
                    : finish !== undefined
                    ? "success"
                    : outcomeOf(exit),
                  started,
                  clock.unsafeCurrentTimeMillis()
                ) ?? Effect.void
              )
            )
          )
        })
      )
  })
}

/**
 * Records every call of a model into the `UsageLedger` (and metrics), failures included.
 * Costs come from `Completion.costUsd`, else from the `ModelCatalog` when one is provided.
 *
 * @since 0.1.0
 * @category combinators
 */
export const track: {
  (options?: TrackOptions): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E, R | UsageLedger>
  <E, R>(self: LanguageModel.With<E, R>, options?: TrackOptions): LanguageModel.With<E, R | UsageLedger>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R>(self: LanguageModel.With<E, R>, options?: TrackOptions) => apply(self, options, servicesInContext)
)

/**
 * `track` for code that works through the `LanguageModel` tag: wraps the model below it (and
 * prices with the `ModelCatalog` if the layer's context has one).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: TrackOptions
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | UsageLedger> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const catalog = yield* Effect.serviceOption(ModelCatalog.ModelCatalog)
      const model = yield* LanguageModel.LanguageModel
      // taken once, here: calls do not look them up
      return apply(model, options, new Known([ledger, catalog] as const))
    })
  )
