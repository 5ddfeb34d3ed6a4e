/**
 * The conformance suite of `CacheStore`: every implementation (the memory store here, a Redis store
 * in `@effect-llm/redis`) runs it in one line:
 *
 * ```ts
 * import { cacheStoreConformance } from "@effect-llm/core/test/CacheStoreConformance" // see below
 * cacheStoreConformance("RedisCacheStore", RedisCacheStore.layer(options))
 * ```
 *
 * It lives in `test/` (not `src/`) so that `src` never imports vitest; it is a plain module that
 * registers `describe` / `it` blocks when called. Another package's tests import it by path until
 * core's package.json exports `./test/*` (a lead's decision).
 *
 * Contract checked here:
 * - `get` of an unknown key is `None`; `set` then `get` gives back an equal entry (after the
 *   store's own serialisation: a remote store keeps `CacheStore.encodeJson(entry)`);
 * - `set` replaces; `delete` removes; keys are independent;
 * - expiry is judged with `Clock` (the tests drive it with `TestClock`): a remote store keeps the
 *   deadline beside the value and checks it on `get`, using its native expiry only to collect;
 * - a store with a sync face (`Service.sync`, a store in the process) is one store through both.
 *
 * The layer is built afresh for every test; keys carry a random prefix so that a store sharing
 * state across builds (Redis) does not see other tests' entries.
 */
import * as CacheStore from "@effect-llm/core/CacheStore"
import type { Completion } from "@effect-llm/core/Completion"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, type Layer, Option, TestClock } from "effect"

const completion = (text: string, extra?: Partial<Completion>): Completion => ({
  text,
  finishReason: "stop",
  usage: { inputTokens: 12, cachedInputTokens: 2, cacheWriteInputTokens: 0, outputTokens: 7, reasoningTokens: 1 },
  costUsd: 0.000123,
  provider: "openai",
  model: "gpt-5-mini",
  servedModel: "gpt-5-mini-2026-08-07",
  responseId: "resp_1",
  requestId: "req_1",
  rateLimit: { limitRequests: 500, remainingRequests: 499, resetRequestsMillis: 120 },
  attempts: [{ provider: "openai", model: "gpt-5-mini", outcome: "success", durationMillis: 42 }],
  tier: "small",
  ...extra
})

/** An entry with every optional field set (chunks, delays, a full completion), for round trips. */
export const sampleEntry = (text = "Hello, world — ünïcødé ✓"): CacheStore.Entry => ({
  completion: completion(text),
  chunks: ["Hello", ", world", " — ünïcødé ✓"],
  delays: [120, 15, 30],
  storedAt: 1_700_000_000_000
})

