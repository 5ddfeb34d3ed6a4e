import * as Channel from "effect/Channel"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * `Stream.unwrap` at the channel level: one continuation instead of `Stream.unwrap`'s
 * `flatten(fromEffect(...))`, which runs the inner stream through a `flatMap` of streams. Policies
 * wrap every stream call with it, so it is on the hot path.
 */
export const unwrap = <A, E, R, E2, R2>(
  effect: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
): Stream.Stream<A, E | E2, R | R2> => Stream.fromChannel(Channel.unwrap(Effect.map(effect, Stream.toChannel)))

/**
 * Provides `context` to a stream on top of the caller's context (`Stream.provideContext` replaces
 * it, and `Stream.provideService` runs two `flatMap`s of streams).
 */
export const provideSomeContext = <A, E, R, R2>(
  self: Stream.Stream<A, E, R>,
  context: Context.Context<R2>
): Stream.Stream<A, E, Exclude<R, R2>> =>
  unwrap(
    Effect.map(
      Effect.context<Exclude<R, R2>>(),
      (parent) => Stream.provideContext(self, Context.merge(parent, context) as Context.Context<R>)
    )
  )

/** `Stream.provideService` on top of the caller's context, for one service. */
export const provideService = <A, E, R, I, S>(
  self: Stream.Stream<A, E, R>,
  tag: Context.Tag<I, S>,
  service: S
): Stream.Stream<A, E, Exclude<R, I>> =>
  unwrap(
    Effect.map(
      Effect.context<Exclude<R, I>>(),
      (parent) => Stream.provideContext(self, Context.add(parent, tag, service) as Context.Context<R>)
    )
  )
