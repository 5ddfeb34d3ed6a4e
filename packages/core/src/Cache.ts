/**
 * Response caching: an answer to a request that is meant to repeat is stored under a canonical key
 * (see `CacheKey`) in a `CacheStore`, and served again without calling the model.
 *
 * - What is cached: by default only calls meant to repeat (`temperature: 0`, or a `seed`); `when`
 *   changes that globally (`"always"`, or a predicate over the request). Never an error, never a
 *   stream that did not finish, never a filtered answer (`content-filter`, `other`), and answers cut
 *   by `length` only with `cacheTruncated: true`.
 * - Single-flight: concurrent identical calls make one upstream call. Followers get the leader's
 *   answer or its typed failure; a follower that is interrupted leaves the others waiting; when
 *   every caller is gone the upstream call is interrupted.
 * - Streams: a finished stream is stored with its chunks and replayed as the same chunks
 *   (`replayPacing: true` replays the original timing). A caller arriving while the first one is
 *   still streaming gets what has arrived so far, then the live chunks.
 * - Per call (`request.cache`): `mode: "bypass"` (neither read nor write), `mode: "refresh"` (skip
 *   the read, store the fresh answer), `ttl`, `namespace`, `scope: "user"` (share answers only
 *   between calls of the same `user`; a call without a user is then not cached).
 * - Reporting: `Completion.cache` is `hit` (no upstream call was made for this caller: a stored
 *   answer or a call in flight it joined), `miss` (this caller paid for the upstream call) or
 *   `bypass` (the cache did not apply). A hit keeps the original `usage` and `costUsd`, which are
 *   then what the hit saved: spend accounting counts a hit as zero. Every call emits a
 *   `CacheLookup` call event, and the counters {@link hits}, {@link misses}, {@link bypasses} and
 *   {@link savedUsd} give the hit rate ({@link hitRate}).
 *
 * A store that fails is treated as empty (a failed read is a miss, a failed write is dropped), so
 * the model's error type does not change.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel, type LlmError } from "@effect-llm/core"
 * import * as Cache from "@effect-llm/core/Cache"
 * import * as CacheStore from "@effect-llm/core/CacheStore"
 *
 * declare const base: LanguageModel.With<LlmError.ProviderError>
 *
 * // as a combinator: the model now requires a CacheStore
 * const cached = base.pipe(Cache.withCache({ ttl: "1 hour" }))
 *
 * const program = Effect.gen(function*() {
 *   const request = { messages: [{ role: "user" as const, content: "What is Effect?" }], temperature: 0 }
 *   const first = yield* cached.generate(request) // cache: "miss"
 *   const second = yield* cached.generate(request) // cache: "hit", no upstream call
 *   return [first.cache, second.cache]
 * }).pipe(Effect.provide(CacheStore.layerMemory({ maxEntries: 10_000 })))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Stream from "effect/Stream"
import * as CacheKey from "./CacheKey.js"
import { CacheStore } from "./CacheStore.js"
import type * as CacheStoreNs from "./CacheStore.js"
import * as CallEvent from "./CallEvent.js"
import type { CacheStatus, Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import * as flight from "./internal/cacheFlight.js"
import * as each from "./internal/each.js"
import { clockOf, type Given, Known, runtimeOf, withGiven, withGivenFiber } from "./internal/given.js"
import * as internalStream from "./internal/stream.js"
import * as InvalidOptions from "./InvalidOptions.js"
import * as LanguageModel from "./LanguageModel.js"
import * as StreamEvent from "./StreamEvent.js"

/**
 * Options of the cache policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How long an answer is kept (finite, longer than zero; default 1 hour); a request's `cache.ttl`
   * wins. Finite: a shared store keeps a deadline beside the answer and sets its own expiry from it.
   */
  readonly ttl?: Duration.DurationInput
  /**
   * Which calls are cached: `"deterministic"` (default: `temperature: 0` or a `seed`), `"always"`,
   * or a predicate. A request with `cache.mode: "bypass"` is never cached.
   */
  readonly when?: "deterministic" | "always" | ((request: GenerateRequest) => boolean)
  /** Also cache answers cut by `maxOutputTokens` (`finishReason: "length"`). Default `false`. */
  readonly cacheTruncated?: boolean
  /**
   * The default namespace (part of the key, as its `namespace:` prefix: not empty, no `:`); a
   * request's `cache.namespace` wins.
   */
  readonly namespace?: string
  /** The default scope (`"global"` or `"user"`); a request's `cache.scope` wins. Default `"global"`. */
  readonly scope?: CacheKey.Scope
  /** Replay cached streams with the pacing they were produced with (through `Clock`). Default `false`. */
  readonly replayPacing?: boolean
}

