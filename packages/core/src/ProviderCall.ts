/**
 * The abort handle of one provider HTTP call, shared by the provider adapters. Both official SDKs
 * (Stainless-generated) create an `AbortController` per request in `fetchWithTimeout`; an adapter's
 * client subclass overrides that method to hand the controller to the call's handle (`attach`),
 * so interrupting the Effect aborts the request without passing an `AbortSignal` to the SDK.
 *
 * @example
 * ```ts
 * import { ProviderCall } from "@effect-llm/core"
 *
 * const call = new ProviderCall.Call()
 * const options = call.options(true) // per-request SDK options carrying the handle
 * call.abort() // aborts the request, whenever the SDK has (or will have) started it
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { GenerateRequest } from "./GenerateRequest.js"
import * as LlmError from "./LlmError.js"

/**
 * The key under which a call's handle travels through the SDK (in the per-request `fetchOptions`,
 * which the SDK spreads into the `RequestInit` it hands to `fetchWithTimeout`).
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const callKey: unique symbol = Symbol.for("@effect-llm/core/ProviderCall")

/** Node's timers overflow above 2^31 - 1 ms (and then fire at once). */
const maxTimerMillis = 2_147_483_647

const noop = () => {}

/**
 * Runs `f` after `millis` on a native timer (none past Node's longest timer); returns its cancel.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const nativeSchedule = (millis: number, f: () => void): () => void => {
  if (!(millis < maxTimerMillis)) return noop
  const handle = setTimeout(f, Math.max(0, millis))
  return () => clearTimeout(handle)
}

/**
 * The deadlines of a call, attached to its request by `Timeout.withTimeouts` when the model below
 * enforces them (`LanguageModel.With.enforcesDeadlines`): the provider adapter arms one timer per
 * wait (a `generate` request; a stream pull) on the call's abort handle instead of `Timeout`
 * running the call in a fiber of its own with a timer per chunk. Times are clock milliseconds.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export interface Deadlines {
  /** When the whole call must have ended, and the error then. */
  readonly end: number | undefined
  readonly onEnd: () => LlmError.Timeout
  /** Streams: when the first event must have arrived, and the error then. */
  readonly firstToken: number | undefined
  readonly onFirstToken: () => LlmError.Timeout
  /** Streams: the longest wait in milliseconds for each later event, and the error then. */
  readonly idle: number | undefined
  readonly onIdle: () => LlmError.Timeout
  /** Until the response headers (as `Timeout.currentConnectTimeout`). */
  readonly connect: Duration.Duration | undefined
  /** Streams: what to run when the first event arrives, given the time (the `FirstToken` call event). */
  readonly firstEvent: ((now: number) => Effect.Effect<void>) | undefined
  /** Runs `f` after `millis` on the call's clock (a native timer with the live clock); returns its cancel. */
  readonly schedule: (millis: number, f: () => void) => () => void
}

/**
 * The key under which a request carries its call's deadlines (see {@link withDeadlines}). A
 * property of the request rather than a service of the call's context: handing it down costs an
 * object spread, where a context change costs a fiber-ref round trip per timeout.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const deadlinesKey: unique symbol = Symbol.for("@effect-llm/core/ProviderCall/Deadlines")

/**
 * The request with the deadlines its model must enforce (policies that copy the request with a
 * spread keep them).
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const withDeadlines = (request: GenerateRequest, deadlines: Deadlines): GenerateRequest =>
  ({ ...request, [deadlinesKey]: deadlines }) as GenerateRequest

/**
 * The deadlines a request carries, or `undefined` when no `Timeout` delegated any to its model.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const deadlinesIn = (request: GenerateRequest): Deadlines | undefined =>
  (request as { readonly [deadlinesKey]?: Deadlines })[deadlinesKey]

/**
 * What a wait ends at: a `generate` request (`"call"`), the first pull of a stream (`"first"`), or a
 * later pull (`"next"`).
 *
 * @since 0.1.0
 * @category provider hooks
 */
export type Wait = "call" | "first" | "next"

