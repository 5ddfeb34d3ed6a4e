/**
 * Where circuit-breaker state lives. Every operation is one atomic step on one key (a provider and
 * model) and takes the current time from the caller, so a shared store (Redis, one script per
 * operation) can implement the same contract and many instances share one breaker.
 *
 * The memory implementation, {@link layerMemory}, keeps the state of one process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as BreakerStore from "@effect-llm/core/BreakerStore"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* BreakerStore.BreakerStore
 *   const decision = yield* store.acquire("openai/gpt-5-mini", BreakerStore.defaultConfig, Date.now())
 *   return decision._tag
 * }).pipe(Effect.provide(BreakerStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The states of a breaker.
 *
 * @since 0.1.0
 * @category models
 */
export type State = "closed" | "open" | "half-open"

/**
 * How a breaker decides (times in milliseconds, so a store can keep them as numbers).
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** Opens when failures / calls in the window reach this share. */
  readonly failureRateThreshold: number
  /** ... and at least this many calls were counted in the window. */
  readonly minimumCalls: number
  /** The sliding window (kept as 10 buckets). */
  readonly windowMillis: number
  /** How long an open breaker rejects before it lets probes through (half-open). */
  readonly cooldownMillis: number
  /** How many probe calls a half-open breaker lets through at once; all must succeed to close it. */
  readonly halfOpenProbes: number
}

/**
 * The defaults: opens at 50% failures over 60 s with at least 10 calls, 30 s cooldown, 1 probe.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig: Config = {
  failureRateThreshold: 0.5,
  minimumCalls: 10,
  windowMillis: 60_000,
  cooldownMillis: 30_000,
  halfOpenProbes: 1
}

/**
 * A change of state made by an operation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly from: State
  readonly to: State
}

/**
 * What `acquire` decided: call (as a normal call or as a probe), or reject until `retryAtMillis`.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Allowed"; readonly probe: boolean; readonly transition?: Transition | undefined }
  | { readonly _tag: "Rejected"; readonly retryAtMillis: number; readonly transition?: Transition | undefined }

/**
 * How a call ended, for the breaker: `failure` (a provider-side error), `success` (anything else
 * the provider answered), `cancelled` (interrupted: not counted, frees a probe slot).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure" | "cancelled"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Decides whether a call may go ahead now; moves an open breaker to half-open after its cooldown. */
  readonly acquire: (...args: AcquireArgs) => Effect.Effect<Decision>
  /** Records how a call ended; returns the state change it caused, if any. */
  readonly record: (...args: RecordArgs) => Effect.Effect<Transition | undefined>
  /** The current state (for dashboards and tests). */
  readonly state: (key: string, config: Config, now: number) => Effect.Effect<State>
  /**
   * The same `acquire` and `record` as plain functions, for a store whose state is in the process
   * (the memory store): a breaker then decides and records without an effect per call. A store
   * that talks to a server leaves it out.
   */
  readonly sync?: SyncFace | undefined
}

/**
 * A store's plain face (see `Service.sync`), as `BudgetStore.SyncFace` and `CacheStore.SyncFace`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncFace {
  readonly acquire: (...args: AcquireArgs) => Decision
  readonly record: (...args: RecordArgs) => Transition | undefined
}

/**
 * What `acquire` is given: the breaker's key, its configuration and the time.
 *
 * @since 0.1.0
 * @category models
 */
export type AcquireArgs = [key: string, config: Config, now: number]

/**
 * What `record` is given: the breaker's key, its configuration, the time, how the call ended and
 * whether it was a half-open probe.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordArgs = [key: string, config: Config, now: number, outcome: Outcome, probe: boolean]

/**
 * @since 0.1.0
 * @category tags
 */
export class BreakerStore extends Context.Tag("@effect-llm/core/BreakerStore")<BreakerStore, Service>() {}

const BUCKETS = 10

interface Entry {
  state: State
  openedAt: number
  probesInFlight: number
  probeSuccesses: number
  readonly stamps: Float64Array
  readonly calls: Float64Array
  readonly failures: Float64Array
}

const newEntry = (): Entry => ({
  state: "closed",
  openedAt: 0,
  probesInFlight: 0,
  probeSuccesses: 0,
  stamps: new Float64Array(BUCKETS).fill(-1),
  calls: new Float64Array(BUCKETS),
  failures: new Float64Array(BUCKETS)
})