/**
 * Whether a request is meant to repeat: `temperature: 0` or a `seed`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDeterministic = (request: GenerateRequest): boolean =>
  request.temperature === 0 || request.seed !== undefined

/**
 * Cache hits (stored answers and calls in flight that were joined).
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Metric.Metric.Counter<number> = Metric.counter("effect_llm.cache.hits", {
  description: "Calls answered by the cache (stored answers and joined calls in flight)",
  incremental: true
})

/**
 * Cache misses (upstream calls made by the cache).
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Metric.Metric.Counter<number> = Metric.counter("effect_llm.cache.misses", {
  description: "Cacheable calls that went upstream",
  incremental: true
})

/**
 * Calls the cache did not apply to (not meant to repeat, bypassed, or user scope without a user).
 *
 * @since 0.1.0
 * @category metrics
 */
export const bypasses: Metric.Metric.Counter<number> = Metric.counter("effect_llm.cache.bypasses", {
  description: "Calls the cache did not apply to",
  incremental: true
})

/**
 * The USD that hits saved (the `costUsd` of the answers they reused, when priced).
 *
 * @since 0.1.0
 * @category metrics
 */
export const savedUsd: Metric.Metric.Counter<number> = Metric.counter("effect_llm.cache.saved_usd", {
  description: "USD not spent thanks to cache hits",
  incremental: true
})

/**
 * The hit rate so far in this process: hits / (hits + misses), 0 before any lookup.
 *
 * @since 0.1.0
 * @category metrics
 */
export const hitRate: Effect.Effect<number> = Effect.map(
  Effect.zip(Metric.value(hits), Metric.value(misses)),
  ([h, m]) => h.count + m.count === 0 ? 0 : h.count / (h.count + m.count)
)

const noTags: ReadonlyArray<never> = []

const withStatus = (completion: Completion, status: CacheStatus): Completion =>
  status === "hit" ? { ...completion, cache: status, attempts: [] } : { ...completion, cache: status }

// a call the cache did not apply to keeps the status an inner cache gave it
const bypassed = (completion: Completion): Completion =>
  completion.cache === undefined ? { ...completion, cache: "bypass" } : completion

const stripStatus = (completion: Completion): Completion => {
  if (completion.cache === undefined) return completion
  const { cache: _, ...rest } = completion
  return rest
}

const defaultTtl = Duration.hours(1)

const MODULE = "Cache"

/** The options' checked form: the decoded TTL. */
interface Checked {
  readonly ttl: Duration.Duration
}

/** Checks the options once, when the policy is built. */
const checkOptions = (options: Options | undefined): Checked => {
  const ttl = InvalidOptions.duration(MODULE, "ttl", options?.ttl, { positive: true }) ?? defaultTtl
  const when = options?.when
  if (when !== undefined && when !== "deterministic" && when !== "always" && typeof when !== "function") {
    InvalidOptions.invalid(
      MODULE,
      "when",
      `must be "deterministic", "always" or a predicate, got ${JSON.stringify(when) ?? String(when)}`
    )
  }
  const namespace = options?.namespace
  if (namespace !== undefined && (typeof namespace !== "string" || namespace.length === 0 || namespace.includes(":"))) {
    // keys are `namespace:digest`: a store dropping namespace "a" by its prefix "a:" would drop "a:b" too
    InvalidOptions.invalid(
      MODULE,
      "namespace",
      `must be a non-empty string without ":", got ${JSON.stringify(namespace) ?? String(namespace)}`
    )
  }
  InvalidOptions.oneOf(MODULE, "scope", options?.scope, ["global", "user"])
  return { ttl }
}

