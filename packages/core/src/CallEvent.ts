/**
 * What happens during a call, as it happens: waiting for a rate-limit slot, a retry scheduled,
 * a breaker opening, a fallback, the first token, a cache lookup, a budget decision. Policies emit
 * these events; a caller listens to tell its users "retrying in 2 s" or "switching to the backup
 * model" instead of spinning, and telemetry turns them into span events.
 *
 * Emitting costs one fiber-ref read when nobody listens.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { CallEvent, LanguageModel } from "@effect-llm/core"
 *
 * const program = LanguageModel.generate({ messages: [{ role: "user", content: "Hi" }] }).pipe(
 *   CallEvent.listen((event) => Console.log(CallEvent.describe(event)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import type { Tag } from "./LlmError.js"

interface Target {
  readonly provider: string
  readonly model: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type CallEvent =
  | { readonly _tag: "AttemptStarted"; readonly provider: string; readonly model: string; readonly attempt: number }
  | {
    readonly _tag: "RetryScheduled"
    readonly provider: string
    readonly model: string
    readonly attempt: number
    readonly delayMillis: number
    readonly reason: Tag
  }
  | {
    readonly _tag: "RateLimitWait"
    readonly provider: string
    readonly model: string
    readonly delayMillis: number
    readonly limit: "requests" | "tokens"
  }
  | {
    readonly _tag: "CircuitStateChanged"
    readonly provider: string
    readonly model: string
    readonly from: "closed" | "open" | "half-open"
    readonly to: "closed" | "open" | "half-open"
  }
  | {
    readonly _tag: "FallbackTriggered"
    readonly from: Target
    readonly to: Target
    readonly reason: Tag
  }
  | { readonly _tag: "FirstToken"; readonly provider: string; readonly model: string; readonly afterMillis: number }
  | {
    readonly _tag: "CacheLookup"
    readonly status: "hit" | "miss" | "bypass"
    readonly provider: string
    readonly model: string
    /** For a hit: a stored answer, or a call already in flight that this one joined. */
    readonly source?: "store" | "in-flight" | undefined
  }
  | {
    readonly _tag: "BudgetDecision"
    readonly decision: "reserved" | "reconciled" | "released" | "refused" | "soft-limit"
    readonly scope: string
    readonly unit: "tokens" | "usd"
    readonly amount: number
  }
  | {
    readonly _tag: "ContextTruncated"
    readonly provider: string
    readonly model: string
    readonly droppedMessages: number
    readonly tokens: number
    readonly limit: number
  }
  | {
    readonly _tag: "ContentFiltered"
    readonly provider: string
    readonly model: string
    readonly stage: "input" | "output"
    readonly category?: string | undefined
  }
  | {
    readonly _tag: "TierSelected"
    readonly tier: string
    readonly provider: string
    readonly model: string
    readonly reason: string
  }

/**
 * A function that receives the events of the calls made inside its scope.
 *
 * @since 0.1.0
 * @category models
 */
export type Listener = (event: CallEvent) => Effect.Effect<void>

/**
 * The listeners in force for the current fiber.
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const currentListeners: FiberRef.FiberRef<ReadonlyArray<Listener>> = FiberRef.unsafeMake<
  ReadonlyArray<Listener>
>([])

/**
 * Emits an event to every listener in force; does nothing when there is none.
 *
 * @since 0.1.0
 * @category emitting
 */
export const emit = (event: CallEvent): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentListeners), (listeners) => {
    if (listeners.length === 0) return Effect.void
    if (listeners.length === 1) return listeners[0]!(event)
    return Effect.forEach(listeners, (listener) => listener(event), { discard: true })
  })

/**
 * Whether anybody listens (so a policy can skip building an event).
 *
 * @since 0.1.0
 * @category emitting
 */
export const isListening: Effect.Effect<boolean> = Effect.map(
  FiberRef.get(currentListeners),
  (listeners) => listeners.length > 0
)

/**
 * Runs an effect with a listener for the events of the calls inside it.
 *
 * @since 0.1.0
 * @category listening
 */
export const listen: {
  (listener: Listener): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, listener: Listener): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, listener: Listener): Effect.Effect<A, E, R> =>
    Effect.locallyWith(self, currentListeners, (listeners) => [...listeners, listener])
)

/**
 * A one-line human description of an event ("retrying openai/gpt-5-mini in 2.0 s after RateLimited").
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (event: CallEvent): string => {
  switch (event._tag) {
    case "AttemptStarted":
      return `calling ${event.provider}/${event.model} (attempt ${event.attempt})`
    case "RetryScheduled":
      return `retrying ${event.provider}/${event.model} in ${
        (event.delayMillis / 1000).toFixed(1)
      } s after ${event.reason}`
    case "RateLimitWait":
      return `waiting ${
        (event.delayMillis / 1000).toFixed(1)
      } s for a ${event.limit} slot on ${event.provider}/${event.model}`
    case "CircuitStateChanged":
      return `circuit for ${event.provider}/${event.model}: ${event.from} -> ${event.to}`
    case "FallbackTriggered":
      return `switching from ${event.from.provider}/${event.from.model} to ${event.to.provider}/${event.to.model} after ${event.reason}`
    case "FirstToken":
      return `first token from ${event.provider}/${event.model} after ${event.afterMillis} ms`
    case "CacheLookup": {
      const joined = event.source === "in-flight" ? " (in flight)" : ""
      return `cache ${event.status}${joined} for ${event.provider}/${event.model}`
    }
    case "BudgetDecision":
      return `budget ${event.scope}: ${event.decision} ${event.amount} ${event.unit}`
    case "ContextTruncated":
      return `dropped ${event.droppedMessages} messages to fit ${event.tokens} tokens into ${event.limit}`
    case "ContentFiltered":
      return `content filtered at ${event.stage}${event.category ? ` (${event.category})` : ""}`
    case "TierSelected":
      return `tier ${event.tier} -> ${event.provider}/${event.model} (${event.reason})`
  }
}
