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
