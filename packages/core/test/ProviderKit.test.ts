import { ProviderKit } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Either, Redacted } from "effect"

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
