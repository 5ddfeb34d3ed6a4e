/**
 * Single-flight: concurrent identical calls share one upstream call.
 *
 * A flight is one upstream call running in a fiber of its own, with the callers waiting on it
 * (reference-counted). It buffers what a stream has produced so far, so a caller joining late
 * replays the buffer and then follows live. When the last waiter leaves before the call ends, the
 * fiber is interrupted (which aborts the HTTP request); a waiter leaving while others remain changes
 * nothing for them. The first caller is the payer (its completion says `miss`, the others `hit`);
 * when the payer leaves early, the next waiter in line pays.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import type { CacheStatus, Completion } from "../Completion.js"
import * as StreamEvent from "../StreamEvent.js"

/** @internal */
export type Waiter = { readonly _: "Waiter" }

/** @internal */
export interface Flight<E> {
  readonly key: string
  /** How the upstream call was made: a stream buffers its deltas, a generate call only has the end. */
  readonly kind: "generate" | "stream"
  readonly chunks: Array<string>
  /** Milliseconds before each chunk (the first: since the call started). */
  readonly delays: Array<number>
  /** The end of the upstream call. */
  exit: Exit.Exit<Completion, E> | undefined
  /** Told when the upstream call ends (the `generate` callers waiting for it). */
  readonly observers: Set<(exit: Exit.Exit<Completion, E>) => void>
  /** Completed (and cleared) whenever something arrives; made on demand by a reader that waits. */
  signal: Deferred.Deferred<void> | undefined
  readonly waiters: Set<Waiter>
  payer: Waiter | undefined
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

/** @internal */
export type Registry<E> = Map<string, Flight<E>>

const newWaiter = (): Waiter => ({ _: "Waiter" })

/** @internal */
export const notify = <E>(flight: Flight<E>): void => {
  const signal = flight.signal
  if (signal !== undefined) {
    flight.signal = undefined
    Deferred.unsafeDone(signal, Exit.void)
  }
}

/** @internal */
export const join = <E>(flight: Flight<E>): Waiter => {
  const waiter = newWaiter()
  flight.waiters.add(waiter)
  return waiter
}

/**
 * Starts a flight: registers it with its first waiter and runs `run` in a fiber of its own, made
 * from `runtime` (the caller's context and fiber refs) and started at once. When the call ends, an
 * observer wakes its waiters, then `after` stores the answer (plain code; or an effect it returns,
 * run in another fiber) before the flight is unregistered, so calls arriving meanwhile join the
 * finished flight instead of calling upstream again. Plain code: call it where nothing can
 * interrupt between the start and the registration of the first waiter's leave.
 *
 * @internal
 */
export const start = <E, R>(
  registry: Registry<E>,
  key: string,
  kind: "generate" | "stream",
  runtime: Runtime.Runtime<R>,
  run: (flight: Flight<E>) => Effect.Effect<Completion, E, R>,
  after: (flight: Flight<E>, exit: Exit.Exit<Completion, E>) => Effect.Effect<void, never, R> | undefined
): { readonly flight: Flight<E>; readonly waiter: Waiter } => {
  const waiter = newWaiter()
  const flight: Flight<E> = {
    key,
    kind,
    chunks: [],
    delays: [],
    exit: undefined,
    observers: new Set(),
    signal: undefined,
    waiters: new Set([waiter]),
    payer: waiter,
    fiber: undefined
  }
  registry.set(key, flight)
  const unregister = () => {
    if (registry.get(key) === flight) registry.delete(key)
  }
  const fiber = Runtime.runFork(runtime)(Effect.suspend(() => run(flight)))
  flight.fiber = fiber
  fiber.addObserver((exit) => {
    flight.exit = exit
    for (const observer of flight.observers) observer(exit)
    flight.observers.clear()
    notify(flight)
    const write = after(flight, exit)
    if (write === undefined) return unregister()
    Runtime.runFork(runtime)(Effect.ensuring(write, Effect.sync(unregister)))
  })
  return { flight, waiter }
}

/**
 * A waiter leaves (its caller got its answer, stopped reading or was interrupted); a second leave
 * of the same waiter does nothing. The last waiter to leave a call in progress unregisters the
 * flight and interrupts the upstream call.
 *
 * @internal
 */
export const leave = <E>(registry: Registry<E>, flight: Flight<E>, waiter: Waiter): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!flight.waiters.delete(waiter)) return Effect.void
    if (flight.exit !== undefined) return Effect.void
    if (flight.payer === waiter) {
      flight.payer = undefined
      for (const next of flight.waiters) {
        flight.payer = next
        break
      }
    }
    if (flight.waiters.size > 0) return Effect.void
    if (registry.get(flight.key) === flight) registry.delete(flight.key)
    const fiber = flight.fiber
    return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(fiber))
  })