const resetWindow = (entry: Entry) => {
  entry.stamps.fill(-1)
  entry.calls.fill(0)
  entry.failures.fill(0)
}

/**
 * A breaker store in memory (one process).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const entries = new Map<string, Entry>()
  const entryOf = (key: string) => {
    let entry = entries.get(key)
    if (entry === undefined) {
      entry = newEntry()
      entries.set(key, entry)
    }
    return entry
  }
  const toHalfOpen = (entry: Entry, config: Config, now: number): Transition | undefined => {
    if (entry.state !== "open" || now < entry.openedAt + config.cooldownMillis) return undefined
    entry.state = "half-open"
    entry.probesInFlight = 0
    entry.probeSuccesses = 0
    return { from: "open", to: "half-open" }
  }
  const open = (entry: Entry, now: number): Transition => {
    const from = entry.state
    entry.state = "open"
    entry.openedAt = now
    entry.probesInFlight = 0
    entry.probeSuccesses = 0
    resetWindow(entry)
    return { from, to: "open" }
  }
  const acquire = (key: string, config: Config, now: number): Decision => {
    const entry = entryOf(key)
    const transition = toHalfOpen(entry, config, now)
    switch (entry.state) {
      case "closed":
        return { _tag: "Allowed", probe: false }
      case "open":
        return { _tag: "Rejected", retryAtMillis: entry.openedAt + config.cooldownMillis }
      case "half-open":
        if (entry.probesInFlight + entry.probeSuccesses < config.halfOpenProbes) {
          entry.probesInFlight++
          return { _tag: "Allowed", probe: true, transition }
        }
        return { _tag: "Rejected", retryAtMillis: now, transition }
    }
  }
  const record = (key: string, config: Config, now: number, outcome: Outcome, probe: boolean) => {
    const entry = entryOf(key)
    if (probe) {
      if (entry.state !== "half-open") return undefined
      entry.probesInFlight = Math.max(0, entry.probesInFlight - 1)
      if (outcome === "cancelled") return undefined
      if (outcome === "failure") return open(entry, now)
      entry.probeSuccesses++
      if (entry.probeSuccesses >= config.halfOpenProbes) {
        entry.state = "closed"
        resetWindow(entry)
        return { from: "half-open", to: "closed" } satisfies Transition
      }
      return undefined
    }
    if (entry.state !== "closed" || outcome === "cancelled") return undefined
    const bucketMillis = Math.max(1, config.windowMillis / BUCKETS)
    const index = Math.floor(now / bucketMillis)
    const slot = index % BUCKETS
    if (entry.stamps[slot] !== index) {
      entry.stamps[slot] = index
      entry.calls[slot] = 0
      entry.failures[slot] = 0
    }
    entry.calls[slot]!++
    if (outcome === "success") return undefined
    entry.failures[slot]!++
    let calls = 0
    let failures = 0
    for (let i = 0; i < BUCKETS; i++) {
      const stamp = entry.stamps[i]!
      if (stamp > index - BUCKETS && stamp <= index) {
        calls += entry.calls[i]!
        failures += entry.failures[i]!
      }
    }
    if (calls >= config.minimumCalls && failures / calls >= config.failureRateThreshold) return open(entry, now)
    return undefined
  }
  return {
    acquire: (key, config, now) => Effect.sync(() => acquire(key, config, now)),
    record: (key, config, now, outcome, probe) => Effect.sync(() => record(key, config, now, outcome, probe)),
    sync: { acquire, record },
    state: (key, config, now) =>
      Effect.sync(() => {
        const entry = entryOf(key)
        return entry.state === "open" && now >= entry.openedAt + config.cooldownMillis ? "half-open" : entry.state
      })
  }
}

/**
 * The memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BreakerStore> = Layer.sync(BreakerStore, makeMemory)

/**
 * A conformance check of a `BreakerStore` implementation: a name and an effect that fails with a
 * description when the store does not behave. A store package runs each in its tests:
 * `for (const check of BreakerStore.conformance) it.effect(check.name, () => check.run.pipe(Effect.provide(layer)))`.
 * Keys are unique per run, so the checks can share one store.
 *
 * @since 0.1.0
 * @category testing
 */
