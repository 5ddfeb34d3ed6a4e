/**
 * Watches spend as the `UsageLedger` records it and raises alerts through the `AlertSink`:
 *
 * - **rate**: the spend over a rolling window (e.g. the last 5 minutes) is above a threshold;
 * - **spike**: a user's or a feature's spend in the current bucket (e.g. this hour) is far above its
 *   own recent baseline — an exponentially weighted moving average of past buckets and its variance,
 *   compared with a z-score (`(x - mean) / std`).
 *
 * Each alert fires once per episode: it re-arms only when its condition has cleared (the rate fell
 * back under the threshold; a new bucket started under the spike threshold). Soft budget limits are
 * alerted by the budget policy itself (`Budget`, `soft`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as SpendMonitor from "@effect-llm/core/SpendMonitor"
 * import * as UsageLedger from "@effect-llm/core/UsageLedger"
 *
 * // a ledger whose records feed the monitor
 * const ledger = SpendMonitor.layerLedger.pipe(
 *   Layer.provide(UsageLedger.layerMemory()),
 *   Layer.provide(
 *     SpendMonitor.layer({
 *       rate: { window: "5 minutes", thresholdUsd: 2 },
 *       spike: { by: ["user", "feature"], bucket: "1 hour", zScore: 4 }
 *     })
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AlertSink from "./AlertSink.js"
import { Sweeper } from "./internal/sweep.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as UsageLedger from "./UsageLedger.js"

/**
 * Options of the monitor.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly rate?: {
    /** The rolling window the spend is summed over (finite, longer than zero). */
    readonly window: Duration.DurationInput
    /** Alert when the window's spend is above this (at least 0). */
    readonly thresholdUsd: number
  }
  readonly spike?: {
    /** Which dimensions get their own baseline (`"user"` and / or `"feature"`, each once; default `["user"]`). */
    readonly by?: ReadonlyArray<"user" | "feature">
    /** The bucket the baseline is made of (finite, longer than zero; default 1 hour). */
    readonly bucket?: Duration.DurationInput
    /** EWMA smoothing factor in (0, 1] (default 0.3). */
    readonly alpha?: number
    /** z-score above which the current bucket is a spike (positive; default 3). */
    readonly zScore?: number
    /** Buckets of history before spikes are judged (an integer of at least 0; default 3). */
    readonly minBuckets?: number
    /** Ignore spikes below this spend in the bucket (at least 0; default $0.01). */
    readonly minSpendUsd?: number
    /**
     * Buckets without spend after which a key's baseline is forgotten (an integer of at least 1;
     * default 24, a day of hourly buckets; its average has decayed to almost nothing by then). A
     * forgotten key starts afresh and needs `minBuckets` of history again before its spikes are
     * judged; the monitor holds baselines for the keys active recently, not for every user ever seen.
     */
    readonly forgetAfter?: number
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Feeds one ledger entry to the monitor (may send alerts). */
  readonly observe: (entry: UsageLedger.Entry) => Effect.Effect<void>
  /** Re-evaluates time-based conditions now (e.g. on a schedule), so a cleared rate re-arms without traffic. */
  readonly check: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SpendMonitor extends Context.Tag("@effect-llm/core/SpendMonitor")<SpendMonitor, Service>() {}

interface Baseline {
  bucket: number
  current: number
  mean: number
  variance: number
  buckets: number
  /** A spike alert of this key is in its episode. */
  firing: boolean
}

const MODULE = "SpendMonitor"

/** Checks the options once, when the monitor (or its layer) is built. */
const checkOptions = (options: Options): void => {
  const rate = options.rate
  if (rate !== undefined) {
    InvalidOptions.duration(MODULE, "rate.window", InvalidOptions.required(MODULE, "rate.window", rate.window), {
      positive: true
    })
    InvalidOptions.nonNegative(
      MODULE,
      "rate.thresholdUsd",
      InvalidOptions.required(MODULE, "rate.thresholdUsd", rate.thresholdUsd)
    )
  }
  const spike = options.spike
  if (spike !== undefined) {
    if (spike.by !== undefined) {
      if (!Array.isArray(spike.by) || spike.by.length === 0) {
        InvalidOptions.invalid(MODULE, "spike.by", "must list \"user\", \"feature\" or both")
      }
      for (const dimension of spike.by) InvalidOptions.oneOf(MODULE, "spike.by", dimension, ["user", "feature"])
      // a dimension listed twice would add each entry's spend to its baseline twice
      if (new Set(spike.by).size !== spike.by.length) {
        InvalidOptions.invalid(MODULE, "spike.by", `must not list a dimension twice, got ${JSON.stringify(spike.by)}`)
      }
    }
    InvalidOptions.duration(MODULE, "spike.bucket", spike.bucket, { positive: true })
    InvalidOptions.share(MODULE, "spike.alpha", spike.alpha)
    InvalidOptions.positive(MODULE, "spike.zScore", spike.zScore)
    InvalidOptions.integer(MODULE, "spike.minBuckets", spike.minBuckets, 0)
    InvalidOptions.nonNegative(MODULE, "spike.minSpendUsd", spike.minSpendUsd)
    InvalidOptions.integer(MODULE, "spike.forgetAfter", spike.forgetAfter, 1)
  }
}

/**
 * Builds a monitor; alerts go to the `AlertSink` in the caller's context (the logger if none).
 * Throws `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Service => {
  checkOptions(options)
  return build(options)
}

const build = (options: Options): Service => {
  const rate = options.rate
  const rateMillis = rate ? Duration.toMillis(rate.window) : 0
  const spend: Array<{ readonly at: number; readonly usd: number }> = []
  let spendSum = 0
  let rateFiring = false

  const spike = options.spike
  const by = spike?.by ?? ["user"]
  const bucketMillis = Duration.toMillis(spike?.bucket ?? Duration.hours(1))
  const alpha = spike?.alpha ?? 0.3
  const zLimit = spike?.zScore ?? 3
  const minBuckets = spike?.minBuckets ?? 3
  const minSpend = spike?.minSpendUsd ?? 0.01
  const forgetAfter = spike?.forgetAfter ?? 24
  const baselines = new Map<string, Baseline>()
  const sweeper = new Sweeper()
  const fresh = (bucket: number): Baseline => ({ bucket, current: 0, mean: 0, variance: 0, buckets: 0, firing: false })

  const evaluateRate = (now: number): Effect.Effect<void> => {
    if (rate === undefined) return Effect.void
    while (spend.length > 0 && spend[0]!.at <= now - rateMillis) spendSum -= spend.shift()!.usd
    if (spend.length === 0) spendSum = 0
    const over = spendSum > rate.thresholdUsd
    if (over && !rateFiring) {
      rateFiring = true
      return AlertSink.send({
        kind: "spend-rate",
        key: "global",
        severity: "critical",
        message: `LLM spend rate: $${spendSum.toFixed(4)} in the last ${
          Duration.format(rateMillis)
        } (threshold $${rate.thresholdUsd})`,
        value: spendSum,
        threshold: rate.thresholdUsd,
        at: now
      })
    }
    if (!over) rateFiring = false
    return Effect.void
  }

  /** Closes the buckets before `bucket`, folding them (and empty ones, up to a few) into the EWMA. */
  const roll = (b: Baseline, bucket: number) => {
    if (bucket <= b.bucket) return
    let x = b.current
    let steps = Math.min(bucket - b.bucket, 24)
    while (steps-- > 0) {
      if (b.buckets === 0) {
        b.mean = x
        b.variance = 0
      } else {
        const diff = x - b.mean
        const increment = alpha * diff
        b.mean += increment
        b.variance = (1 - alpha) * (b.variance + diff * increment)
      }
      b.buckets++
      x = 0
    }
    b.bucket = bucket
    b.current = 0
  }

  const evaluateSpike = (entry: UsageLedger.Entry, now: number): Effect.Effect<void> => {
    if (spike === undefined || entry.costUsd === undefined) return Effect.void
    const bucket = Math.floor(now / bucketMillis)
    const effects: Array<Effect.Effect<void>> = []
    for (const dimension of by) {
      const value = entry[dimension]
      if (value === undefined) continue
      const key = `${dimension}:${value}`
      let b = baselines.get(key)
      if (b === undefined || bucket - b.bucket > forgetAfter) {
        // (a forgotten baseline is replaced whether or not a sweep has dropped it yet)
        const isNew = b === undefined
        b = fresh(bucket)
        baselines.set(key, b)
        if (isNew) sweeper.maybeSweep(baselines, (other) => bucket - other.bucket > forgetAfter)
      }
      const rolled = bucket > b.bucket
      roll(b, bucket)
      b.current += entry.costUsd
      if (b.buckets < minBuckets) continue
      const std = Math.max(Math.sqrt(b.variance), b.mean * 0.1, 1e-6)
      const z = (b.current - b.mean) / std
      const over = z > zLimit && b.current >= minSpend
      if (over && !b.firing) {
        b.firing = true
        effects.push(AlertSink.send({
          kind: "spend-spike",
          key,
          severity: "warning",
          message: `LLM spend spike for ${key}: $${b.current.toFixed(4)} this ${
            Duration.format(bucketMillis)
          } vs a baseline of $${b.mean.toFixed(4)} (z = ${z.toFixed(1)})`,
          value: z,
          threshold: zLimit,
          at: now
        }))
      } else if (!over && b.firing && rolled) {
        b.firing = false
      }
    }
    return effects.length === 0 ? Effect.void : Effect.all(effects, { discard: true })
  }

  return {
    observe: (entry) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (rate !== undefined && entry.costUsd !== undefined && entry.costUsd > 0) {
          spend.push({ at: entry.at, usd: entry.costUsd })
          spendSum += entry.costUsd
        }
        return Effect.zipRight(evaluateRate(now), evaluateSpike(entry, now))
      }),
    check: Effect.flatMap(Clock.currentTimeMillis, evaluateRate)
  }
}

/**
 * A monitor as a layer. Throws `InvalidOptions` for options it cannot work with, when it is called
 * (not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SpendMonitor> => {
  checkOptions(options)
  return Layer.sync(SpendMonitor, () => build(options))
}

/**
 * Wraps the `UsageLedger` below it so that every recorded entry also feeds the `SpendMonitor`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLedger: Layer.Layer<UsageLedger.UsageLedger, never, UsageLedger.UsageLedger | SpendMonitor> = Layer
  .effect(
    UsageLedger.UsageLedger,
    Effect.gen(function*() {
      const ledger = yield* UsageLedger.UsageLedger
      const monitor = yield* SpendMonitor
      // no plain `recordSync`: every record goes through the monitor
      return {
        ...ledger,
        record: (entry) => Effect.zipRight(ledger.record(entry), monitor.observe(entry)),
        recordSync: undefined
      }
    })
  )
