/**
 * Where budgets keep their counters: atomic reserve / commit / release over keyed counters with
 * windows. The memory store here serves one process; a shared store (Redis) implements the same
 * tag for many, and runs the same conformance suite (`test/BudgetStoreConformance.ts`).
 *
 * The store is deliberately dumb about calendars and prices: the budget policy computes windows
 * (with `DateTime` and time zones) and amounts, and passes `now` in, so every store behaves the
 * same under `TestClock`.
 *
 * A reservation is flexible: each item reserves `base + k * rate`, and the store grants the largest
 * `k` in `[kMin, kMax]` that fits every item's limit (the budget policy reserves the input plus `k`
 * output tokens, so `maxOutputTokens` is clamped to what is left — in one atomic step).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as BudgetStore from "@effect-llm/core/BudgetStore"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* BudgetStore.BudgetStore
 *   const window: BudgetStore.Window = { _tag: "Fixed", start: 0, end: Number.POSITIVE_INFINITY }
 *   const result = yield* store.reserve({
 *     id: "call-1",
 *     now: 0,
 *     expiresAt: 60_000,
 *     kMin: 1,
 *     kMax: 500,
 *     items: [{ key: "global:tokens", limit: 10_000, window, base: 1_200, rate: 1 }]
 *   })
 *   if (result._tag === "Reserved") yield* store.commit("call-1", 0, [1_450])
 * }).pipe(Effect.provide(BudgetStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Sweeper } from "./internal/sweep.js"

/**
 * The window of a counter, as the store sees it: a fixed period `[start, end)` (calendar days and
 * months, or forever), or a rolling period of `millis` before `now`. Times are epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export type Window =
  | { readonly _tag: "Fixed"; readonly start: number; readonly end: number }
  | { readonly _tag: "Rolling"; readonly millis: number }

/**
 * One counter touched by a reservation: it grows by `base + k * rate` and must stay at or below
 * `limit` (spent plus reserved).
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly key: string
  readonly limit: number
  readonly window: Window
  readonly base: number
  readonly rate: number
}

/**
 * An atomic reservation over several counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReserveRequest {
  /** Unique per call; commit and release name it. */
  readonly id: string
  readonly now: number
  /** When a store may drop the reservation if it was neither committed nor released (a crashed process). */
  readonly expiresAt: number
  readonly kMin: number
  readonly kMax: number
  readonly items: ReadonlyArray<Item>
}

/**
 * The answer to a reservation: granted with `k` (and each counter's level — spent plus reserved —
 * after it), or refused by the first counter that could not fit `base + kMin * rate`.
 *
 * @since 0.1.0
 * @category models
 */
export type ReserveResult =
  | { readonly _tag: "Reserved"; readonly k: number; readonly levels: ReadonlyArray<number> }
  | {
    readonly _tag: "Refused"
    readonly index: number
    readonly key: string
    readonly limit: number
    /** Spent plus reserved by others. */
    readonly used: number
    readonly requested: number
  }

/**
 * A counter's state in its current window.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly spent: number
  readonly reserved: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Reserves atomically across every item, or nothing. */
  readonly reserve: (request: ReserveRequest) => Effect.Effect<ReserveResult>
  /** Replaces a reservation with what was really spent (one amount per item, in order); unknown ids are ignored. */
  readonly commit: (id: string, now: number, amounts: ReadonlyArray<number>) => Effect.Effect<void>
  /** Drops a reservation without spending; unknown ids are ignored. */
  readonly release: (id: string) => Effect.Effect<void>
  /** A counter's spent and reserved amounts in its window at `now`. */
  readonly status: (key: string, window: Window, now: number) => Effect.Effect<Status>
  /** The number of reservations neither committed, released nor expired at `now`. */
  readonly outstanding: (now: number) => Effect.Effect<number>
  /**
   * `reserve`, `commit` and `release` as plain functions, for a store in the process (the memory
   * store): the budget then reserves and settles with no effect per store operation. Optional; it
   * must be the same store as the effects (the conformance suite checks that it is).
   */
  readonly sync?: SyncFace
}

