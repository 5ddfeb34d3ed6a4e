import * as Effect from "effect/Effect"

/**
 * The key under which a call's handle travels through the SDK (in the per-request `fetchOptions`,
 * which the SDK spreads into the `RequestInit` it hands to `fetchWithTimeout`).
 *
 * @internal
 */
export const callKey: unique symbol = Symbol.for("@effect-llm/openai/Call")

/**
 * The abort handle of one HTTP call.
 *
 * Passing an `AbortSignal` to the SDK costs about 10% of a call against a local server (the SDK
 * composes it with its own controller through `AbortSignal.any` and weak references, and Effect
 * creates an `AbortController` per `Effect.async`). Instead, the client subclass captures the
 * SDK's own per-request `AbortController` in `fetchWithTimeout`; interrupting the call aborts it,
 * before the request is sent (the hook then aborts at once), while it waits for headers, or while
 * the body streams.
 *
 * @internal
 */
export class Call {
  controller: AbortController | undefined = undefined
  aborted = false
  fallback: AbortController | undefined = undefined
  readonly cancel: Effect.Effect<void> = Effect.sync(() => this.abort())

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.controller?.abort()
    this.fallback?.abort()
  }

  /** The SDK request options carrying this handle (and a signal when the client cannot be hooked). */
  options(hooked: boolean): { fetchOptions: RequestInit } | { signal: AbortSignal } {
    if (hooked) return { fetchOptions: { [callKey]: this } as RequestInit }
    this.fallback = new AbortController()
    return { signal: this.fallback.signal }
  }
}

/**
 * Called from the client's `fetchWithTimeout` override with the SDK's controller of the request.
 *
 * @internal
 */
export const attach = (init: RequestInit | undefined, controller: AbortController): void => {
  const call = init === undefined ? undefined : (init as { readonly [callKey]?: Call })[callKey]
  if (call === undefined) return
  call.controller = controller
  if (call.aborted) controller.abort()
}
