/**
 * One provider request of a `generate` call, run in one `Effect.async`: the part every adapter
 * shares. The request gets its abort handle (`ProviderCall.Call`, aborted on interruption), the
 * deadlines of `Timeout` its request carries and the connect timeout (one timer each), and its
 * `Telemetry` attempt (span and GenAI metrics, ended from the request's own callbacks). The adapter
 * sends the request and settles it with `succeed`, `failWith` (a typed error) or `fail` (anything the
 * SDK threw, mapped by the adapter's `toError` unless one of the call's own timers aborted it).
 *
 * @example
 * ```ts
 * import { ProviderRequest } from "@effect-llm/core"
 * import type { Completion } from "@effect-llm/core/Completion"
 * import { ServerError } from "@effect-llm/core/LlmError"
 *
 * declare const send: (signalOptions: object) => Promise<Completion>
 *
 * const generate = ProviderRequest.run(
 *   { provider: "acme", model: "acme-1", request: { messages: [{ role: "user", content: "Hi" }] } },
 *   (error) => new ServerError({ provider: "acme", model: "acme-1", status: 500, detail: String(error) }),
 *   (request) => send(request.call.options(false)).then(
 *     (completion) => request.succeed(completion),
 *     (error) => request.fail(error, undefined)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { Completion } from "./Completion.js"
import { clockOf } from "./internal/given.js"
import type * as LlmError from "./LlmError.js"
import { Call, deadlinesIn } from "./ProviderCall.js"
import * as Telemetry from "./Telemetry.js"
import { currentConnectTimeout } from "./Timeout.js"

/**
 * Maps what an SDK threw (with the response headers, when they arrived) to the taxonomy.
 *
 * @since 0.1.0
 * @category models
 */
export type ToError = (
  error: unknown,
  headers: Headers | undefined,
  now: number,
  /** The call the error belongs to (so one mapping can serve every call of a model). */
  info: Telemetry.CallInfo
) => LlmError.ProviderError

/**
 * A request in flight. One object holds its state: no closure per request.
 *
 * @since 0.1.0
 * @category models
 */
export class Request {
  readonly call = new Call()
  /** When the request started (clock milliseconds). */
  readonly started: number
  /** The connect timeout in force. */
  connect: Duration.Duration | undefined = undefined

  constructor(
    readonly clock: Clock.Clock,
    readonly attempt: Telemetry.Attempt,
    readonly info: Telemetry.CallInfo,
    readonly toError: ToError,
    readonly resume: (effect: Effect.Effect<Completion, LlmError.ProviderError>) => void
  ) {
    this.started = clock.unsafeCurrentTimeMillis()
  }

  /** The clock's time, in milliseconds. */
  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  /** The request answered. */
  succeed(completion: Completion): void {
    this.call.settled()
    this.attempt.succeed(completion)
    this.resume(Effect.succeed(completion))
  }

  /** The request failed with an error of the taxonomy. */
  failWith(error: LlmError.ProviderError): void {
    this.call.settled()
    this.attempt.fail(error)
    this.resume(Effect.fail(error))
  }

  /** The SDK threw: a timer of the call's own (connect, deadline) or else `toError`. */
  fail(error: unknown, headers: Headers | undefined): void {
    this.failWith(
      this.call.timeout(this.info.provider, this.info.request.model ?? this.info.model, this.connect) ??
        this.toError(error, headers, this.now(), this.info)
    )
  }
}

/**
 * Runs one provider request: `send` starts it (synchronously; what it throws is a failure) and
 * settles it later through the `Request`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  info: Telemetry.CallInfo,
  toError: ToError,
  send: (request: Request) => void
): Effect.Effect<Completion, LlmError.ProviderError> =>
  Effect.withFiberRuntime((fiber) => {
    const clock = clockOf(fiber)
    const deadlines = deadlinesIn(info.request)
    const connect = fiber.getFiberRef(currentConnectTimeout)
    return Effect.async<Completion, LlmError.ProviderError>((resume) => {
      const request = new Request(clock, Telemetry.startAttempt(fiber, info, false), info, toError, resume)
      const call = request.call
      call.onInterrupt = request.attempt
      request.connect = call.start(deadlines, connect)
      call.waitWithin(request.started, "call")
      try {
        send(request)
      } catch (error) {
        request.fail(error, undefined)
      }
      return call.cancel
    })
  })
