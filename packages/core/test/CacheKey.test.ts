import * as CacheKey from "@effect-llm/core/CacheKey"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import * as fc from "fast-check"

const target = { provider: "openai", model: "gpt-5-mini" }

const text = fc.string({ maxLength: 20 })
const message: fc.Arbitrary<GenerateRequest["messages"][number]> = fc.record({
  role: fc.constantFrom("system" as const, "user" as const, "assistant" as const),
  content: fc.oneof(
    text,
    fc.array(
      fc.oneof(
        fc.record({ type: fc.constant("text" as const), text }),
        fc.record({ type: fc.constant("image" as const), url: fc.webUrl() }, { requiredKeys: ["type", "url"] })
      ),
      { minLength: 1, maxLength: 3 }
    )
  )
})

const responseFormat: fc.Arbitrary<NonNullable<GenerateRequest["responseFormat"]>> = fc.oneof(
  fc.constant({ type: "text" as const }),
  fc.record({
    type: fc.constant("json" as const),
    name: fc.option(text, { nil: undefined }),
    schema: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })), {
      nil: undefined
    })
  })
)

const request: fc.Arbitrary<GenerateRequest> = fc.record({
  model: fc.option(fc.constantFrom("gpt-5-mini", "gpt-5", "o4"), { nil: undefined }),
  tier: fc.option(fc.constantFrom("small", "large"), { nil: undefined }),
  messages: fc.array(message, { minLength: 1, maxLength: 4 }),
  maxOutputTokens: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
  temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
  topP: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  stop: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
  seed: fc.option(fc.integer(), { nil: undefined }),
  responseFormat: fc.option(responseFormat, { nil: undefined }),
  user: fc.option(text, { nil: undefined }),
  feature: fc.option(text, { nil: undefined }),
  metadata: fc.option(fc.dictionary(text, text), { nil: undefined })
}, { requiredKeys: ["messages"] })

const key = (r: GenerateRequest, options?: CacheKey.Options) => CacheKey.make(target, r, options)

/** A different value of one answer-changing field. */
const answerChanges: ReadonlyArray<readonly [string, (r: GenerateRequest, n: number) => GenerateRequest]> = [
  ["messages: one more", (r) => ({ ...r, messages: [...r.messages, { role: "user", content: "again" }] })],
  ["messages: one fewer", (r) => ({ ...r, messages: r.messages.length > 1 ? r.messages.slice(1) : [] })],
  ["messages: last content", (r) => {
    const last = r.messages[r.messages.length - 1]!
    const content = typeof last.content === "string"
      ? last.content + "!"
      : [...last.content, { type: "text" as const, text: "!" }]
    return { ...r, messages: [...r.messages.slice(0, -1), { ...last, content }] }
  }],
  ["messages: first role", (r) => {
    const [first, ...rest] = r.messages
    return { ...r, messages: [{ ...first!, role: first!.role === "user" ? "assistant" : "user" }, ...rest] }
  }],
  ["model", (r) => ({ ...r, model: (r.model ?? target.model) + "-next" })],
  ["tier", (r) => ({ ...r, tier: (r.tier ?? "") + "x" })],
  ["maxOutputTokens", (r) => ({ ...r, maxOutputTokens: (r.maxOutputTokens ?? 0) + 1 })],
  ["temperature", (r, n) => ({ ...r, temperature: r.temperature === (n % 3) / 2 ? 1.75 : (n % 3) / 2 })],
  ["topP", (r) => ({ ...r, topP: r.topP === 0.5 ? 0.25 : 0.5 })],
  ["stop", (r) => ({ ...r, stop: [...(r.stop ?? []), "END"] })],
  ["seed", (r) => ({ ...r, seed: (r.seed ?? 0) + 1 })],
  ["responseFormat", (r) => ({
    ...r,
    responseFormat: r.responseFormat?.type === "json"
      ? { ...r.responseFormat, schema: { ...r.responseFormat.schema, extraProperty: { type: "string" } } }
      : { type: "json" }
  })],
  ["a field the cache does not know", (r) => ({ ...r, tools: [{ name: "search" }] }) as GenerateRequest]
]