export const conformance: ReadonlyArray<{
  readonly name: string
  readonly run: Effect.Effect<void, string, BreakerStore>
}> = (() => {
  const config: Config = {
    failureRateThreshold: 0.5,
    minimumCalls: 4,
    windowMillis: 10_000,
    cooldownMillis: 5_000,
    halfOpenProbes: 2
  }
  let counter = 0
  const key = () => `conformance/${Date.now()}-${counter++}`
  const expect = (what: string, actual: unknown, expected: unknown) =>
    JSON.stringify(actual) === JSON.stringify(expected)
      ? Effect.void
      : Effect.fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  const check = (name: string, body: (store: Service, key: string) => Effect.Effect<void, string>) => ({
    name,
    run: Effect.flatMap(BreakerStore, (store) => body(store, key()))
  })
  return [
    check("starts closed and allows calls", (store, k) =>
      Effect.gen(function*() {
        yield* expect("state", yield* store.state(k, config, 0), "closed")
        yield* expect("acquire", yield* store.acquire(k, config, 0), { _tag: "Allowed", probe: false })
      })),
    check("opens at the failure rate once the minimum calls are counted", (store, k) =>
      Effect.gen(function*() {
        yield* expect("1st", yield* store.record(k, config, 0, "failure", false), undefined)
        yield* expect("2nd", yield* store.record(k, config, 1, "success", false), undefined)
        yield* expect("3rd (below the minimum)", yield* store.record(k, config, 2, "failure", false), undefined)
        yield* expect("4th", yield* store.record(k, config, 3, "success", false), undefined)
        yield* expect("5th (3 of 5 failed)", yield* store.record(k, config, 4, "failure", false), {
          from: "closed",
          to: "open"
        })
        yield* expect("state", yield* store.state(k, config, 5), "open")
        const rejected = yield* store.acquire(k, config, 5)
        yield* expect("rejected", rejected._tag, "Rejected")
        yield* expect("retryAt", rejected._tag === "Rejected" ? rejected.retryAtMillis : -1, 4 + 5_000)
      })),
    check("does not open below the minimum number of calls", (store, k) =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) yield* store.record(k, config, i, "failure", false)
        yield* expect("state", yield* store.state(k, config, 3), "closed")
      })),
    check("forgets failures older than the window", (store, k) =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) yield* store.record(k, config, i, "failure", false)
        yield* store.record(k, config, 20_000, "failure", false)
        yield* expect("state", yield* store.state(k, config, 20_000), "closed")
      })),
    check(
      "half-open after the cooldown lets a limited number of probes through; all succeeding closes it",
      (store, k) =>
        Effect.gen(function*() {
          for (let i = 0; i < 4; i++) yield* store.record(k, config, 0, "failure", false)
          yield* expect("open", yield* store.state(k, config, 0), "open")
          const first = yield* store.acquire(k, config, 5_000)
          yield* expect("probe 1", first, {
            _tag: "Allowed",
            probe: true,
            transition: { from: "open", to: "half-open" }
          })
          yield* expect("probe 2", yield* store.acquire(k, config, 5_000), { _tag: "Allowed", probe: true })
          yield* expect("no 3rd probe", (yield* store.acquire(k, config, 5_000))._tag, "Rejected")
          yield* expect("1st probe ok", yield* store.record(k, config, 5_001, "success", true), undefined)
          yield* expect("closed", yield* store.record(k, config, 5_002, "success", true), {
            from: "half-open",
            to: "closed"
          })
          yield* expect("allowed", yield* store.acquire(k, config, 5_003), { _tag: "Allowed", probe: false })
        })
    ),
    check("a failed probe opens the breaker again", (store, k) =>
      Effect.gen(function*() {
        for (let i = 0; i < 4; i++) yield* store.record(k, config, 0, "failure", false)
        yield* store.acquire(k, config, 6_000)
        yield* expect("reopened", yield* store.record(k, config, 6_001, "failure", true), {
          from: "half-open",
          to: "open"
        })
        const rejected = yield* store.acquire(k, config, 6_002)
        yield* expect("retryAt", rejected._tag === "Rejected" ? rejected.retryAtMillis : -1, 6_001 + 5_000)
      })),
    check("a cancelled probe frees its slot", (store, k) =>
      Effect.gen(function*() {
        for (let i = 0; i < 4; i++) yield* store.record(k, config, 0, "failure", false)
        yield* store.acquire(k, config, 5_000)
        yield* store.acquire(k, config, 5_000)
        yield* expect("full", (yield* store.acquire(k, config, 5_000))._tag, "Rejected")
        yield* store.record(k, config, 5_001, "cancelled", true)
        yield* expect("freed", yield* store.acquire(k, config, 5_002), { _tag: "Allowed", probe: true })
      }))
  ]
})()
