import * as BudgetStore from "@effect-llm/core/BudgetStore"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { budgetStoreConformance } from "./BudgetStoreConformance.js"

budgetStoreConformance("memory", BudgetStore.layerMemory)

type Command =
  | {
    readonly _tag: "Reserve"
    readonly base: number
    readonly rate: number
    readonly kMin: number
    readonly kMax: number
  }
  | { readonly _tag: "Commit"; readonly pick: number; readonly fraction: number }
  | { readonly _tag: "Release"; readonly pick: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    _tag: fc.constant("Reserve" as const),
    base: fc.integer({ min: 0, max: 300 }),
    rate: fc.integer({ min: 0, max: 5 }),
    kMin: fc.integer({ min: 0, max: 50 }),
    kMax: fc.integer({ min: 0, max: 400 })
  }).map((c) => ({ ...c, kMax: Math.max(c.kMin, c.kMax) })),
  fc.record({
    _tag: fc.constant("Commit" as const),
    pick: fc.nat(),
    fraction: fc.double({ min: 0, max: 1, noNaN: true })
  }),
  fc.record({ _tag: fc.constant("Release" as const), pick: fc.nat() })
)

const window: BudgetStore.Window = { _tag: "Fixed", start: 0, end: Number.POSITIVE_INFINITY }

describe("BudgetStore (memory) properties", () => {
  it("random reserve / commit / release sequences keep the books exact and never exceed the limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000 }), fc.array(command, { maxLength: 80 }), (limit, commands) => {
        const store = BudgetStore.makeMemory()
        const open = new Map<string, number>()
        let spent = 0
        let next = 0
        for (const c of commands) {
          const used = spent + Array.from(open.values()).reduce((a, b) => a + b, 0)
          if (c._tag === "Reserve") {
            const id = `r${next++}`
            const result = Effect.runSync(store.reserve({
              id,
              now: 0,
              expiresAt: Number.POSITIVE_INFINITY,
              kMin: c.kMin,
              kMax: c.kMax,
              items: [{ key: "k", limit, window, base: c.base, rate: c.rate }]
            }))
            const fits = used + c.base + c.kMin * c.rate <= limit
            assert.strictEqual(result._tag, fits ? "Reserved" : "Refused")
            if (result._tag === "Reserved") {
              const expectedK = c.rate === 0 ? c.kMax : Math.min(c.kMax, Math.floor((limit - used - c.base) / c.rate))
              assert.strictEqual(result.k, Math.max(c.kMin, expectedK))
              open.set(id, c.base + result.k * c.rate)
            } else {
              assert.strictEqual(result.used, used)
            }
          } else if (open.size > 0) {
            const ids = Array.from(open.keys())
            const id = ids[c.pick % ids.length]!
            if (c._tag === "Commit") {
              const amount = Math.floor(open.get(id)! * c.fraction)
              Effect.runSync(store.commit(id, 0, [amount]))
              spent += amount
            } else {
              Effect.runSync(store.release(id))
            }
            open.delete(id)
          }
          const status = Effect.runSync(store.status("k", window, 0))
          assert.strictEqual(status.spent, spent)
          assert.strictEqual(status.reserved, Array.from(open.values()).reduce((a, b) => a + b, 0))
          assert.isAtMost(status.spent + status.reserved, Math.max(limit, 0))
          assert.strictEqual(Effect.runSync(store.outstanding(0)), open.size)
        }
        for (const id of open.keys()) Effect.runSync(store.release(id))
        assert.strictEqual(Effect.runSync(store.outstanding(0)), 0)
        assert.strictEqual(Effect.runSync(store.status("k", window, 0)).reserved, 0)
      }),
      { numRuns: 300, seed: 42 }
    )
  })
})