const ignoredChanges: fc.Arbitrary<(r: GenerateRequest) => GenerateRequest> = fc.oneof(
  text.map((user) => (r: GenerateRequest) => ({ ...r, user })),
  text.map((feature) => (r: GenerateRequest) => ({ ...r, feature })),
  fc.dictionary(text, text).map((metadata) => (r: GenerateRequest) => ({ ...r, metadata })),
  fc.record({
    mode: fc.constantFrom("default" as const, "refresh" as const, "bypass" as const),
    ttl: fc.integer({ min: 1, max: 100_000 }).map(Duration.millis)
  }).map((cache) => (r: GenerateRequest) => ({ ...r, cache: { ...r.cache, ...cache } })),
  fc.constant((r: GenerateRequest) => {
    const { feature: _f, metadata: _m, user: _u, ...rest } = r
    return rest
  })
)

/** The same request with its fields written in another order, and `undefined` fields added. */
const reordered = (r: GenerateRequest): GenerateRequest => {
  const out: Record<string, unknown> = { temperature: undefined, seed: undefined }
  for (const k of Object.keys(r).reverse()) {
    const v = (r as Record<string, unknown>)[k]
    if (v !== undefined) out[k] = v
  }
  out["messages"] = r.messages.map((m) => ({ content: m.content, role: m.role }))
  if (r.responseFormat?.type === "json" && r.responseFormat.schema !== undefined) {
    const schema = r.responseFormat.schema
    const flipped: Record<string, unknown> = {}
    for (const k of Object.keys(schema).reverse()) flipped[k] = schema[k]
    out["responseFormat"] = { schema: flipped, name: r.responseFormat.name, type: "json" }
  }
  return out as GenerateRequest
}

