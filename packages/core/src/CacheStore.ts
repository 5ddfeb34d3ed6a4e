/**
 * Where cached answers live. The `CacheStore` tag has a memory implementation here, bounded by
 * entry count and by bytes (the least recently used entry goes first) and expiring entries by TTL
 * through `Clock`; `@effect-llm/redis` implements the same tag for caches shared by many
 * instances, and runs the same conformance suite.
 *
 * A store deals in {@link Entry} values, which serialise with the {@link Entry} schema (its
 * `Completion` is plain JSON): a remote store writes `encodeJson(entry)` and reads with
 * `decodeJson(text)`. Expiry is judged with `Clock`, so a remote store should keep the deadline with
 * the value and check it on `get` (its native expiry, e.g. Redis `PX`, is garbage collection only).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as CacheStore from "@effect-llm/core/CacheStore"
 *
 * // at most 10,000 answers and 256 MiB
 * const StoreLive = CacheStore.layerMemory({ maxEntries: 10_000, maxBytes: 256 * 1024 * 1024 })
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* CacheStore.CacheStore
 *   const entry = yield* store.get("some-key")
 * }).pipe(Effect.provide(StoreLive))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Completion } from "./Completion.js"
import * as InvalidOptions from "./InvalidOptions.js"

/**
 * A cached answer: the completion as the provider returned it, and for answers that were streamed
 * the text deltas (so a hit replays the same chunks) with the milliseconds before each (for paced
 * replay). `storedAt` is epoch milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Entry = Schema.Struct({
  completion: Completion,
  chunks: Schema.optional(Schema.Array(Schema.String)),
  delays: Schema.optional(Schema.Array(Schema.Number)),
  storedAt: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type Entry = typeof Entry.Type

/**
 * An entry as JSON text, for stores that keep strings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EntryFromJson: Schema.Schema<Entry, string> = Schema.parseJson(Entry)

/**
 * Encodes an entry as JSON text.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeJson: (entry: Entry) => string = Schema.encodeSync(EntryFromJson)

/**
 * Decodes (and validates) an entry from JSON text.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodeJson = (text: string): Effect.Effect<Entry, CacheStoreError> =>
  Effect.mapError(
    Schema.decode(EntryFromJson)(text),
    (error) => new CacheStoreError({ operation: "get", detail: error.message })
  )

/**
 * The size of an entry in bytes: the UTF-8 length of its JSON, which is what a remote store keeps.
 *
 * @since 0.1.0
 * @category utils
 */
export const entryBytes = (entry: Entry): number => Buffer.byteLength(JSON.stringify(entry), "utf8")

/**
 * A store operation failed (a remote store could not be reached, or kept something undecodable).
 * The cache policy treats a failed `get` as a miss and ignores a failed `set`: a broken cache makes
 * calls slower, never wrong.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheStoreError extends Schema.TaggedError<CacheStoreError>("@effect-llm/core/CacheStore/CacheStoreError")(
  "CacheStoreError",
  {
    operation: Schema.Literal("get", "set", "delete"),
    detail: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `cache store ${this.operation} failed: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The live entry under `key`, if any (an expired entry is gone). */
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry>, CacheStoreError>
  /** Stores `entry` under `key` for `ttl`, replacing what was there. */
  readonly set: (key: string, entry: Entry, ttl: Duration.Duration) => Effect.Effect<void, CacheStoreError>
  /** Removes the entry under `key`, if any. */
  readonly delete: (key: string) => Effect.Effect<void, CacheStoreError>
  /**
   * The same store as plain functions, for a store in the process (the memory store): the cache
   * then reads and writes it with no effect per operation. Optional; it must agree with `get` and
   * `set` (the conformance suite checks that it does).
   */
  readonly sync?: SyncFace
}

/**
 * A store's plain face (see `Service.sync`): `now` is the caller's clock, in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncFace {
  readonly get: (key: string, now: number) => Entry | undefined
  readonly set: (key: string, entry: Entry, ttlMillis: number, now: number) => void
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CacheStore extends Context.Tag("@effect-llm/core/CacheStore")<CacheStore, Service>() {}

/**
 * Bounds of the memory store.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** At most this many entries (an integer of at least 1; default 1,000). */
  readonly maxEntries?: number
  /** At most this many bytes, as measured by {@link entryBytes} (an integer of at least 1; default 64 MiB). */
  readonly maxBytes?: number
}

interface Slot {
  readonly entry: Entry
  readonly expiresAt: number
  readonly bytes: number
}

const checkMemoryOptions = (options: MemoryOptions | undefined): void => {
  InvalidOptions.integer("CacheStore", "maxEntries", options?.maxEntries, 1)
  InvalidOptions.integer("CacheStore", "maxBytes", options?.maxBytes, 1)
}

/**
 * A memory store, bounded by entry count and by bytes: when either bound is passed, the least
 * recently used entries (read or written) go first. An entry larger than `maxBytes` is not kept.
 * Entries expire by TTL, judged with `Clock` (so `TestClock` drives expiry in tests). Throws
 * `InvalidOptions` for options it cannot work with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options?: MemoryOptions): Service => {
  checkMemoryOptions(options)
  return buildMemory(options)
}

const buildMemory = (options: MemoryOptions | undefined): Service => {
  const maxEntries = options?.maxEntries ?? 1_000
  const maxBytes = options?.maxBytes ?? 64 * 1024 * 1024
  // a Map iterates in insertion order: re-inserting on use keeps the least recently used first
  const slots = new Map<string, Slot>()
  let bytes = 0

  const remove = (key: string) => {
    const slot = slots.get(key)
    if (slot === undefined) return
    slots.delete(key)
    bytes -= slot.bytes
  }

  // least recently used first (expired entries are dropped when read, or when their turn comes)
  const evict = () => {
    for (const key of slots.keys()) {
      if (slots.size <= maxEntries && bytes <= maxBytes) return
      remove(key)
    }
  }

  const get = (key: string, now: number): Entry | undefined => {
    const slot = slots.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= now) {
      remove(key)
      return undefined
    }
    slots.delete(key)
    slots.set(key, slot)
    return slot.entry
  }

  const set = (key: string, entry: Entry, ttlMillis: number, now: number): void => {
    remove(key)
    if (!(ttlMillis > 0)) return
    const size = entryBytes(entry)
    if (size > maxBytes) return
    slots.set(key, { entry, expiresAt: now + ttlMillis, bytes: size })
    bytes += size
    evict()
  }

  return {
    get: (key) =>
      Effect.clockWith((clock) => Effect.sync(() => Option.fromNullable(get(key, clock.unsafeCurrentTimeMillis())))),
    set: (key, entry, ttl) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => set(key, entry, Duration.toMillis(ttl), clock.unsafeCurrentTimeMillis()))
      ),
    delete: (key) => Effect.sync(() => remove(key)),
    sync: { get, set }
  }
}

/**
 * A memory store as a layer (a new, empty store every time the layer is built). Throws
 * `InvalidOptions` for options it cannot work with, when it is called (not when the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<CacheStore> => {
  checkMemoryOptions(options)
  return Layer.sync(CacheStore, () => buildMemory(options))
}
