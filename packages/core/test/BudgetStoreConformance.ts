/**
 * The conformance suite of `BudgetStore`: every implementation (the memory store here, a Redis store
 * in `@effect-llm/redis`) runs it in one line:
 *
 * ```ts
 * import { budgetStoreConformance } from "@effect-llm/core/test/BudgetStoreConformance" // see below
 * budgetStoreConformance("RedisBudgetStore", RedisBudgetStore.layer(options))
 * ```
 *
 * It lives in `test/` (not `src/`) so that `src` never imports vitest; it is a plain module that
 * registers `describe` / `it` blocks when called. Another package's tests import it by path until
 * core's package.json exports `./test/*` (a lead's decision). The layer is built afresh for every test
 * (`Effect.provide` per test) unless the store shares state across builds, in which case keys are
 * made unique per test with a random prefix. A store with a sync face (`Service.sync`, a store in
 * the process) must be one store through both faces.
 */
import * as BudgetStore from "@effect-llm/core/BudgetStore"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"

const fixed = (start = 0, end = Number.POSITIVE_INFINITY): BudgetStore.Window => ({ _tag: "Fixed", start, end })

export const budgetStoreConformance = <E>(name: string, layer: Layer.Layer<BudgetStore.BudgetStore, E>) => {
  const run = <A>(body: (store: BudgetStore.Service, key: (k: string) => string) => Effect.Effect<A>) =>
    Effect.gen(function*() {
      const store = yield* BudgetStore.BudgetStore
      const prefix = `t${Math.random().toString(36).slice(2)}:`
      return yield* body(store, (k) => prefix + k)
    }).pipe(Effect.provide(layer))

  const req = (
    id: string,
    items: ReadonlyArray<BudgetStore.Item>,
    options?: { readonly now?: number; readonly kMin?: number; readonly kMax?: number; readonly expiresAt?: number }
  ): BudgetStore.ReserveRequest => ({
    id,
    now: options?.now ?? 0,
    expiresAt: options?.expiresAt ?? 1_000_000_000,
    kMin: options?.kMin ?? 0,
    kMax: options?.kMax ?? 0,
    items
  })

  describe(`BudgetStore conformance: ${name}`, () => {
    it.effect("reserves up to the limit and refuses beyond it", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const item = { key: key("a"), limit: 100, window: fixed(), base: 60, rate: 0 }
          const first = yield* store.reserve(req("r1", [item]))
          assert.strictEqual(first._tag, "Reserved")
          const second = yield* store.reserve(req("r2", [item]))
          assert.strictEqual(second._tag, "Refused")
          if (second._tag === "Refused") {
            assert.strictEqual(second.used, 60)
            assert.strictEqual(second.requested, 60)
            assert.strictEqual(second.limit, 100)
            assert.strictEqual(second.index, 0)
          }
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 0), { spent: 0, reserved: 60 })
          assert.strictEqual(yield* store.outstanding(0), 1)
        })
      ))

    it.effect("grants the largest k that fits every item, within [kMin, kMax]", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const tokens = { key: key("tokens"), limit: 1_000, window: fixed(), base: 200, rate: 1 }
          const usd = { key: key("usd"), limit: 1, window: fixed(), base: 0.1, rate: 0.002 }
          // tokens allow k <= 800, usd allows k <= 450
          const result = yield* store.reserve(req("r1", [tokens, usd], { kMin: 10, kMax: 4_096 }))
          assert.strictEqual(result._tag, "Reserved")
          if (result._tag === "Reserved") {
            assert.strictEqual(result.k, 450)
            assert.strictEqual(result.levels[0], 650)
            assert.isAtMost(result.levels[1]!, 1)
          }
          const capped = yield* store.reserve(req("r2", [{ ...tokens, key: key("other") }], { kMin: 1, kMax: 5 }))
          assert.isTrue(capped._tag === "Reserved" && capped.k === 5)
          const refused = yield* store.reserve(req("r3", [tokens], { kMin: 200, kMax: 300 }))
          assert.strictEqual(refused._tag, "Refused")
        })
      ))

    it.effect("is all-or-nothing across items", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const roomy = { key: key("roomy"), limit: 1_000, window: fixed(), base: 10, rate: 0 }
          const tight = { key: key("tight"), limit: 5, window: fixed(), base: 10, rate: 0 }
          const result = yield* store.reserve(req("r1", [roomy, tight]))
          assert.isTrue(result._tag === "Refused" && result.index === 1)
          assert.deepStrictEqual(yield* store.status(key("roomy"), fixed(), 0), { spent: 0, reserved: 0 })
          assert.strictEqual(yield* store.outstanding(0), 0)
        })
      ))

    it.effect("commit replaces the reservation with the real amount; release drops it", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const item = { key: key("a"), limit: 100, window: fixed(), base: 50, rate: 0 }
          yield* store.reserve(req("r1", [item]))
          yield* store.reserve(req("r2", [item]))
          yield* store.commit("r1", 1, [30])
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 1), { spent: 30, reserved: 50 })
          yield* store.release("r2")
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 1), { spent: 30, reserved: 0 })
          // a second commit or release of the same id is a no-op
          yield* store.commit("r1", 1, [30])
          yield* store.release("r1")
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 1), { spent: 30, reserved: 0 })
          assert.strictEqual(yield* store.outstanding(1), 0)
        })
      ))

    it.effect("fixed windows reset when the window moves", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const day1 = fixed(0, 1_000)
          const day2 = fixed(1_000, 2_000)
          yield* store.reserve(req("r1", [{ key: key("a"), limit: 100, window: day1, base: 100, rate: 0 }]))
          yield* store.commit("r1", 10, [100])
          const refused = yield* store.reserve(
            req("r2", [{ key: key("a"), limit: 100, window: day1, base: 1, rate: 0 }], { now: 999 })
          )
          assert.strictEqual(refused._tag, "Refused")
          const next = yield* store.reserve(
            req("r3", [{ key: key("a"), limit: 100, window: day2, base: 100, rate: 0 }], { now: 1_000 })
          )
          assert.strictEqual(next._tag, "Reserved")
          assert.deepStrictEqual(yield* store.status(key("a"), day2, 1_000), { spent: 0, reserved: 100 })
        })
      ))

    it.effect("rolling windows forget spend older than the window", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const rolling: BudgetStore.Window = { _tag: "Rolling", millis: 1_000 }
          const item = { key: key("a"), limit: 100, window: rolling, base: 100, rate: 0 }
          yield* store.reserve(req("r1", [item], { now: 0 }))
          yield* store.commit("r1", 500, [100])
          assert.strictEqual((yield* store.reserve(req("r2", [item], { now: 1_499 })))._tag, "Refused")
          assert.strictEqual((yield* store.reserve(req("r3", [item], { now: 1_500 })))._tag, "Reserved")
        })
      ))

    it.effect("a rolling window holding thousands of entries counts exactly those inside it", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const rolling: BudgetStore.Window = { _tag: "Rolling", millis: 1_000 }
          const item = { key: key("a"), limit: 1e9, window: rolling, base: 1, rate: 0 }
          // one commit per millisecond for 5 s, amounts 1..7 cycling: the window slides over 5,000 entries
          const amountAt = (t: number) => 1 + (t % 7)
          for (let t = 0; t < 5_000; t++) {
            yield* store.reserve(req(`r${t}`, [item], { now: t }))
            yield* store.commit(`r${t}`, t, [amountAt(t)])
            if (t % 997 === 0 || t === 4_999) {
              let expected = 0
              for (let s = Math.max(0, t - 999); s <= t; s++) expected += amountAt(s)
              const { spent } = yield* store.status(key("a"), rolling, t)
              assert.closeTo(spent, expected, 1e-9, `spent at ${t}`)
            }
          }
          // the last entry leaves the window at 5,999: exactly nothing is left
          assert.deepStrictEqual(yield* store.status(key("a"), rolling, 5_999), { spent: 0, reserved: 0 })
          // and it fills again from zero
          yield* store.reserve(req("again", [item], { now: 6_000 }))
          yield* store.commit("again", 6_000, [2.5])
          assert.deepStrictEqual(yield* store.status(key("a"), rolling, 6_000), { spent: 2.5, reserved: 0 })
        })
      ))

    it.effect("expired reservations stop counting", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const item = { key: key("a"), limit: 100, window: fixed(), base: 100, rate: 0 }
          yield* store.reserve(req("r1", [item], { now: 0, expiresAt: 50 }))
          assert.strictEqual((yield* store.reserve(req("r2", [item], { now: 49 })))._tag, "Refused")
          assert.strictEqual(yield* store.outstanding(49), 1)
          assert.strictEqual((yield* store.reserve(req("r3", [item], { now: 50 })))._tag, "Reserved")
          // a late commit of the expired reservation is ignored
          yield* store.commit("r1", 60, [100])
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 60), { spent: 0, reserved: 100 })
        })
      ))

    it.effect("concurrent reservations never exceed the limit", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const item = { key: key("a"), limit: 1_000, window: fixed(), base: 7, rate: 0 }
          const results = yield* Effect.forEach(
            Array.from({ length: 300 }, (_, i) => i),
            (i) => store.reserve(req(`r${i}`, [item])),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter((r) => r._tag === "Reserved").length, Math.floor(1_000 / 7))
          const status = yield* store.status(key("a"), fixed(), 0)
          assert.isAtMost(status.reserved, 1_000)
        })
      ))

    it.effect("its sync face, when it has one, is the same store as its effects", () =>
      run((store, key) =>
        Effect.gen(function*() {
          const sync = store.sync
          if (sync === undefined) return
          const item = { key: key("a"), limit: 100, window: fixed(), base: 40, rate: 0 }
          assert.strictEqual(sync.reserve(req("plain", [item]))._tag, "Reserved")
          assert.strictEqual((yield* store.reserve(req("effect", [item])))._tag, "Reserved")
          // both reservations count, whichever face made them
          const refused = sync.reserve(req("third", [item]))
          assert.strictEqual(refused._tag, "Refused")
          if (refused._tag === "Refused") assert.strictEqual(refused.used, 80)
          sync.commit("effect", 0, [25])
          yield* store.release("plain")
          assert.deepStrictEqual(yield* store.status(key("a"), fixed(), 0), { spent: 25, reserved: 0 })
          sync.release("unknown")
          sync.commit("unknown", 0, [10])
          assert.strictEqual(yield* store.outstanding(0), 0)
        })
      ))
  })
}
