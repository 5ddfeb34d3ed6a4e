import { describe, expect, it } from "@effect/vitest"
import { Sweeper } from "../src/internal/sweep.js"

describe("Sweeper", () => {
  it("keeps a map of mostly idle entries near its live size", () => {
    const sweeper = new Sweeper(8)
    const map = new Map<number, { live: boolean }>()
    let largest = 0
    for (let i = 0; i < 10_000; i++) {
      // one key in ten stays live
      map.set(i, { live: i % 10 === 0 })
      sweeper.maybeSweep(map, (v) => !v.live)
      largest = Math.max(largest, map.size)
    }
    const live = 1_000
    // every live entry kept; at most about twice the live entries plus the floor held at any time
    expect([...map.values()].filter((v) => v.live)).toHaveLength(live)
    expect(largest).toBeLessThanOrEqual(2 * live + 8)
  })

  it("does not sweep below its floor", () => {
    const sweeper = new Sweeper(100)
    const map = new Map<number, number>()
    for (let i = 0; i < 99; i++) {
      map.set(i, i)
      sweeper.maybeSweep(map, () => true)
    }
    expect(map.size).toBe(99)
    map.set(99, 99)
    sweeper.maybeSweep(map, () => true)
    expect(map.size).toBe(0)
  })

  it("sweeps again only once the live entries doubled (amortised constant time)", () => {
    const sweeper = new Sweeper(4)
    const map = new Map<number, number>()
    let scans = 0
    for (let i = 0; i < 4_096; i++) {
      map.set(i, i)
      sweeper.maybeSweep(map, () => {
        scans++
        return false
      })
    }
    // sweeps at sizes 4, 8, 16, ..., 4096: fewer than 2 scans per insert in all
    expect(scans).toBeLessThan(2 * 4_096)
    expect(map.size).toBe(4_096)
  })
})
