/**
 * Where spend alerts go. The default sink writes them to the Effect logger (at warning level);
 * users plug in a webhook, a pager or a chat channel by providing their own `AlertSink`.
 *
 * Alerts come from the `SpendMonitor` (spend rate, spikes over a baseline) and from budgets (a soft
 * limit crossed). Each fires once per episode: the condition must clear before it can fire again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as AlertSink from "@effect-llm/core/AlertSink"
 *
 * const webhook = AlertSink.layer((alert) =>
 *   Effect.promise(() =>
 *     fetch("https://hooks.example.com/llm-spend", { method: "POST", body: JSON.stringify(alert) })
 *   ).pipe(Effect.ignore)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * One alert.
 *
 * - `spend-rate`: spend over the last window is above a threshold (USD).
 * - `spend-spike`: a user's or feature's spend is far above its own recent baseline (z-score).
 * - `soft-budget`: a budget's soft limit was crossed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Alert {
  readonly kind: "spend-rate" | "spend-spike" | "soft-budget"
  /** What the alert is about: `global`, `user:alice`, `feature:search`, a budget scope... */
  readonly key: string
  readonly severity: "warning" | "critical"
  readonly message: string
  /** The observed value (USD, tokens, or a z-score for spikes). */
  readonly value: number
  /** The threshold it crossed. */
  readonly threshold: number
  /** Epoch milliseconds (from `Clock`). */
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly send: (alert: Alert) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AlertSink extends Context.Tag("@effect-llm/core/AlertSink")<AlertSink, Service>() {}

/**
 * The default sink: a warning (critical alerts: an error) on the Effect logger, with the alert's
 * fields as annotations.
 *
 * @since 0.1.0
 * @category constructors
 */
export const logger: Service = {
  send: (alert) =>
    (alert.severity === "critical" ? Effect.logError(alert.message) : Effect.logWarning(alert.message)).pipe(
      Effect.annotateLogs({
        "alert.kind": alert.kind,
        "alert.key": alert.key,
        "alert.value": alert.value,
        "alert.threshold": alert.threshold
      })
    )
}

/**
 * The logger sink as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLogger: Layer.Layer<AlertSink> = Layer.succeed(AlertSink, logger)

/**
 * A sink from a function.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (send: (alert: Alert) => Effect.Effect<void>): Layer.Layer<AlertSink> =>
  Layer.succeed(AlertSink, { send })

/**
 * Sends an alert to the sink in context, or to the logger when none is provided. A failing or
 * dying sink never fails the call that raised the alert.
 *
 * @since 0.1.0
 * @category accessors
 */
export const send = (alert: Alert): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(AlertSink), (sink) =>
    Effect.catchAllCause(
      (Option.isSome(sink) ? sink.value : logger).send(alert),
      (cause) => Effect.logError("AlertSink failed", cause)
    ))

/**
 * A sink that keeps every alert in memory (for tests and dashboards).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service & { readonly alerts: Effect.Effect<ReadonlyArray<Alert>> } => {
  const alerts: Array<Alert> = []
  return {
    send: (alert) => Effect.sync(() => void alerts.push(alert)),
    alerts: Effect.sync(() => alerts.slice())
  }
}
