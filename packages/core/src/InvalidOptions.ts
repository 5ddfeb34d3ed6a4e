/**
 * Options a policy, store or monitor cannot work with — a negative limit, a share above one, a
 * backoff that shrinks, a time zone that does not exist — are refused when the policy is built, not
 * discovered on the first call (or never: a breaker whose threshold is 2 simply never opens). The
 * constructor throws an {@link InvalidOptions} that names the module, the option and what is wrong
 * with it; options are written in code, so this is a programming error, found at start-up.
 *
 * The checks are exported for policies and stores written outside effect-llm.
 *
 * @example
 * ```ts
 * import * as CircuitBreaker from "@effect-llm/core/CircuitBreaker"
 * import { InvalidOptions } from "@effect-llm/core/InvalidOptions"
 *
 * try {
 *   CircuitBreaker.config({ failureRateThreshold: 50 }) // a share, not a percentage
 * } catch (error) {
 *   if (error instanceof InvalidOptions) console.error(error.message)
 *   // effect-llm CircuitBreaker: option `failureRateThreshold` must be in (0, 1], got 50
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as LanguageModel from "./LanguageModel.js"

/**
 * An option a constructor cannot work with.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@effect-llm/core/InvalidOptions")(
  "InvalidOptions",
  {
    module: Schema.String,
    option: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `effect-llm ${this.module}: option \`${this.option}\` ${this.detail}`
  }
}

const show = (value: unknown): string =>
  typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value === null
    ? String(value)
    : Duration.isDuration(value)
    ? Duration.format(value)
    : JSON.stringify(value) ?? String(value)

/**
 * Throws an {@link InvalidOptions}.
 *
 * @since 0.1.0
 * @category checks
 */
export const invalid = (module: string, option: string, detail: string): never => {
  throw new InvalidOptions({ module, option, detail })
}

/**
 * `value` is given; returns it.
 *
 * @since 0.1.0
 * @category checks
 */
export const required = <A>(module: string, option: string, value: A | undefined): A =>
  value === undefined ? invalid(module, option, "is required") : value

/**
 * `value`, when given, is a function.
 *
 * @since 0.1.0
 * @category checks
 */
export const isFunction = (module: string, option: string, value: unknown): void => {
  if (value !== undefined && typeof value !== "function") {
    invalid(module, option, `must be a function, got ${typeof value}`)
  }
}

/**
 * `value` is a `LanguageModel`.
 *
 * @since 0.1.0
 * @category checks
 */
export const isModel = (module: string, option: string, value: unknown): void => {
  if (!LanguageModel.isLanguageModel(value)) invalid(module, option, "must be a model")
}

/**
 * `value`, when given, is a finite number greater than zero.
 *
 * @since 0.1.0
 * @category checks
 */
export const positive = (module: string, option: string, value: number | undefined): void => {
  if (value === undefined) return
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    invalid(module, option, `must be a positive finite number, got ${show(value)}`)
  }
}

/**
 * `value`, when given, is a finite number of at least `min`.
 *
 * @since 0.1.0
 * @category checks
 */
export const atLeast = (module: string, option: string, value: number | undefined, min: number): void => {
  if (value === undefined) return
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    invalid(module, option, `must be a finite number of at least ${min}, got ${show(value)}`)
  }
}

/**
 * `value`, when given, is a finite number of at least zero.
 *
 * @since 0.1.0
 * @category checks
 */
export const nonNegative = (module: string, option: string, value: number | undefined): void =>
  atLeast(module, option, value, 0)

/**
 * `value`, when given, is an integer of at least `min`.
 *
 * @since 0.1.0
 * @category checks
 */
export const integer = (module: string, option: string, value: number | undefined, min: number): void => {
  if (value === undefined) return
  if (!Number.isSafeInteger(value) || value < min) {
    invalid(module, option, `must be an integer of at least ${min}, got ${show(value)}`)
  }
}

/**
 * `value`, when given, is a share in the range `(0, 1]` (or `(0, 1)` when `below` is `true`).
 *
 * @since 0.1.0
 * @category checks
 */
export const share = (module: string, option: string, value: number | undefined, below = false): void => {
  if (value === undefined) return
  if (typeof value !== "number" || !(value > 0) || (below ? value >= 1 : value > 1)) {
    invalid(module, option, `must be in (0, 1${below ? ")" : "]"}, got ${show(value)}`)
  }
}

/**
 * `value`, when given, is one of `allowed`.
 *
 * @since 0.1.0
 * @category checks
 */
export const oneOf = <A extends string>(
  module: string,
  option: string,
  value: A | undefined,
  allowed: ReadonlyArray<A>
): void => {
  if (value === undefined) return
  if (!allowed.includes(value)) {
    invalid(module, option, `must be one of ${allowed.map(show).join(", ")}, got ${show(value)}`)
  }
}

/**
 * Decodes `input`, when given, as a duration: one Effect understands, not negative, and (unless
 * `infinite` allows it) finite; `positive` refuses zero too. Returns the decoded duration.
 *
 * @since 0.1.0
 * @category checks
 */
export const duration = (
  module: string,
  option: string,
  input: Duration.DurationInput | undefined,
  options?: { readonly positive?: boolean; readonly infinite?: boolean }
): Duration.Duration | undefined => {
  if (input === undefined) return undefined
  // Effect reads a negative number (or NaN) as zero: refuse it before it does
  const negative = typeof input === "number"
    ? !(input >= 0)
    : typeof input === "bigint"
    ? input < 0n
    : typeof input === "string" && input.trim().startsWith("-")
  if (negative) return invalid(module, option, `must not be negative, got ${show(input)}`)
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return invalid(module, option, `is not a duration, got ${show(input)}`)
  const millis = Duration.toMillis(decoded.value)
  if (options?.positive === true && millis === 0) return invalid(module, option, "must be longer than zero")
  if (options?.infinite !== true && !Number.isFinite(millis)) return invalid(module, option, "must be finite")
  return decoded.value
}