/** @internal */
export const statusOf = <E>(flight: Flight<E>, waiter: Waiter): CacheStatus => flight.payer === waiter ? "miss" : "hit"

/**
 * Waits for the completion of a flight, for a `generate` caller: `resume` gets it (with the status
 * the waiter paid for) when the call ends; the returned canceler leaves the flight. Plain code, for
 * the register function of an `Effect.async`. Call with the waiter registered.
 *
 * @internal
 */
export const wait = <E>(
  registry: Registry<E>,
  flight: Flight<E>,
  waiter: Waiter,
  withStatus: (completion: Completion, status: CacheStatus) => Completion,
  resume: (effect: Effect.Effect<Completion, E>) => void
): Effect.Effect<void> | undefined => {
  const answer = (exit: Exit.Exit<Completion, E>) => {
    const status = statusOf(flight, waiter)
    flight.waiters.delete(waiter)
    if (exit._tag === "Failure") return resume(Exit.failCause(exit.cause))
    resume(Exit.succeed(withStatus(exit.value, status)))
  }
  if (flight.exit !== undefined) {
    answer(flight.exit)
    return undefined
  }
  flight.observers.add(answer)
  return Effect.suspend(() => {
    flight.observers.delete(answer)
    return leave(registry, flight, waiter)
  })
}

/**
 * A flight read through a `streamEach` callback, in the reader's fiber: what has arrived so far, then
 * live deltas, then `Finish` (or the failure); the completion is the result. A flight made by
 * `generate` gives its text as one delta at the end.
 *
 * @internal
 */
export const each = <E>(
  flight: Flight<E>,
  finish: (completion: Completion) => Completion,
  onEvent: (event: StreamEvent.StreamEvent) => Effect.Effect<void>
): Effect.Effect<Completion, E> => {
  let index = 0
  const next = (): Effect.Effect<Completion, E> => {
    const chunks = flight.chunks
    if (index < chunks.length) return Effect.flatMap(onEvent(StreamEvent.textDelta(chunks[index++]!)), next)
    const exit = flight.exit
    if (exit !== undefined) {
      if (Exit.isFailure(exit)) return Effect.failCause(exit.cause)
      const completion = exit.value
      const done = finish(completion)
      const last = Effect.as(onEvent(StreamEvent.finish(done)), done)
      return flight.kind === "generate" && completion.text.length > 0
        ? Effect.zipRight(onEvent(StreamEvent.textDelta(completion.text)), last)
        : last
    }
    let signal = flight.signal
    if (signal === undefined) {
      signal = Deferred.unsafeMake<void>(FiberId.none)
      flight.signal = signal
    }
    return Effect.flatMap(Deferred.await(signal), next)
  }
  return Effect.suspend(next)
}

/**
 * A flight read as a stream: what has arrived so far, then live deltas, then `Finish` (or the
 * failure). A flight made by `generate` gives its text as one delta at the end.
 *
 * @internal
 */
export const read = <E>(
  flight: Flight<E>,
  finish: (completion: Completion) => Completion
): Stream.Stream<StreamEvent.StreamEvent, E> => {
  let index = 0
  let ended = false
  const pull = (): Effect.Effect<Chunk.Chunk<StreamEvent.StreamEvent>, Option.Option<E>> => {
    if (ended) return Effect.fail(Option.none())
    const chunks = flight.chunks
    const available = chunks.length
    if (index < available) {
      const out: Array<StreamEvent.StreamEvent> = []
      for (; index < available; index++) out.push(StreamEvent.textDelta(chunks[index]!))
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    const exit = flight.exit
    if (exit !== undefined) {
      ended = true
      if (Exit.isFailure(exit)) return Effect.failCause(Cause.map(exit.cause, Option.some))
      const completion = exit.value
      const last = StreamEvent.finish(finish(completion))
      return Effect.succeed(
        flight.kind === "generate" && completion.text.length > 0
          ? Chunk.make<[StreamEvent.StreamEvent, StreamEvent.StreamEvent]>(StreamEvent.textDelta(completion.text), last)
          : Chunk.of<StreamEvent.StreamEvent>(last)
      )
    }
    let signal = flight.signal
    if (signal === undefined) {
      signal = Deferred.unsafeMake<void>(FiberId.none)
      flight.signal = signal
    }
    return Effect.flatMap(Deferred.await(signal), pull)
  }
  return Stream.repeatEffectChunkOption(Effect.suspend(pull))
}