const apply = <E, R, RS>(
  self: LanguageModel.With<E, R>,
  options: Options | undefined,
  getStore: Given<CacheStoreNs.Service, RS>,
  checked: Checked
): LanguageModel.With<E, R | RS> => {
  const provider = self.provider
  const when = options?.when ?? "deterministic"
  const predicate = when === "deterministic" ? isDeterministic : when === "always" ? () => true : when
  const cacheTruncated = options?.cacheTruncated ?? false
  const replayPacing = options?.replayPacing ?? false
  const ttl = checked.ttl
  const keyOptions: CacheKey.Options = { scope: options?.scope, namespace: options?.namespace }
  const registry: flight.Registry<E> = new Map()

  const applies = (request: GenerateRequest): boolean => {
    if (request.cache?.mode === "bypass") return false
    if (!predicate(request)) return false
    return request.user !== undefined || CacheKey.scopeOf(request, keyOptions) === "global"
  }

  const cacheable = (completion: Completion): boolean =>
    completion.finishReason === "stop" || completion.finishReason === "tool-calls" ||
    (cacheTruncated && completion.finishReason === "length")

  const count = (status: CacheStatus): void => {
    if (status === "hit") hits.unsafeUpdate(1, noTags)
    else if (status === "miss") misses.unsafeUpdate(1, noTags)
    else bypasses.unsafeUpdate(1, noTags)
  }

  const report = (request: GenerateRequest, status: CacheStatus, source?: "store" | "in-flight") =>
    Effect.withFiberRuntime<void>((fiber) => {
      count(status)
      // the event is built only for a listener
      if (fiber.getFiberRef(CallEvent.currentListeners).length === 0) return Effect.void
      return CallEvent.emit({
        _tag: "CacheLookup",
        status,
        provider,
        model: request.model ?? self.model,
        ...(source !== undefined ? { source } : {})
      })
    })

  const hit = (entry: CacheStoreNs.Entry): Completion => {
    if (entry.completion.costUsd !== undefined && entry.completion.costUsd > 0) {
      savedUsd.unsafeUpdate(entry.completion.costUsd, noTags)
    }
    return withStatus(entry.completion, "hit")
  }

  const lookup = (store: CacheStoreNs.Service, key: string): Effect.Effect<Option.Option<CacheStoreNs.Entry>> =>
    Effect.catchAll(store.get(key), (error) =>
      Effect.as(
        Effect.logWarning("effect-llm cache: read failed, treated as a miss", error.message),
        Option.none()
      ))

  /** The stored entry for `key`: read in plain code from a store with a plain face. */
  const stored = (
    store: CacheStoreNs.Service,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    key: string
  ): Effect.Effect<Option.Option<CacheStoreNs.Entry>> => {
    const sync = store.sync
    return sync !== undefined
      ? Effect.sync(() => Option.fromNullable(sync.get(key, clockOf(fiber).unsafeCurrentTimeMillis())))
      : lookup(store, key)
  }

  // what is stored once an upstream call has ended: plain code for a store with a plain face, else
  // the effect that writes it
  const after = (store: CacheStoreNs.Service, request: GenerateRequest) =>
  (
    current: flight.Flight<E>,
    exit: Exit.Exit<Completion, E>
  ): Effect.Effect<void> | undefined => {
    if (Exit.isFailure(exit) || !cacheable(exit.value)) return undefined
    const completion = exit.value
    const entryOf = (now: number): CacheStoreNs.Entry =>
      current.kind === "stream"
        ? { completion: stripStatus(completion), chunks: current.chunks, delays: current.delays, storedAt: now }
        : { completion: stripStatus(completion), storedAt: now }
    const entryTtl = request.cache?.ttl ?? ttl
    const sync = store.sync
    if (sync !== undefined) {
      const fiber = current.fiber!
      const now = clockOf(fiber).unsafeCurrentTimeMillis()
      sync.set(current.key, entryOf(now), Duration.toMillis(entryTtl), now)
      return undefined
    }
    return Effect.clockWith((clock) =>
      Effect.catchAll(
        store.set(current.key, entryOf(clock.unsafeCurrentTimeMillis()), entryTtl),
        (error) => Effect.logWarning("effect-llm cache: write failed", error.message)
      )
    )
  }

  const runGenerate =
    (generate: (request: GenerateRequest) => Effect.Effect<Completion, E, R>) =>
    (request: GenerateRequest) =>
    (_: flight.Flight<E>): Effect.Effect<Completion, E, R> => generate(request)

  // a streamed upstream call (for `stream` and `streamEach` callers alike) runs the model's
  // `streamEach`: no Effect `Stream` of its own; the deltas are buffered for every reader
  const runStream = (request: GenerateRequest) => (current: flight.Flight<E>): Effect.Effect<Completion, E, R> =>
    Effect.clockWith((clock) => {
      let last = clock.unsafeCurrentTimeMillis()
      return self.streamEach(request, (event) => {
        if (event._tag === "TextDelta") {
          const now = clock.unsafeCurrentTimeMillis()
          current.chunks.push(event.text)
          current.delays.push(now - last)
          last = now
          flight.notify(current)
        }
        return Effect.void
      })
    })

  /**
   * Joins the flight for `key` or starts one, in plain code: call where nothing can interrupt before
   * the waiter's leave is registered.
   */
  const enter = (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    flags: RuntimeFlags.RuntimeFlags,
    store: CacheStoreNs.Service,
    request: GenerateRequest,
    key: string,
    kind: "generate" | "stream",
    run: (current: flight.Flight<E>) => Effect.Effect<Completion, E, R>
  ): { readonly flight: flight.Flight<E>; readonly waiter: flight.Waiter; readonly joined: boolean } => {
    const existing = registry.get(key)
    if (existing !== undefined) return { flight: existing, waiter: flight.join(existing), joined: true }
    // the upstream call runs with the caller's context, fiber refs and flags, interruptible (by its last waiter)
    const runtime = runtimeOf<R>(fiber, RuntimeFlags.enable(flags, RuntimeFlags.Interruption))
    const started = flight.start(registry, key, kind, runtime, run, after(store, request))
    return { flight: started.flight, waiter: started.waiter, joined: false }
  }

  /** {@link enter} as an effect that reports the lookup (call uninterruptibly; the caller registers the leave). */
  const acquire = (
    store: CacheStoreNs.Service,
    request: GenerateRequest,
    key: string,
    kind: "generate" | "stream",
    run: (current: flight.Flight<E>) => Effect.Effect<Completion, E, R>
  ): Effect.Effect<{ readonly flight: flight.Flight<E>; readonly waiter: flight.Waiter }, never, R> =>
    Effect.withFiberRuntime((fiber, status) => {
      const entered = enter(fiber, status.runtimeFlags, store, request, key, kind, run)
      return Effect.as(
        entered.joined ? report(request, "hit", "in-flight") : report(request, "miss"),
        entered
      )
    })

  const texts = (entry: CacheStoreNs.Entry): ReadonlyArray<string> =>
    entry.chunks ?? (entry.completion.text.length > 0 ? [entry.completion.text] : [])
  const paced = (entry: CacheStoreNs.Entry): ReadonlyArray<number> | undefined =>
    replayPacing && entry.chunks !== undefined ? entry.delays : undefined

  const replay = (entry: CacheStoreNs.Entry, completion: Completion): Stream.Stream<StreamEvent.StreamEvent> => {
    const chunks = texts(entry)
    const last = StreamEvent.finish(completion)
    const delays = paced(entry)
    if (delays === undefined) {
      const events: Array<StreamEvent.StreamEvent> = chunks.map(StreamEvent.textDelta)
      events.push(last)
      return Stream.fromIterable(events)
    }
    if (chunks.length === 0) return Stream.succeed(last)
    const deltas = Stream.mapEffect(Stream.range(0, chunks.length - 1), (i) => {
      const delta = StreamEvent.textDelta(chunks[i]!)
      const delay = delays[i] ?? 0
      return delay > 0 ? Effect.as(Effect.sleep(delay), delta) : Effect.succeed(delta)
    })
    return Stream.concat(deltas, Stream.succeed(last))
  }

  /** {@link replay} through a `streamEach` callback: the same events (and pacing); the completion as result. */
  const replayEach = (
    entry: CacheStoreNs.Entry,
    completion: Completion,
    onEvent: LanguageModel.OnEvent
  ): Effect.Effect<Completion> => {
    const chunks = texts(entry)
    const delays = paced(entry)
    let i = 0
    const next = (): Effect.Effect<Completion> => {
      if (i === chunks.length) return Effect.as(onEvent(StreamEvent.finish(completion)), completion)
      const delay = delays === undefined ? 0 : delays[i] ?? 0
      const delta = onEvent(StreamEvent.textDelta(chunks[i++]!))
      return Effect.flatMap(delay > 0 ? Effect.zipRight(Effect.sleep(delay), delta) : delta, next)
    }
    return Effect.suspend(next)
  }

  return LanguageModel.transform(self, {
    generate: (generate) => {
      const run = runGenerate(generate)
      return (request) => {
        if (!applies(request)) {
          return Effect.zipRight(
            report(request, "bypass"),
            Effect.map(generate(request), bypassed)
          )
        }
        return withGivenFiber(getStore, (store, fiber, flags) => {
          const key = CacheKey.make(self, request, keyOptions)
          const refresh = request.cache?.mode === "refresh"
          const sync = store.sync
          if (sync !== undefined && fiber.getFiberRef(CallEvent.currentListeners).length === 0) {
            // a store in the process and no listener: the lookup, the flight and the wait in one
            // effect (registered at once: no interruption between joining and the leave)
            return Effect.async<Completion, E>((resume) => {
              if (!refresh && !registry.has(key)) {
                const found = sync.get(key, clockOf(fiber).unsafeCurrentTimeMillis())
                if (found !== undefined) {
                  count("hit")
                  return resume(Effect.succeed(hit(found)))
                }
              }
              const entered = enter(fiber, flags, store, request, key, "generate", run(request))
              count(entered.joined ? "hit" : "miss")
              return flight.wait(registry, entered.flight, entered.waiter, withStatus, resume)
            })
          }
          const shared = Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(
              acquire(store, request, key, "generate", run(request)),
              ({ flight: current, waiter }) =>
                Effect.onInterrupt(
                  restore(
                    Effect.async<Completion, E>((resume) => flight.wait(registry, current, waiter, withStatus, resume))
                  ),
                  () => flight.leave(registry, current, waiter)
                )
            )
          )
          if (refresh || registry.has(key)) return shared
          return Effect.flatMap(stored(store, fiber, key), (entry) => {
            if (Option.isNone(entry)) return shared
            return Effect.as(report(request, "hit", "store"), hit(entry.value))
          })
        })
      }
    },
    streamEach: (streamEach) => (request, onEvent) => {
      if (!applies(request)) {
        return Effect.zipRight(
          report(request, "bypass"),
          each.mapFinish(
            (onEvent) => streamEach(request, onEvent),
            onEvent,
            (completion) => Effect.succeed(bypassed(completion))
          )
        )
      }
      return withGivenFiber(getStore, (store, fiber) => {
        const key = CacheKey.make(self, request, keyOptions)
        const shared = Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            acquire(store, request, key, "stream", runStream(request)),
            ({ flight: current, waiter }) =>
              Effect.ensuring(
                restore(
                  flight.each(
                    current,
                    (completion) => withStatus(completion, flight.statusOf(current, waiter)),
                    onEvent
                  )
                ),
                flight.leave(registry, current, waiter)
              )
          )
        )
        if (request.cache?.mode === "refresh" || registry.has(key)) return shared
        return Effect.flatMap(stored(store, fiber, key), (entry) => {
          if (Option.isNone(entry)) return shared
          return Effect.zipRight(report(request, "hit", "store"), replayEach(entry.value, hit(entry.value), onEvent))
        })
      })
    },
    stream: (stream) => {
      return (request) => {
        if (!applies(request)) {
          return internalStream.unwrap(Effect.as(
            report(request, "bypass"),
            Stream.map(
              stream(request),
              (event) => event._tag === "Finish" ? StreamEvent.finish(bypassed(event.completion)) : event
            )
          ))
        }
        return Stream.unwrapScoped(withGiven(getStore, (store) => {
          const key = CacheKey.make(self, request, keyOptions)
          const shared = Effect.map(
            Effect.acquireRelease(
              acquire(store, request, key, "stream", runStream(request)),
              ({ flight: current, waiter }) => flight.leave(registry, current, waiter)
            ),
            ({ flight: current, waiter }) =>
              flight.read(current, (completion) => withStatus(completion, flight.statusOf(current, waiter)))
          )
          if (request.cache?.mode === "refresh" || registry.has(key)) return shared
          return Effect.flatMap(lookup(store, key), (found) => {
            if (Option.isNone(found)) return shared
            return Effect.as(report(request, "hit", "store"), replay(found.value, hit(found.value)))
          })
        }))
      }
    }
  })
}

