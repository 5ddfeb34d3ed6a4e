import { ProviderKit } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Either, Redacted } from "effect"
import * as fc from "fast-check"

/** The pattern the parser follows, as a regular expression (the reference it must agree with). */
const referenceResetMillis = (value: string): number | undefined => {
  const n = Number(value)
  if (value.trim() !== "" && Number.isFinite(n)) return n * 1000
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g
  let total = 0
  let matched = false
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    matched = true
    const amount = Number(m[1])
    total += m[2] === "h" ? amount * 3_600_000 : m[2] === "m" ? amount * 60_000 : m[2] === "s" ? amount * 1000 : amount
  }
  return matched ? total : undefined
}

describe("ProviderKit", () => {
  const now = Date.parse("2026-11-27T10:00:00Z")

  it("prefers retry-after-ms, then retry-after seconds, then an HTTP date", () => {
    assert.strictEqual(
      ProviderKit.retryAfterMillis(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now),
      1500
    )
    assert.strictEqual(ProviderKit.retryAfterMillis(new Headers({ "retry-after": "2" }), now), 2000)
    assert.strictEqual(ProviderKit.retryAfterMillis({ "Retry-After": "0.5" }, now), 500)
    assert.strictEqual(ProviderKit.retryAfterMillis({ "retry-after": "Fri, 27 Nov 2026 10:00:30 GMT" }, now), 30_000)
    assert.strictEqual(ProviderKit.retryAfterMillis({ "retry-after": "Fri, 27 Nov 2026 09:00:00 GMT" }, now), 0)
  })

  it("ignores missing, negative and unparsable values", () => {
    assert.isUndefined(ProviderKit.retryAfterMillis(undefined, now))
    assert.isUndefined(ProviderKit.retryAfterMillis(new Headers(), now))
    assert.isUndefined(ProviderKit.retryAfterMillis({ "retry-after": "-3" }, now))
    assert.isUndefined(ProviderKit.retryAfterMillis({ "retry-after": "soon" }, now))
    assert.strictEqual(ProviderKit.retryAfterMillis({ "retry-after-ms": "x", "retry-after": "1" }, now), 1000)
  })

  it("parses reset durations as providers write them", () => {
    assert.strictEqual(ProviderKit.parseResetMillis("1s"), 1000)
    assert.strictEqual(ProviderKit.parseResetMillis("6m0s"), 360_000)
    assert.strictEqual(ProviderKit.parseResetMillis("20ms"), 20)
    assert.strictEqual(ProviderKit.parseResetMillis("1h2m3.5s"), 3_723_500)
    assert.strictEqual(ProviderKit.parseResetMillis("12"), 12_000)
    assert.isUndefined(ProviderKit.parseResetMillis("later"))
    assert.isUndefined(ProviderKit.parseResetMillis(undefined))
    assert.isUndefined(ProviderKit.parseResetMillis(""))
    assert.strictEqual(ProviderKit.parseResetMillis("1.5.3s"), 5_300)
    assert.strictEqual(ProviderKit.parseResetMillis("2x 1.ms 3ms"), 3)
  })

  it("reads any reset text as the reference pattern does", () => {
    const text = fc.array(fc.constantFrom(..."0123456789.hms x-"), { maxLength: 16 }).map((cs) => cs.join(""))
    fc.assert(
      fc.property(text, (value) => {
        assert.strictEqual(ProviderKit.parseResetMillis(value), referenceResetMillis(value), JSON.stringify(value))
      }),
      { numRuns: 5_000 }
    )
  })

  it("reads numeric headers", () => {
    assert.strictEqual(
      ProviderKit.numberHeader({ "x-ratelimit-remaining-requests": "42" }, "x-ratelimit-remaining-requests"),
      42
    )
    assert.isUndefined(ProviderKit.numberHeader({ a: "n/a" }, "a"))
  })

  it("validates the options every client shares, never echoing the key", () => {
    const settings = (apiKey: string, baseUrl: string, timeout?: Duration.DurationInput) =>
      ProviderKit.clientSettings({ apiKey: Redacted.make(apiKey), baseUrl, timeout, defaultTimeout: Duration.days(1) })
    const ok = settings("sk-1", "http://127.0.0.1:4010/v1")
    assert.isTrue(Either.isRight(ok))
    if (Either.isRight(ok)) {
      assert.strictEqual(ok.right.serverAddress, "127.0.0.1")
      assert.strictEqual(ok.right.serverPort, 4010)
      assert.strictEqual(ok.right.timeoutMillis, 86_400_000)
    }
    // capped where Node's timers overflow
    assert.deepStrictEqual(
      Either.map(settings("sk-1", "https://x.test", "30 days"), (s) => s.timeoutMillis),
      Either.right(2_147_483_647)
    )
    const https = settings("sk-1", "https://api.example.com", "30 seconds")
    assert.deepStrictEqual(Either.map(https, (s) => [s.serverPort, s.timeoutMillis]), Either.right([443, 30_000]))
    const failures = [
      settings("", "https://x.test"),
      settings("sk 1 secret", "https://x.test"),
      settings("sk-1", "not a url"),
      settings("sk-1", "ftp://x.test"),
      settings("sk-1", "https://x.test", -5)
    ]
    assert.deepStrictEqual(failures.map((f) => Either.isLeft(f) ? f.left.field : "ok"), [
      "apiKey",
      "apiKey",
      "baseUrl",
      "baseUrl",
      "timeout"
    ])
    assert.notInclude(JSON.stringify(failures), "secret")
  })
})
