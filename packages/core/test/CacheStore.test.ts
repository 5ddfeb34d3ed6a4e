import * as CacheStore from "@effect-llm/core/CacheStore"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { cacheStoreConformance, sampleEntry } from "./CacheStoreConformance.js"
import { refusesFor } from "./invalidOptionsFixtures.js"

cacheStoreConformance("memory", CacheStore.layerMemory())
cacheStoreConformance("memory (small bounds)", CacheStore.layerMemory({ maxEntries: 4, maxBytes: 64 * 1024 }))

const ttl = Duration.minutes(10)
const has = (store: CacheStore.Service, key: string) => Effect.map(store.get(key), Option.isSome)

describe("CacheStore memory", () => {
  it.effect("keeps at most maxEntries, dropping the least recently used", () =>
    Effect.gen(function*() {
      const store = CacheStore.makeMemory({ maxEntries: 3 })
      yield* store.set("a", sampleEntry("a"), ttl)
      yield* store.set("b", sampleEntry("b"), ttl)
      yield* store.set("c", sampleEntry("c"), ttl)
      // reading "a" makes "b" the least recently used
      assert.isTrue(yield* has(store, "a"))
      yield* store.set("d", sampleEntry("d"), ttl)
      assert.isFalse(yield* has(store, "b"))
      assert.isTrue(yield* has(store, "a"))
      assert.isTrue(yield* has(store, "c"))
      assert.isTrue(yield* has(store, "d"))
      // recency is now a, c, d (the reads above); writing "a" again makes "c" the least recently used
      yield* store.set("a", sampleEntry("a2"), ttl)
      yield* store.set("e", sampleEntry("e"), ttl)
      assert.isFalse(yield* has(store, "c"))
      assert.strictEqual(Option.getOrThrow(yield* store.get("a")).completion.text, "a2")
    }))

  it.effect("keeps at most maxBytes, dropping the least recently used", () =>
    Effect.gen(function*() {
      const entry = (text: string) => sampleEntry(text.repeat(100))
      const size = CacheStore.entryBytes(entry("a"))
      // room for two entries and a half
      const store = CacheStore.makeMemory({ maxEntries: 100, maxBytes: Math.floor(size * 2.5) })
      yield* store.set("a", entry("a"), ttl)
      yield* store.set("b", entry("b"), ttl)
      assert.isTrue(yield* has(store, "a"))
      yield* store.set("c", entry("c"), ttl)
      assert.isFalse(yield* has(store, "b"))
      assert.isTrue(yield* has(store, "a"))
      assert.isTrue(yield* has(store, "c"))
    }))

  it.effect("one big entry can evict several small ones; an entry above maxBytes is not kept", () =>
    Effect.gen(function*() {
      const small = sampleEntry("s")
      const smallSize = CacheStore.entryBytes(small)
      const store = CacheStore.makeMemory({ maxEntries: 100, maxBytes: smallSize * 4 })
      for (const k of ["1", "2", "3", "4"]) yield* store.set(k, small, ttl)
      const big = sampleEntry("b".repeat(smallSize * 2))
      assert.isAbove(CacheStore.entryBytes(big), smallSize * 2)
      assert.isBelow(CacheStore.entryBytes(big), smallSize * 4)
      yield* store.set("big", big, ttl)
      assert.isTrue(yield* has(store, "big"))
      assert.isFalse(yield* has(store, "1"))
      assert.isFalse(yield* has(store, "2"))
      assert.isTrue(yield* has(store, "4"))
      const huge = sampleEntry("h".repeat(smallSize * 5))
      yield* store.set("huge", huge, ttl)
      assert.isFalse(yield* has(store, "huge"))
      assert.isTrue(yield* has(store, "big"))
      // replacing a key with an oversize entry drops the old one instead of serving it stale
      yield* store.set("big", huge, ttl)
      assert.isFalse(yield* has(store, "big"))
    }))

  it.effect("a zero TTL stores nothing", () =>
    Effect.gen(function*() {
      const store = CacheStore.makeMemory()
      yield* store.set("a", sampleEntry("a"), Duration.zero)
      assert.isFalse(yield* has(store, "a"))
    }))

  it.effect("entries round-trip through JSON (what a remote store keeps)", () =>
    Effect.gen(function*() {
      const entry = sampleEntry()
      const text = CacheStore.encodeJson(entry)
      assert.strictEqual(typeof text, "string")
      assert.deepStrictEqual(yield* CacheStore.decodeJson(text), entry)
      assert.strictEqual(CacheStore.entryBytes(entry), Buffer.byteLength(text, "utf8"))
      const broken = yield* Effect.flip(CacheStore.decodeJson("{\"completion\":{}}"))
      assert.strictEqual(broken._tag, "CacheStoreError")
      assert.strictEqual(broken.operation, "get")
    }))
})

const refuses = (f: () => unknown, option: string) => refusesFor("CacheStore")(option, f)

describe("CacheStore memory options", () => {
  it("makeMemory and layerMemory refuse bounds they cannot keep", () => {
    const cases: ReadonlyArray<readonly [CacheStore.MemoryOptions, string]> = [
      [{ maxEntries: 0 }, "maxEntries"],
      [{ maxEntries: -5 }, "maxEntries"],
      [{ maxEntries: 2.5 }, "maxEntries"],
      [{ maxEntries: Number.POSITIVE_INFINITY }, "maxEntries"],
      [{ maxBytes: 0 }, "maxBytes"],
      [{ maxBytes: 1024.5 }, "maxBytes"],
      [{ maxBytes: Number.NaN }, "maxBytes"]
    ]
    for (const [options, option] of cases) {
      refuses(() => CacheStore.makeMemory(options), option)
      refuses(() => CacheStore.layerMemory(options), option)
    }
  })

  it.effect("accepts the defaults and the smallest bounds", () =>
    Effect.gen(function*() {
      CacheStore.makeMemory()
      CacheStore.layerMemory({})
      const store = CacheStore.makeMemory({ maxEntries: 1, maxBytes: 1 })
      // one byte keeps nothing, but it is a bound the store can keep
      yield* store.set("a", sampleEntry("a"), ttl)
      assert.isFalse(yield* has(store, "a"))
      const one = CacheStore.makeMemory({ maxEntries: 1 })
      yield* one.set("a", sampleEntry("a"), ttl)
      yield* one.set("b", sampleEntry("b"), ttl)
      assert.isFalse(yield* has(one, "a"))
      assert.isTrue(yield* has(one, "b"))
    }))
})