/**
 * A store's plain face (see `Service.sync`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncFace {
  readonly reserve: (request: ReserveRequest) => ReserveResult
  readonly commit: (id: string, now: number, amounts: ReadonlyArray<number>) => void
  readonly release: (id: string) => void
}

/**
 * @since 0.1.0
 * @category tags
 */
export class BudgetStore extends Context.Tag("@effect-llm/core/BudgetStore")<BudgetStore, Service>() {}

/**
 * The memory store, with a diagnostic of what it holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryService extends Service {
  /**
   * The counters and open reservations held. Counters that hold nothing a fresh one would not (no
   * open reservation, no spend in a window still open) are dropped as the store grows, so a
   * per-user budget holds memory for the users active in its window, not for every user ever seen.
   */
  readonly size: Effect.Effect<{ readonly counters: number; readonly reservations: number }>
}

interface Counter {
  /** Start and end of the fixed window the spent amount belongs to. */
  windowStart: number
  windowEnd: number
  spent: number
  /** Rolling windows: the window's length (its entries have all left it `millis` after the last one). */
  millis: number
  /** Rolling windows: committed (time, amount) pairs, oldest first; those before `head` have left the window. */
  entries: Array<{ readonly at: number; readonly amount: number }>
  head: number
  /** Rolling windows: the sum of the amounts from `head` on (kept as entries come and go, not re-added per call). */
  rolling: number
  reserved: number
  /** Open reservations on this counter (at zero, `reserved` is reset to exactly 0 against float drift). */
  holders: number
}

interface Reservation {
  readonly expiresAt: number
  readonly items: ReadonlyArray<
    { readonly key: string; readonly window: Window; readonly windowStart: number; readonly amount: number }
  >
}

const windowStartOf = (window: Window) => window._tag === "Fixed" ? window.start : 0