/**
 * The earliest deadline of a wait that starts at `now`, with its error (the whole call's deadline
 * when both come at once, as nested timeouts would report).
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const deadlineOf = (
  deadlines: Deadlines,
  now: number,
  wait: Wait
): readonly [at: number, error: () => LlmError.Timeout] | undefined => {
  const phase = wait === "call"
    ? undefined
    : wait === "first"
    ? deadlines.firstToken
    : deadlines.idle === undefined
    ? undefined
    : now + deadlines.idle
  const end = deadlines.end
  if (phase === undefined) return end === undefined ? undefined : [end, deadlines.onEnd]
  if (end !== undefined && end <= phase) return [end, deadlines.onEnd]
  return [phase, wait === "first" ? deadlines.onFirstToken : deadlines.onIdle]
}

/**
 * The abort handle of one HTTP call.
 *
 * Passing an `AbortSignal` to an SDK costs about 10% of a call against a local server (the SDK
 * composes it with its own controller, adds listeners and weak references, and Effect creates an
 * `AbortController` per `Effect.async` that asks for a signal). Instead, the client subclass captures the
 * SDK's own per-request `AbortController` in `fetchWithTimeout`; interrupting the call aborts it,
 * before the request is sent (the hook then aborts at once), while it waits for headers, or while
 * the body streams.
 *
 * The handle also carries the `connect` timeout (`Timeout.currentConnectTimeout`): one plain timer,
 * armed only when the timeout is set and cleared as soon as the response headers arrive, which
 * aborts the request when they are late.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export class Call {
  controller: AbortController | undefined = undefined
  aborted = false
  fallback: AbortController | undefined = undefined
  /** The cancel of the connect timer, while the call waits for its response headers. */
  timer: (() => void) | undefined = undefined
  /** The connect timeout fired (and aborted the request). */
  timedOut = false
  /** The deadlines of the call, when a `Timeout` delegates them to the adapter. */
  deadlines: Deadlines | undefined = undefined
  /** The cancel of the deadline timer of the current wait. */
  cancelDeadline: (() => void) | undefined = undefined
  /** The deadline that passed (and aborted the request). */
  expired: LlmError.Timeout | undefined = undefined
  /** Told when the call is interrupted, before the request is aborted (e.g. its `Telemetry.Attempt`). */
  onInterrupt: { interrupt(): void } | undefined = undefined
  /** The canceler of the call's `Effect.async`: aborts the request. */
  readonly cancel: Effect.Effect<void> = Effect.sync(() => {
    this.onInterrupt?.interrupt()
    this.abort()
  })

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    if (this.timer !== undefined) this.headersArrived()
    this.waitEnded()
    this.controller?.abort()
    this.fallback?.abort()
  }

  /**
   * Arms the deadline timer of one wait that starts at `now` (a `generate` request, or one stream
   * pull): when it fires, the request is aborted and {@link expired} holds the `Timeout`.
   */
  waitWithin(now: number, wait: Wait): void {
    const deadlines = this.deadlines
    if (deadlines === undefined) return
    const next = deadlineOf(deadlines, now, wait)
    if (next === undefined) return
    const [at, error] = next
    this.cancelDeadline = deadlines.schedule(at - now, () => {
      this.cancelDeadline = undefined
      this.expired = error()
      this.abort()
    })
  }

  /** Clears the deadline timer of the current wait (it ended in time). */
  waitEnded(): void {
    if (this.cancelDeadline === undefined) return
    this.cancelDeadline()
    this.cancelDeadline = undefined
  }

  /** Clears every timer of the call (it settled: an answer or a failure). */
  settled(): void {
    this.headersArrived()
    this.waitEnded()
  }

  /**
   * Starts the timers of a call: takes its deadlines (carried by its request, see
   * {@link deadlinesIn}) and arms the connect timer, the deadlines' `connect` or else `connect`
   * (`Timeout.currentConnectTimeout`). Returns the connect timeout in force.
   */
  start(deadlines: Deadlines | undefined, connect: Duration.Duration | undefined): Duration.Duration | undefined {
    this.deadlines = deadlines
    const timeout = deadlines?.connect ?? connect
    if (timeout !== undefined) this.connectWithin(timeout, deadlines?.schedule)
    return timeout
  }

  /** The `Timeout` to fail with when one of the call's own timers aborted it. */
  timeout(provider: string, model: string, connect: Duration.Duration | undefined): LlmError.Timeout | undefined {
    if (this.expired !== undefined) return this.expired
    return this.timedOut ? connectTimeout(provider, model, connect!) : undefined
  }

  /** The SDK request options carrying this handle (and a signal when the client cannot be hooked). */
  options(hooked: boolean): { fetchOptions: {} } | { signal: AbortSignal } {
    // the handle travels under a symbol key: opaque to the SDK, which spreads it into its RequestInit
    if (hooked) return { fetchOptions: { [callKey]: this } }
    this.fallback = new AbortController()
    return { signal: this.fallback.signal }
  }

  /**
   * Arms the connect timer: aborts the request unless its headers arrive within `timeout` (on
   * `schedule`, the deadlines' clock, when given; a native timer otherwise).
   */
  connectWithin(timeout: Duration.Duration, schedule: Deadlines["schedule"] = nativeSchedule): void {
    this.timer = schedule(Duration.toMillis(timeout), () => {
      this.timer = undefined
      this.timedOut = true
      this.abort()
    })
  }

  /** Clears the connect timer (the response headers arrived, or the call settled). */
  headersArrived(): void {
    if (this.timer === undefined) return
    this.timer()
    this.timer = undefined
  }

  /** Clears the connect timer when the `fetch` of the request resolves (its headers arrived). */
  watch(response: Promise<Response>): Promise<Response> {
    return response.then(
      (value) => {
        this.headersArrived()
        return value
      },
      (error) => {
        this.headersArrived()
        throw error
      }
    )
  }
}

/**
 * Called from the client's `fetchWithTimeout` override with the SDK's controller of the request;
 * returns the call it belongs to.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const attach = (init: RequestInit | undefined, controller: AbortController): Call | undefined => {
  const call = init === undefined ? undefined : (init as { readonly [callKey]?: Call })[callKey]
  if (call === undefined) return undefined
  call.controller = controller
  if (call.aborted) controller.abort()
  return call
}

/**
 * The body of a client subclass's `fetchWithTimeout` override: hands the SDK's controller of the
 * request to its call (`attach`), sends it (`send`, the SDK's own method), and ends the call's
 * connect timer when the response headers arrive, i.e. when `fetch` resolves.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const hookedFetch = (
  init: RequestInit | undefined,
  controller: AbortController,
  send: () => Promise<Response>
): Promise<Response> => {
  const call = attach(init, controller)
  const response = send()
  return call === undefined || call.timer === undefined ? response : call.watch(response)
}

/**
 * The failure of a call whose response headers did not arrive within the connect timeout.
 *
 * @since 0.1.0
 * @category provider hooks
 */
export const connectTimeout = (provider: string, model: string, after: Duration.Duration): LlmError.Timeout =>
  new LlmError.Timeout({ provider, model, phase: "connect", after })