describe("CacheKey", () => {
  it("changing any answer-changing field changes the key", () => {
    fc.assert(
      fc.property(request, fc.nat(), (r, n) => {
        const base = key(r)
        for (const [name, change] of answerChanges) {
          const changed = change(r, n)
          if (name === "messages: one fewer" && changed.messages.length === r.messages.length) continue
          assert.notStrictEqual(key(changed), base, name)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("changing the provider, or the model the request falls back to, changes the key", () => {
    fc.assert(
      fc.property(request, (r) => {
        assert.notStrictEqual(CacheKey.make({ ...target, provider: "anthropic" }, r), key(r))
        const unnamed = { ...r, model: undefined }
        assert.notStrictEqual(CacheKey.make({ ...target, model: "gpt-5" }, unnamed), key(unnamed))
        // a request that names the default model explicitly is the same request
        assert.strictEqual(key({ ...r, model: target.model }), key(unnamed))
      })
    )
  })

  it("changing any other field (user, feature, metadata, cache mode and ttl) keeps the key", () => {
    fc.assert(
      fc.property(request, fc.array(ignoredChanges, { minLength: 1, maxLength: 4 }), (r, changes) => {
        const changed = changes.reduce((acc, change) => change(acc), r)
        assert.strictEqual(key(changed), key(r))
      }),
      { numRuns: 300 }
    )
  })

  it("field order and undefined fields do not matter", () => {
    fc.assert(
      fc.property(request, (r) => {
        assert.strictEqual(key(reordered(r)), key(r))
        assert.strictEqual(CacheKey.encode(target, reordered(r)), CacheKey.encode(target, r))
      }),
      { numRuns: 300 }
    )
  })

  it("scope user puts the user in the key; scope global does not", () => {
    fc.assert(
      fc.property(request, text, text, (r, a, b) => {
        fc.pre(a !== b)
        const asA = { ...r, user: a }
        const asB = { ...r, user: b }
        assert.strictEqual(key(asA), key(asB))
        assert.notStrictEqual(key(asA, { scope: "user" }), key(asB, { scope: "user" }))
        assert.strictEqual(key(asA, { scope: "user" }), key({ ...asA, feature: "other" }, { scope: "user" }))
        assert.notStrictEqual(key(asA, { scope: "user" }), key(asA))
        // the request's own scope wins over the policy's
        assert.strictEqual(key({ ...asA, cache: { scope: "global" } }, { scope: "user" }), key(asB))
        assert.strictEqual(key({ ...asA, cache: { scope: "user" } }), key(asA, { scope: "user" }))
      })
    )
  })

  it("the namespace is part of the key and its readable prefix", () => {
    fc.assert(
      fc.property(request, fc.string({ minLength: 1, maxLength: 10 }), (r, ns) => {
        const plain = key(r)
        const spaced = key(r, { namespace: ns })
        assert.match(plain, /^[0-9a-f]{64}$/)
        assert.isTrue(spaced.startsWith(`${ns}:`))
        assert.notStrictEqual(spaced.slice(ns.length + 1), plain)
        assert.strictEqual(key({ ...r, cache: { namespace: ns } }), spaced)
        assert.notStrictEqual(key({ ...r, cache: { namespace: ns + "x" } }, { namespace: ns }), spaced)
      })
    )
  })

  it("numbers are normalised: -0 is 0, integral doubles are integers", () => {
    const r: GenerateRequest = { messages: [{ role: "user", content: "hi" }], temperature: 0, topP: 1 }
    assert.strictEqual(key({ ...r, temperature: -0 }), key(r))
    assert.strictEqual(key({ ...r, topP: 1.0 }), key(r))
    assert.notStrictEqual(key({ ...r, topP: 0.1 + 0.2 }), key({ ...r, topP: 0.3 }))
  })

  it("the encoding is canonical JSON, documented in the guide", () => {
    const r: GenerateRequest = {
      temperature: 0,
      messages: [{ role: "user", content: "What is \"Effect\"?" }],
      user: "u-1",
      feature: "faq",
      stop: ["\n\n"],
      responseFormat: { type: "json", schema: { type: "object", properties: { b: {}, a: {} } } }
    }
    assert.strictEqual(
      CacheKey.encode(target, r, { namespace: "faq", scope: "user" }),
      "effect-llm/cache/v1\n" +
        "{\"model\":\"gpt-5-mini\",\"namespace\":\"faq\",\"provider\":\"openai\",\"request\":{" +
        "\"messages\":[{\"content\":\"What is \\\"Effect\\\"?\",\"role\":\"user\"}]," +
        "\"responseFormat\":{\"schema\":{\"properties\":{\"a\":{},\"b\":{}},\"type\":\"object\"},\"type\":\"json\"}," +
        "\"stop\":[\"\\n\\n\"],\"temperature\":0},\"scope\":\"user\",\"user\":\"u-1\"}"
    )
  })

  it("is stable across runs and processes (golden value)", () => {
    const r: GenerateRequest = {
      model: "gpt-5-mini",
      messages: [
        { role: "system", content: "You answer in one sentence." },
        { role: "user", content: [{ type: "text", text: "What is Effect? ünïcødé ✓" }] }
      ],
      temperature: 0,
      maxOutputTokens: 200,
      seed: 7,
      user: "user-42",
      feature: "faq",
      metadata: { trace: "abc" }
    }
    // computed independently (Python: hashlib.sha256 over json.dumps(..., sort_keys=True,
    // separators=(",", ":"), ensure_ascii=False)) and frozen: if this changes, every shared (Redis)
    // cache is invalidated, so bump `CacheKey.version`
    assert.strictEqual(key(r), "c26182b47a6d7af6d53cedcb9165e061d8d4696f7fe883b80da5d7dd6dbab962")
  })
})
