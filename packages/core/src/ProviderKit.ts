/**
 * Building blocks shared by provider adapters: validating client options and reading `retry-after`
 * and rate-limit headers. Adapters for other providers use the same pieces.
 *
 * @example
 * ```ts
 * import { ProviderKit } from "@effect-llm/core"
 *
 * const headers = new Headers({ "retry-after-ms": "1500" })
 * ProviderKit.retryAfterMillis(headers, Date.now()) // 1500
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/**
 * Something that can look up a header by name (a `Headers`, or a plain record).
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderSource = { readonly get: (name: string) => string | null } | Record<string, string | undefined>

/**
 * Reads a header, case-insensitively for plain records.
 *
 * @since 0.1.0
 * @category headers
 */
export const header = (headers: HeaderSource | undefined | null, name: string): string | undefined => {
  if (headers == null) return undefined
  if (typeof (headers as { get?: unknown }).get === "function") {
    const value = (headers as { readonly get: (name: string) => string | null }).get(name)
    return value === null ? undefined : value
  }
  const record = headers as Record<string, string | undefined>
  const direct = record[name]
  if (direct !== undefined) return direct
  const lower = name.toLowerCase()
  for (const key in record) if (key.toLowerCase() === lower) return record[key]
  return undefined
}

/**
 * The delay a provider asked for, in milliseconds: `retry-after-ms` first, then `retry-after` as
 * seconds or as an HTTP date (relative to `now`). Negative or unparsable values give `undefined`.
 *
 * @since 0.1.0
 * @category headers
 */
export const retryAfterMillis = (headers: HeaderSource | undefined | null, now: number): number | undefined => {
  const ms = header(headers, "retry-after-ms")
  if (ms !== undefined) {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return value
  }
  const after = header(headers, "retry-after")
  if (after === undefined) return undefined
  const seconds = Number(after)
  if (after.trim() !== "" && Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(after)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

/**
 * Parses a reset duration as providers write it: `"1s"`, `"6m0s"`, `"20ms"`, `"1h2m3.5s"`, or a
 * number of seconds.
 *
 * @since 0.1.0
 * @category headers
 */
export const parseResetMillis = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (Number.isFinite(n)) return value.trim() === "" ? undefined : n * 1000
  // read as the pattern /(\d+(?:\.\d+)?)(ms|h|m|s)/g would, without a RegExp and its match
  // arrays per response: this runs on every answer of every call
  let total = 0
  let matched = false
  const length = value.length
  let i = 0
  while (i < length) {
    if (!isDigit(value.charCodeAt(i))) {
      i++
      continue
    }
    let j = i + 1
    while (j < length && isDigit(value.charCodeAt(j))) j++
    // a fraction ("3.5s") when a "." and a digit follow; a unit can only follow the whole number
    let end = j
    if (value.charCodeAt(j) === 46 && isDigit(value.charCodeAt(j + 1))) {
      end = j + 2
      while (end < length && isDigit(value.charCodeAt(end))) end++
    }
    const unit = unitAt(value, end)
    if (unit === 0) {
      i++
      continue
    }
    matched = true
    total += Number(value.slice(i, end)) * unit
    i = end + (unit === 1 ? 2 : 1) // "ms" is two characters
  }
  return matched ? total : undefined
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57

/** The factor in milliseconds of the unit at `at` (`h`, `m`, `s`, `ms`), or 0 where there is none. */
const unitAt = (value: string, at: number): number => {
  switch (value.charCodeAt(at)) {
    case 104: // h
      return 3_600_000
    case 109: // m, ms
      return value.charCodeAt(at + 1) === 115 ? 1 : 60_000
    case 115: // s
      return 1000
    default:
      return 0
  }
}

/**
 * Reads a numeric header.
 *
 * @since 0.1.0
 * @category headers
 */
export const numberHeader = (headers: HeaderSource | undefined | null, name: string): number | undefined => {
  const value = header(headers, name)
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/**
 * What a provider client needs from its options, validated: the key, the base URL and where it
 * points (for `server.address` / `server.port`), and the SDK's last-resort timeout.
 *
 * @since 0.1.0
 * @category clients
 */
export interface ClientSettings {
  readonly apiKey: string
  readonly baseUrl: string
  readonly serverAddress: string
  readonly serverPort: number
  readonly timeoutMillis: number
}

/**
 * Why client options are unusable: the field and what is wrong with it (never the key itself).
 *
 * @since 0.1.0
 * @category clients
 */
export interface InvalidSetting {
  readonly field: string
  readonly detail: string
}

/** Node's timers overflow above 2^31 - 1 ms (and then fire at once). */
const maxTimerMillis = 2_147_483_647

/**
 * Validates the options every provider client shares: a non-empty key without whitespace, an
 * http(s) base URL, and a positive, finite timeout (capped where Node's timers overflow).
 *
 * @since 0.1.0
 * @category clients
 */
export const clientSettings = (options: {
  readonly apiKey: Redacted.Redacted
  readonly baseUrl: string
  readonly timeout: Duration.DurationInput | undefined
  readonly defaultTimeout: Duration.Duration
}): Either.Either<ClientSettings, InvalidSetting> => {
  const invalid = (field: string, detail: string) => Either.left({ field, detail })
  const apiKey = Redacted.value(options.apiKey)
  if (typeof apiKey !== "string" || apiKey.trim() === "") return invalid("apiKey", "is empty")
  if (/\s/.test(apiKey)) return invalid("apiKey", "contains whitespace")
  const baseUrl = options.baseUrl
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return invalid("baseUrl", `is not a URL: ${JSON.stringify(baseUrl)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid("baseUrl", `must be an http(s) URL, got ${JSON.stringify(url.protocol)}`)
  }
  let timeoutMillis = Duration.toMillis(options.defaultTimeout)
  if (options.timeout !== undefined) {
    const decoded = Duration.decodeUnknown(options.timeout)
    if (Option.isNone(decoded)) return invalid("timeout", "is not a duration")
    timeoutMillis = Duration.toMillis(decoded.value)
    if (!(timeoutMillis > 0) || !Number.isFinite(timeoutMillis)) {
      return invalid("timeout", "must be positive and finite")
    }
  }
  return Either.right({
    apiKey,
    baseUrl,
    serverAddress: url.hostname,
    serverPort: url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
    timeoutMillis: Math.min(Math.ceil(timeoutMillis), maxTimerMillis)
  })
}
