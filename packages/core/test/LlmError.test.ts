import { LanguageModel, LlmError } from "@effect-llm/core"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Schema, Stream } from "effect"
import { expectTypeOf } from "vitest"

const base = { provider: "openai", model: "gpt-5-mini", requestId: "req_1" }

const samples: ReadonlyArray<LlmError.LlmError> = [
  new LlmError.RateLimited({ ...base, retryAfter: Duration.millis(1500), limit: "tokens" }),
  new LlmError.QuotaExhausted({ ...base, detail: "no credit" }),
  new LlmError.ServerError({ ...base, status: 503 }),
  new LlmError.Overloaded({ ...base, status: 529 }),
  new LlmError.ConnectionError({ ...base, detail: "ECONNRESET" }),
  new LlmError.Timeout({ ...base, phase: "first-token", after: Duration.seconds(10) }),
  new LlmError.InvalidRequest({ ...base, status: 400, param: "temperature" }),
  new LlmError.AuthenticationFailed({ ...base, status: 401 }),
  new LlmError.ContextLengthExceeded({ ...base, limit: 128000, requested: 130000 }),
  new LlmError.ContentFiltered({ ...base, stage: "output", category: "violence" }),
  new LlmError.MalformedResponse({ ...base, detail: "bad json" }),
  new LlmError.StreamInterrupted({ ...base, partialText: "Once upon", detail: "socket closed" }),
  new LlmError.MalformedOutput({ ...base, raw: "{", issue: "Expected }" }),
  new LlmError.BudgetExceeded({ ...base, scope: "user:42", unit: "usd", limit: 5, spent: 4.99, requested: 0.02 }),
  new LlmError.CircuitOpen({ ...base, retryAt: DateTime.unsafeMake(60_000) })
]

describe("LlmError", () => {
  it("has one sample per tag, in the taxonomy's order", () => {
    assert.deepStrictEqual(samples.map((e) => e._tag), [...LlmError.tags])
  })

  it("round-trips every tag through the LlmError schema", () => {
    const encode = Schema.encodeSync(LlmError.LlmError)
    const decode = Schema.decodeUnknownSync(LlmError.LlmError)
    for (const error of samples) {
      const wire = JSON.parse(JSON.stringify(encode(error)))
      const back = decode(wire)
      assert.strictEqual(back._tag, error._tag)
      assert.strictEqual(back.message, error.message)
      assert.isTrue(LlmError.isLlmError(back))
    }
  })

  it("reads well in a log and names provider, model and request id", () => {
    for (const error of samples) {
      assert.include(error.message, "openai/gpt-5-mini")
      assert.include(error.message, "req_1")
    }
    assert.include(samples[0]!.message, "retry after 1s 500ms")
    assert.include(samples[8]!.message, "130000 tokens requested, limit 128000")
  })

  it("classifies", () => {
    const by = (f: (e: LlmError.LlmError) => boolean) => samples.filter(f).map((e) => e._tag)
    assert.deepStrictEqual(by(LlmError.isTransient), [
      "RateLimited",
      "ServerError",
      "Overloaded",
      "ConnectionError",
      "Timeout",
      "MalformedResponse"
    ])
    assert.deepStrictEqual(by(LlmError.isCallerSide), [
      "InvalidRequest",
      "ContextLengthExceeded",
      "ContentFiltered",
      "MalformedOutput",
      "BudgetExceeded"
    ])
    assert.isFalse(LlmError.isFallbackable(samples[6]!))
    assert.isTrue(LlmError.isFallbackable(samples[14]!))
    for (const e of samples) assert.notStrictEqual(LlmError.isCallerSide(e), LlmError.isProviderSide(e))
    assert.isFalse(LlmError.isLlmError(new Error("x")))
    assert.isFalse(LlmError.isLlmError({ _tag: "RateLimited" }))
  })

  it("types: the general model fails with exactly the taxonomy, and tags narrow", () => {
    expectTypeOf<LanguageModel.Error<LanguageModel.Service>>().toEqualTypeOf<LlmError.LlmError>()
    expectTypeOf<LlmError.Tag>().toEqualTypeOf<(typeof LlmError.tags)[number]>()
    const program = LanguageModel.generate({ messages: [] })
    expectTypeOf(program).toEqualTypeOf<
      Effect.Effect<import("@effect-llm/core").Completion.Completion, LlmError.LlmError, LanguageModel.LanguageModel>
    >()
    const handled = program.pipe(Effect.catchTags({ ContextLengthExceeded: () => Effect.succeed("short") }))
    expectTypeOf<Effect.Effect.Error<typeof handled>>().toEqualTypeOf<
      Exclude<LlmError.LlmError, LlmError.ContextLengthExceeded>
    >()
    const stream = LanguageModel.stream({ messages: [] })
    expectTypeOf<Stream.Stream.Error<typeof stream>>().toEqualTypeOf<LlmError.LlmError>()
  })
})
