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
  /** The connect timer, while the call waits for its response headers. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** The connect timeout fired (and aborted the request). */
  timedOut = false
  readonly cancel: Effect.Effect<void> = Effect.sync(() => this.abort())

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    if (this.timer !== undefined) this.headersArrived()
    this.controller?.abort()
    this.fallback?.abort()
  }

  /** The SDK request options carrying this handle (and a signal when the client cannot be hooked). */
  options(hooked: boolean): { fetchOptions: {} } | { signal: AbortSignal } {
    // the handle travels under a symbol key: opaque to the SDK, which spreads it into its RequestInit
    if (hooked) return { fetchOptions: { [callKey]: this } }
    this.fallback = new AbortController()
    return { signal: this.fallback.signal }
  }

  /** Arms the connect timer: aborts the request unless its headers arrive within `timeout`. */
  connectWithin(timeout: Duration.Duration): void {
    const millis = Duration.toMillis(timeout)
    if (!(millis < maxTimerMillis)) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timedOut = true
      this.abort()
    }, Math.max(0, millis))
  }

  /** Clears the connect timer (the response headers arrived, or the call settled). */
  headersArrived(): void {
    if (this.timer === undefined) return
    clearTimeout(this.timer)
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
