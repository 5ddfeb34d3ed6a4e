import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as FiberRef from "effect/FiberRef"
import { identity } from "effect/Function"
import * as Runtime from "effect/Runtime"
import type { GenerateRequest } from "../GenerateRequest.js"
import type { Timeout } from "../LlmError.js"
import { deadlineOf, deadlinesIn, nativeSchedule } from "../ProviderCall.js"

/** The constructor of Effect's live clock: with it, deadlines use one native timer. */
const LiveClock = (Clock.make() as object).constructor

/**
 * Runs `f` after `millis` on `clock`, returning its cancel: a native timer with the live clock;
 * with any other clock (`TestClock`), `clock.sleep` in a fiber of the runtime `runtimeOf(source)`
 * (built only then: the live path allocates nothing), so tests drive it.
 */
export const scheduleOn = <S>(
  clock: Clock.Clock,
  source: S,
  runtimeOf: (source: S) => Runtime.Runtime<never>
): (millis: number, f: () => void) => () => void =>
  (clock as object).constructor === LiveClock ? nativeSchedule : (millis, f) => {
    const timer: Fiber.RuntimeFiber<void> = Runtime.runFork(runtimeOf(source))(clock.sleep(Duration.millis(millis)))
    timer.addObserver((exit) => {
      if (exit._tag === "Success") f()
    })
    return () => timer.unsafeInterruptAsFork(timer.id())
  }

/** `Timeout.sleepWithin`: a policy's wait that ends at the deadline its request carries, if sooner. */
export const sleepWithin = (millis: number, request: GenerateRequest): Effect.Effect<void, Timeout> => {
  const deadlines = deadlinesIn(request)
  if (deadlines === undefined) return Effect.sleep(Duration.millis(millis))
  return Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    // the earliest of the call's end and its first token, as a stream's first pull waits
    const next = deadlineOf(deadlines, now, "first")
    if (next === undefined || now + millis < next[0]) return Effect.sleep(Duration.millis(millis))
    return Effect.zipRight(Effect.sleep(Duration.millis(Math.max(0, next[0] - now))), Effect.fail(next[1]()))
  })
}

/**
 * {@link sleepWithin} for retry and rate limit, whose error types do not name `Timeout`: it fails
 * only under a `Timeout` above that delegated its deadline, and that policy's error type has it.
 */
export const policyWait = sleepWithin as (millis: number, request: GenerateRequest) => Effect.Effect<void>

/**
 * Runs `self` with a deadline: when `millis` pass first, `self` is interrupted (which aborts a
 * provider's HTTP request through its `AbortSignal`) and the result is `onTimeout()`.
 *
 * Cheaper than `Effect.timeoutFail` (which forks two fibers and awaits the loser): `self` runs in
 * one forked fiber and, with the live clock, the timer is a plain `setTimeout`; with any other
 * clock (`TestClock`) the timer is `clock.sleep` in a second fiber, so tests drive it exactly.
 * The interrupted fiber finishes its finalizers (the abort) in the background.
 */
export const withDeadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2,
  /** A fiber ref to set for `self` (free here: it goes into the forked fiber's runtime). */
  local?: readonly [FiberRef.FiberRef<any>, unknown]
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock) =>
    Effect.flatMap(Effect.runtime<R>(), (current) =>
      Effect.async<A, E | E2>((resume) => {
        const runtime = local === undefined ? current : Runtime.setFiberRef(current, local[0], local[1])
        const fiber = Runtime.runFork(runtime)(self)
        let done = false
        const cancelTimer = scheduleOn(clock, runtime as Runtime.Runtime<never>, identity)(millis, () => {
          if (done) return
          done = true
          fiber.unsafeInterruptAsFork(fiber.id())
          resume(Effect.fail(onTimeout()))
        })
        fiber.addObserver((exit) => {
          cancelTimer()
          if (done) return
          done = true
          resume(exit)
        })
        return Effect.sync(() => {
          done = true
          cancelTimer()
          fiber.unsafeInterruptAsFork(fiber.id())
        })
      }))
  )