describe("BudgetStore (memory) footprint", () => {
  const day = 86_400_000
  const daily = (n: number): BudgetStore.Window => ({ _tag: "Fixed", start: n * day, end: (n + 1) * day })
  const reserve = (store: BudgetStore.Service, id: string, key: string, window: BudgetStore.Window, now: number) =>
    store.reserve({
      id,
      now,
      expiresAt: now + 600_000,
      kMin: 0,
      kMax: 0,
      items: [{ key, limit: 1_000, window, base: 10, rate: 0 }]
    })

  /** `count` users refused by a zero limit at `now`: each leaves an idle counter behind. */
  const refusedUsers = (store: BudgetStore.Service, prefix: string, count: number, now: number) =>
    Effect.forEach(
      Array.from({ length: count }, (_, u) => u),
      (u) =>
        store.reserve({
          id: `${prefix}${u}`,
          now,
          expiresAt: now + 600_000,
          kMin: 0,
          kMax: 0,
          items: [{ key: `user:${prefix}${u}`, limit: 0, window: daily(0), base: 1, rate: 0 }]
        }),
      { discard: true }
    )

  it.effect("holds counters for the users of the open window, not for every user ever seen", () =>
    Effect.gen(function*() {
      const store = BudgetStore.makeMemory()
      for (let u = 0; u < 5_000; u++) {
        yield* reserve(store, `a${u}`, `user:a${u}`, daily(0), 1_000)
        yield* store.commit(`a${u}`, 1_000, [3])
      }
      assert.strictEqual((yield* store.size).counters, 5_000) // all spent in the open window: all kept
      // the next day, 5,000 other users
      for (let u = 0; u < 5_000; u++) {
        yield* reserve(store, `b${u}`, `user:b${u}`, daily(1), day + 1_000)
        yield* store.commit(`b${u}`, day + 1_000, [4])
      }
      const { counters, reservations } = yield* store.size
      assert.isBelow(counters, 10_000) // yesterday's users were dropped
      assert.isAtLeast(counters, 5_000)
      assert.strictEqual(reservations, 0)
      for (const u of [0, 2_500, 4_999]) {
        assert.deepStrictEqual(yield* store.status(`user:b${u}`, daily(1), day + 2_000), { spent: 4, reserved: 0 })
        // a dropped user starts the new day from nothing, as a kept one would
        assert.deepStrictEqual(yield* store.status(`user:a${u}`, daily(1), day + 2_000), { spent: 0, reserved: 0 })
      }
    }))

  it.effect("never drops a counter with an open reservation or with spend in a rolling window", () =>
    Effect.gen(function*() {
      const store = BudgetStore.makeMemory()
      const rolling: BudgetStore.Window = { _tag: "Rolling", millis: 60_000 }
      // 1,500 reservations left open, and 1,500 users with spend in the last minute
      for (let u = 0; u < 1_500; u++) yield* reserve(store, `open${u}`, `user:open${u}`, daily(0), 0)
      for (let u = 0; u < 1_500; u++) {
        yield* reserve(store, `r${u}`, `user:r${u}`, rolling, 0)
        yield* store.commit(`r${u}`, 0, [5])
      }
      // many users refused (a zero limit): idle counters that make the map sweep several times
      yield* refusedUsers(store, "x", 20_000, 30_000)
      assert.isBelow((yield* store.size).counters, 8_000)
      for (const u of [0, 749, 1_499]) {
        assert.deepStrictEqual(yield* store.status(`user:open${u}`, daily(0), 30_000), { spent: 0, reserved: 10 })
        assert.deepStrictEqual(yield* store.status(`user:r${u}`, rolling, 30_000), { spent: 5, reserved: 0 })
      }
      // the open reservations still commit into their counters
      yield* store.commit("open7", 40_000, [6])
      assert.deepStrictEqual(yield* store.status("user:open7", daily(0), 40_000), { spent: 6, reserved: 0 })
      // once the rolling spend has left its window, those counters go too
      yield* refusedUsers(store, "y", 20_000, 61_000)
      assert.isBelow((yield* store.size).counters, 1_500 + 1_500 + 4_000)
    }))
})
