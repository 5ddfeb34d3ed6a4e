import { interrupted } from "@effect-llm/core/ProviderStream"
import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
import { type ErrorContext, fromUnknown, ResponseFailed, UnexpectedBody } from "../src/internal/errors.js"
import * as Responses from "../src/internal/responses.js"
import { apiKey } from "./fixtures.js"

const ctx: ErrorContext = {
  provider: "openai",
  model: "gpt-5-mini",
  requestId: undefined,
  headers: undefined,
  now: Date.parse("2026-11-27T00:00:00Z"),
  timeoutMillis: 30_000,
  apiKey
}

const http = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  APIError.generate(status, { error }, undefined, new Headers({ "x-request-id": "req_1", ...headers }))

/** An error event inside a stream: the SDK throws an APIError without a status. */
const inStream = (error: Record<string, unknown>) => new APIError(undefined, error, undefined, new Headers())

describe("error mapping (unit)", () => {
  it("429 rate_limit_exceeded: retry-after as an HTTP date, limit from the type", () => {
    const e = fromUnknown(
      http(429, { type: "tokens", code: "rate_limit_exceeded", message: "Rate limit reached" }, {
        "retry-after": "Fri, 27 Nov 2026 00:00:05 GMT"
      }),
      ctx
    )
    assert.strictEqual(e._tag, "RateLimited")
    if (e._tag !== "RateLimited") return
    assert.strictEqual(Duration.toMillis(e.retryAfter!), 5000)
    assert.strictEqual(e.limit, "tokens")
    assert.strictEqual(e.requestId, "req_1")
  })

  it("429: limit from the remaining headers, then from the message; absent when unknown", () => {
    const byHeader = fromUnknown(
      http(429, { code: "rate_limit_exceeded" }, { "x-ratelimit-remaining-tokens": "0" }),
      ctx
    )
    assert.strictEqual(byHeader._tag === "RateLimited" && byHeader.limit, "tokens")
    const byMessage = fromUnknown(
      http(429, { code: "rate_limit_exceeded", message: "Rate limit reached on requests per min (RPM)" }),
      ctx
    )
    assert.strictEqual(byMessage._tag === "RateLimited" && byMessage.limit, "requests")
    const unknown = fromUnknown(http(429, { code: "rate_limit_exceeded", message: "slow down" }), ctx)
    assert.strictEqual(unknown._tag, "RateLimited")
    assert.isTrue(unknown._tag === "RateLimited" && unknown.limit === undefined && unknown.retryAfter === undefined)
  })

  it("insufficient_quota is QuotaExhausted in any form (429 type or code, in a stream)", () => {
    assert.strictEqual(fromUnknown(http(429, { type: "insufficient_quota", code: null }), ctx)._tag, "QuotaExhausted")
    assert.strictEqual(fromUnknown(http(429, { type: "x", code: "insufficient_quota" }), ctx)._tag, "QuotaExhausted")
    assert.strictEqual(fromUnknown(inStream({ type: "insufficient_quota" }), ctx)._tag, "QuotaExhausted")
  })

  it("context_length_exceeded: numbers from both message forms, none when absent", () => {
    const a = fromUnknown(
      http(400, {
        code: "context_length_exceeded",
        message:
          "This model's maximum context length is 8192 tokens. However, you requested 8200 tokens (5000 in the messages, 3200 in the completion)."
      }),
      ctx
    )
    assert.deepInclude(a, { _tag: "ContextLengthExceeded", limit: 8192, requested: 8200 })
    const b = fromUnknown(
      http(400, { code: "context_length_exceeded", message: "Your input exceeds the context window of this model." }),
      ctx
    )
    assert.strictEqual(b._tag, "ContextLengthExceeded")
    assert.isTrue(b._tag === "ContextLengthExceeded" && b.limit === undefined && b.requested === undefined)
  })

  it("input moderation (400 content_filter / content_policy_violation) -> ContentFiltered at the input stage", () => {
    for (const code of ["content_filter", "content_policy_violation"]) {
      const e = fromUnknown(http(400, { code, type: "invalid_request_error", message: "blocked" }), ctx)
      assert.deepInclude(e, { _tag: "ContentFiltered", stage: "input", category: code })
    }
  })

  it("statuses: 408 and 5xx -> ServerError, 413 -> InvalidRequest, 401/403 -> AuthenticationFailed", () => {
    assert.deepInclude(fromUnknown(http(504, { message: "gateway" }), ctx), { _tag: "ServerError", status: 504 })
    assert.deepInclude(fromUnknown(http(408, {}), ctx), { _tag: "ServerError", status: 408 })
    assert.deepInclude(fromUnknown(http(413, { param: "input" }), ctx), {
      _tag: "InvalidRequest",
      status: 413,
      param: "input"
    })
    assert.deepInclude(fromUnknown(http(403, { code: "unsupported_country_region_territory" }), ctx), {
      _tag: "AuthenticationFailed",
      status: 403
    })
  })

  it("an explicit overloaded code -> Overloaded (OpenAI's 503 has none today)", () => {
    assert.deepInclude(fromUnknown(http(503, { code: "overloaded" }), ctx), { _tag: "Overloaded", status: 503 })
    assert.deepInclude(
      fromUnknown(http(503, { type: "server_error", message: "The engine is currently overloaded" }), ctx),
      {
        _tag: "ServerError",
        status: 503
      }
    )
  })

  it("in-stream errors: classified by type and code", () => {
    assert.deepInclude(fromUnknown(inStream({ type: "server_error", message: "oops" }), ctx), {
      _tag: "ServerError",
      status: 500
    })
    assert.deepInclude(fromUnknown(inStream({ type: "invalid_request_error", param: "input" }), ctx), {
      _tag: "InvalidRequest",
      status: 400,
      param: "input"
    })
    assert.strictEqual(
      fromUnknown(inStream({ type: "requests", code: "rate_limit_exceeded" }), ctx)._tag,
      "RateLimited"
    )
  })

  it("response.failed codes", () => {
    assert.strictEqual(fromUnknown(new ResponseFailed("server_error", "boom"), ctx)._tag, "ServerError")
    assert.strictEqual(fromUnknown(new ResponseFailed("rate_limit_exceeded", "slow"), ctx)._tag, "RateLimited")
    assert.deepInclude(fromUnknown(new ResponseFailed("vector_store_timeout", "slow"), ctx), {
      _tag: "ServerError",
      status: 504
    })
    assert.deepInclude(fromUnknown(new ResponseFailed("invalid_prompt", "flagged"), ctx), {
      _tag: "InvalidRequest",
      status: 400
    })
    assert.deepInclude(fromUnknown(new ResponseFailed("bio_policy", undefined), ctx), {
      _tag: "ContentFiltered",
      stage: "output"
    })
  })

  it("a failed response body maps through ResponseFailed", () => {
    const info = { provider: "openai", model: "gpt-5-mini", started: 0 }
    assert.throws(
      () =>
        Responses.fromResponse(
          info,
          {
            object: "response",
            id: "r",
            model: "m",
            status: "failed",
            error: { code: "server_error", message: "x" },
            output: []
          },
          new Headers(),
          0
        ),
      ResponseFailed
    )
    assert.throws(() => Responses.fromResponse(info, { object: "list" }, new Headers(), 0), UnexpectedBody)
  })

  it("transport: SDK timeout, abort, connection errors, bodies", () => {
    assert.deepInclude(fromUnknown(new APIConnectionTimeoutError(), ctx), { _tag: "Timeout", phase: "total" })
    assert.strictEqual(fromUnknown(new APIUserAbortError(), ctx)._tag, "ConnectionError")
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const e = fromUnknown(new APIConnectionError({ cause: new TypeError("fetch failed", { cause: refused }) }), ctx)
    assert.strictEqual(e._tag, "ConnectionError")
    assert.include(e._tag === "ConnectionError" ? e.detail : "", "ECONNREFUSED")
    assert.strictEqual(fromUnknown(new TypeError("terminated"), ctx)._tag, "ConnectionError")
    assert.strictEqual(fromUnknown(new SyntaxError("Unexpected end of JSON input"), ctx)._tag, "MalformedResponse")
    assert.strictEqual(fromUnknown(new UnexpectedBody("no"), ctx)._tag, "MalformedResponse")
  })

  it("the API key is scrubbed from provider text", () => {
    const e = fromUnknown(http(400, { message: `Invalid key ${apiKey} in header`, param: "x" }), ctx)
    assert.notInclude(JSON.stringify(e), apiKey)
    assert.include(e._tag === "InvalidRequest" ? e.detail ?? "" : "", "<redacted>")
    const c = fromUnknown(new TypeError(`failed for ${apiKey}`), ctx)
    assert.notInclude(c.message, apiKey)
  })

  it("interrupted keeps provider, model, request id and the underlying tag", () => {
    const underlying = fromUnknown(http(500, { message: "boom" }), ctx)
    const e = interrupted(underlying, "partial")
    assert.deepInclude(e, {
      _tag: "StreamInterrupted",
      partialText: "partial",
      requestId: "req_1",
      model: "gpt-5-mini"
    })
    assert.include(e.detail, "ServerError")
  })
})