/**
 * The memory store's state machine, synchronous (so every operation is atomic in one process).
 * Exposed for stores that wrap it (e.g. a store with persistence).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): MemoryService => {
  const counters = new Map<string, Counter>()
  const reservations = new Map<string, Reservation>()

  // a counter that holds nothing a fresh one would not (no open reservation, no spend in a window
  // still open) is dropped when the map is swept: one key per user must not mean memory per user
  // ever seen
  const sweeper = new Sweeper()
  const isIdle = (c: Counter, now: number): boolean =>
    c.holders <= 0 &&
    (c.spent === 0 || c.windowEnd <= now) &&
    (c.head === c.entries.length || c.entries[c.entries.length - 1]!.at <= now - c.millis)

  /** At the end of an operation (never half-way: a counter dropped there could lose what it is given next). */
  const sweep = (now: number) => sweeper.maybeSweep(counters, (c) => isIdle(c, now))

  const counter = (key: string): Counter => {
    let c = counters.get(key)
    if (c === undefined) {
      c = {
        windowStart: Number.NEGATIVE_INFINITY,
        windowEnd: Number.NEGATIVE_INFINITY,
        spent: 0,
        millis: 0,
        entries: [],
        head: 0,
        rolling: 0,
        reserved: 0,
        holders: 0
      }
      counters.set(key, c)
    }
    return c
  }

  const dropReservation = (id: string, reservation: Reservation) => {
    reservations.delete(id)
    for (const item of reservation.items) {
      const c = counters.get(item.key)
      if (c !== undefined) {
        c.holders--
        c.reserved = c.holders <= 0 ? 0 : Math.max(0, c.reserved - item.amount)
      }
    }
  }

  /** A lower bound of the reservations' expiry times: no scan before it. */
  let nextExpiry = Number.POSITIVE_INFINITY
  const expire = (now: number) => {
    if (now < nextExpiry) return
    nextExpiry = Number.POSITIVE_INFINITY
    for (const [id, reservation] of reservations) {
      if (reservation.expiresAt <= now) dropReservation(id, reservation)
      else if (reservation.expiresAt < nextExpiry) nextExpiry = reservation.expiresAt
    }
  }

  /** Spent in the window at `now` (rolls fixed windows over and prunes rolling entries). */
  const spentAt = (c: Counter, window: Window, now: number): number => {
    if (window._tag === "Fixed") {
      if (c.windowStart !== window.start) {
        c.windowStart = window.start
        c.windowEnd = window.end
        c.spent = 0
      }
      return c.spent
    }
    // constant time per call however many entries the window holds (a day's calls, say)
    c.millis = window.millis
    const from = now - window.millis
    const entries = c.entries
    let head = c.head
    while (head < entries.length && entries[head]!.at <= from) c.rolling -= entries[head++]!.amount
    if (head === entries.length) {
      // empty: exactly zero again, whatever rounding the subtractions left
      entries.length = 0
      head = 0
      c.rolling = 0
    } else if (head >= 1024 && head * 2 >= entries.length) {
      entries.splice(0, head)
      head = 0
    }
    c.head = head
    return Math.max(0, c.rolling)
  }

  const reserve = (request: ReserveRequest): ReserveResult => {
    expire(request.now)
    let k = request.kMax
    const used: Array<number> = []
    for (let i = 0; i < request.items.length; i++) {
      const item = request.items[i]!
      const c = counter(item.key)
      const u = spentAt(c, item.window, request.now) + c.reserved
      used.push(u)
      const minimum = item.base + request.kMin * item.rate
      if (u + minimum > item.limit) {
        return { _tag: "Refused", index: i, key: item.key, limit: item.limit, used: u, requested: minimum }
      }
      if (item.rate > 0) {
        let fit = Math.floor((item.limit - u - item.base) / item.rate)
        while (fit > request.kMin && u + item.base + fit * item.rate > item.limit) fit--
        if (fit < k) k = fit
      }
    }
    k = Math.max(request.kMin, k)
    const items = request.items.map((item, i) => ({
      key: item.key,
      window: item.window,
      windowStart: windowStartOf(item.window),
      amount: item.base + k * item.rate,
      used: used[i]!
    }))
    const levels: Array<number> = []
    for (const item of items) {
      const c = counter(item.key)
      c.reserved += item.amount
      c.holders++
      levels.push(item.used + item.amount)
    }
    const previous = reservations.get(request.id)
    if (previous !== undefined) dropReservation(request.id, previous)
    reservations.set(request.id, { expiresAt: request.expiresAt, items })
    if (request.expiresAt < nextExpiry) nextExpiry = request.expiresAt
    return { _tag: "Reserved", k, levels }
  }

  const sync: SyncFace = {
    reserve: (request) => {
      const result = reserve(request)
      sweep(request.now)
      return result
    },
    commit: (id, now, amounts) => {
      const reservation = reservations.get(id)
      if (reservation === undefined) return
      dropReservation(id, reservation)
      reservation.items.forEach((item, i) => {
        const amount = amounts[i] ?? 0
        if (amount <= 0) return
        const c = counter(item.key)
        if (item.window._tag === "Fixed") {
          // spend lands in the window the reservation was made in; one that already rolled over is closed
          if (c.windowStart === item.windowStart) c.spent += amount
        } else {
          c.entries.push({ at: now, amount })
          c.rolling += amount
        }
      })
    },
    release: (id) => {
      const reservation = reservations.get(id)
      if (reservation !== undefined) dropReservation(id, reservation)
    }
  }

  return {
    reserve: (request) => Effect.sync(() => sync.reserve(request)),
    commit: (id, now, amounts) => Effect.sync(() => sync.commit(id, now, amounts)),
    release: (id) => Effect.sync(() => sync.release(id)),
    status: (key, window, now) =>
      Effect.sync(() => {
        expire(now)
        const c = counters.get(key)
        return c === undefined ? { spent: 0, reserved: 0 } : { spent: spentAt(c, window, now), reserved: c.reserved }
      }),
    outstanding: (now) =>
      Effect.sync(() => {
        expire(now)
        return reservations.size
      }),
    size: Effect.sync(() => ({ counters: counters.size, reservations: reservations.size })),
    sync
  }
}

/**
 * A fresh memory store (one per layer build).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BudgetStore> = Layer.sync(BudgetStore, makeMemory)