export const cacheStoreConformance = <E>(name: string, layer: Layer.Layer<CacheStore.CacheStore, E>) => {
  const run = <A>(body: (store: CacheStore.Service, key: (k: string) => string) => Effect.Effect<A, unknown>) =>
    Effect.gen(function*() {
      const store = yield* CacheStore.CacheStore
      const prefix = `t${Math.random().toString(36).slice(2)}:`
      return yield* body(store, (k) => prefix + k)
    }).pipe(Effect.provide(layer))

  describe(`CacheStore conformance: ${name}`, () => {
    it.effect("get of an unknown key is None", () =>
      run((store, key) =>
        Effect.gen(function*() {
          assert.isTrue(Option.isNone(yield* store.get(key("nothing"))))
        })
      ))

    it.effect("set then get gives back an equal entry, chunks and delays included", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const entry = sampleEntry()
          yield* store.set(key("a"), entry, Duration.minutes(5))
          const found = yield* store.get(key("a"))
          assert.isTrue(Option.isSome(found))
          assert.deepStrictEqual(Option.getOrThrow(found), entry)
          const minimal: CacheStore.Entry = { completion: completion("x", { attempts: [] }), storedAt: 0 }
          yield* store.set(key("b"), minimal, Duration.minutes(5))
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key("b"))), minimal)
        })
      ))

    it.effect("set replaces the entry under a key", () =>
      run((store, key) =>
        Effect.gen(function*() {
          yield* store.set(key("a"), sampleEntry("first"), Duration.minutes(5))
          yield* store.set(key("a"), sampleEntry("second"), Duration.minutes(5))
          const found = Option.getOrThrow(yield* store.get(key("a")))
          assert.strictEqual(found.completion.text, "second")
        })
      ))

    it.effect("delete removes one key and leaves the others", () =>
      run((store, key) =>
        Effect.gen(function*() {
          yield* store.set(key("a"), sampleEntry("a"), Duration.minutes(5))
          yield* store.set(key("b"), sampleEntry("b"), Duration.minutes(5))
          yield* store.delete(key("a"))
          yield* store.delete(key("never-set"))
          assert.isTrue(Option.isNone(yield* store.get(key("a"))))
          assert.strictEqual(Option.getOrThrow(yield* store.get(key("b"))).completion.text, "b")
        })
      ))

    it.effect("entries expire after their TTL, judged with Clock", () =>
      run((store, key) =>
        Effect.gen(function*() {
          yield* store.set(key("short"), sampleEntry("short"), Duration.seconds(10))
          yield* store.set(key("long"), sampleEntry("long"), Duration.minutes(10))
          yield* TestClock.adjust(Duration.seconds(9))
          assert.isTrue(Option.isSome(yield* store.get(key("short"))))
          yield* TestClock.adjust(Duration.seconds(1))
          assert.isTrue(Option.isNone(yield* store.get(key("short"))))
          assert.isTrue(Option.isSome(yield* store.get(key("long"))))
          yield* TestClock.adjust(Duration.minutes(10))
          assert.isTrue(Option.isNone(yield* store.get(key("long"))))
        })
      ))

    it.effect("set restarts the TTL", () =>
      run((store, key) =>
        Effect.gen(function*() {
          yield* store.set(key("a"), sampleEntry("v1"), Duration.seconds(10))
          yield* TestClock.adjust(Duration.seconds(8))
          yield* store.set(key("a"), sampleEntry("v2"), Duration.seconds(10))
          yield* TestClock.adjust(Duration.seconds(8))
          assert.strictEqual(Option.getOrThrow(yield* store.get(key("a"))).completion.text, "v2")
        })
      ))

    it.effect("keys are opaque strings (namespaced keys, long keys)", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const namespaced = key("faq:" + "f".repeat(64))
          const long = key("k".repeat(1_000))
          yield* store.set(namespaced, sampleEntry("ns"), Duration.minutes(1))
          yield* store.set(long, sampleEntry("long"), Duration.minutes(1))
          assert.strictEqual(Option.getOrThrow(yield* store.get(namespaced)).completion.text, "ns")
          assert.strictEqual(Option.getOrThrow(yield* store.get(long)).completion.text, "long")
        })
      ))

    it.effect("its sync face, when it has one, is the same store: each sees what the other wrote and expires it alike", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const sync = store.sync
          if (sync === undefined) return
          const now = yield* Clock.currentTimeMillis
          sync.set(key("plain"), sampleEntry("plain"), 10_000, now)
          yield* store.set(key("effect"), sampleEntry("effect"), Duration.seconds(10))
          assert.strictEqual(Option.getOrThrow(yield* store.get(key("plain"))).completion.text, "plain")
          assert.strictEqual(sync.get(key("effect"), now)?.completion.text, "effect")
          assert.isUndefined(sync.get(key("unknown"), now))
          yield* store.delete(key("plain"))
          assert.isUndefined(sync.get(key("plain"), now))
          // expiry judged with the time given (the caller's clock)
          assert.isDefined(sync.get(key("effect"), now + 9_999))
          assert.isUndefined(sync.get(key("effect"), now + 10_000))
          assert.isTrue(Option.isNone(yield* store.get(key("effect"))))
          // a TTL of zero stores nothing
          sync.set(key("zero"), sampleEntry("zero"), 0, now)
          assert.isUndefined(sync.get(key("zero"), now))
        })
      ))
  })
}