/**
 * Caches a model's answers in the `CacheStore` in context. Keeps the model's error type; adds
 * `CacheStore` to its requirements. Throws `InvalidOptions` for options it cannot work with, when
 * it is called.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withCache: {
  (options?: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E, R | CacheStore>
  <E, R>(self: LanguageModel.With<E, R>, options?: Options): LanguageModel.With<E, R | CacheStore>
} = ((...args: ReadonlyArray<unknown>) => {
  // the options are checked when `withCache` is called, in the data-last form too
  if (LanguageModel.isLanguageModel(args[0])) {
    const options = args[1] as Options | undefined
    return apply(args[0], options, CacheStore, checkOptions(options))
  }
  const options = args[0] as Options | undefined
  const checked = checkOptions(options)
  return <E, R>(self: LanguageModel.With<E, R>) => apply(self, options, CacheStore, checked)
}) as any

/**
 * Caches a model's answers in a given store (no `CacheStore` requirement). Throws `InvalidOptions`
 * for options it cannot work with, when it is called.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withStore: {
  (store: CacheStoreNs.Service, options?: Options): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E, R>
  <E, R>(self: LanguageModel.With<E, R>, store: CacheStoreNs.Service, options?: Options): LanguageModel.With<E, R>
} = ((...args: ReadonlyArray<unknown>) => {
  if (LanguageModel.isLanguageModel(args[0])) {
    const options = args[2] as Options | undefined
    return apply(args[0], options, new Known(args[1] as CacheStoreNs.Service), checkOptions(options))
  }
  const store = args[0] as CacheStoreNs.Service
  const options = args[1] as Options | undefined
  const checked = checkOptions(options)
  return <E, R>(self: LanguageModel.With<E, R>) => apply(self, options, new Known(store), checked)
}) as any

/**
 * The cache as a layer around the `LanguageModel` below it, using the `CacheStore` of the layer's
 * context. Throws `InvalidOptions` for options it cannot work with, when it is called (not when the
 * layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | CacheStore> => {
  const checked = checkOptions(options)
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(
      Effect.context<LanguageModel.LanguageModel | CacheStore>(),
      (context): LanguageModel.Service =>
        apply(
          Context.get(context, LanguageModel.LanguageModel),
          options,
          new Known(Context.get(context, CacheStore)),
          checked
        )
    )
  )
}
