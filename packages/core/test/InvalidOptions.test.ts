import * as InvalidOptions from "@effect-llm/core/InvalidOptions"
import * as LanguageModel from "@effect-llm/core/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Stream } from "effect"
import { refusal } from "./invalidOptionsFixtures.js"

describe("InvalidOptions", () => {
  it("names the module, the option and what is wrong", () => {
    const error = refusal(() => InvalidOptions.share("CircuitBreaker", "failureRateThreshold", 50))
    assert.strictEqual(error._tag, "InvalidOptions")
    assert.strictEqual(error.module, "CircuitBreaker")
    assert.strictEqual(error.option, "failureRateThreshold")
    assert.strictEqual(
      error.message,
      "effect-llm CircuitBreaker: option `failureRateThreshold` must be in (0, 1], got 50"
    )
  })

  it("positive and nonNegative refuse what they say, and leave an absent option alone", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      refusal(() => InvalidOptions.positive("M", "x", bad))
    }
    for (const bad of [-0.001, Number.NaN, Number.POSITIVE_INFINITY]) {
      refusal(() => InvalidOptions.nonNegative("M", "x", bad))
    }
    InvalidOptions.positive("M", "x", 0.001)
    InvalidOptions.positive("M", "x", undefined)
    InvalidOptions.nonNegative("M", "x", 0)
    InvalidOptions.nonNegative("M", "x", undefined)
  })

  it("integer refuses fractions, unsafe integers and values under its minimum", () => {
    for (const bad of [0.5, 2 ** 53, -1, Number.NaN]) refusal(() => InvalidOptions.integer("M", "x", bad, 0))
    assert.include(refusal(() => InvalidOptions.integer("M", "x", 0, 1)).message, "at least 1, got 0")
    InvalidOptions.integer("M", "x", 0, 0)
    InvalidOptions.integer("M", "x", 7, 1)
  })

  it("share is (0, 1], or (0, 1) when below", () => {
    for (const bad of [0, -0.1, 1.01, Number.NaN]) refusal(() => InvalidOptions.share("M", "x", bad))
    InvalidOptions.share("M", "x", 1)
    InvalidOptions.share("M", "x", 0.01)
    assert.include(refusal(() => InvalidOptions.share("M", "x", 1, true)).message, "(0, 1), got 1")
  })

  it("required, isFunction and isModel", () => {
    assert.include(refusal(() => InvalidOptions.required("M", "x", undefined)).message, "`x` is required")
    assert.strictEqual(InvalidOptions.required("M", "x", 0), 0)
    assert.include(refusal(() => InvalidOptions.isFunction("M", "f", 3)).message, "must be a function, got number")
    InvalidOptions.isFunction("M", "f", undefined)
    InvalidOptions.isFunction("M", "f", () => 1)
    assert.include(refusal(() => InvalidOptions.isModel("M", "m", {})).message, "must be a model")
    InvalidOptions.isModel(
      "M",
      "m",
      LanguageModel.make({
        provider: "p",
        model: "m",
        generate: () => Effect.die("unused"),
        stream: () => Stream.die("unused")
      })
    )
  })

  it("oneOf lists what is allowed", () => {
    const error = refusal(() => InvalidOptions.oneOf("Retry", "jitter", "half" as "full" | "none", ["full", "none"]))
    assert.strictEqual(
      error.message,
      "effect-llm Retry: option `jitter` must be one of \"full\", \"none\", got \"half\""
    )
    InvalidOptions.oneOf("Retry", "jitter", "full" as "full" | "none", ["full", "none"])
  })

  it("duration decodes, and refuses negative, unreadable, zero (when positive) and infinite (unless allowed)", () => {
    assert.deepStrictEqual(InvalidOptions.duration("M", "d", "2 seconds"), Duration.seconds(2))
    assert.isUndefined(InvalidOptions.duration("M", "d", undefined))
    assert.include(refusal(() => InvalidOptions.duration("M", "d", -5)).message, "must not be negative, got -5")
    refusal(() => InvalidOptions.duration("M", "d", "-5 seconds"))
    refusal(() => InvalidOptions.duration("M", "d", Number.NaN))
    assert.include(
      refusal(() => InvalidOptions.duration("M", "d", "soon" as Duration.DurationInput)).message,
      "is not a duration"
    )
    assert.deepStrictEqual(InvalidOptions.duration("M", "d", 0), Duration.zero)
    assert.include(refusal(() => InvalidOptions.duration("M", "d", 0, { positive: true })).message, "longer than zero")
    assert.include(refusal(() => InvalidOptions.duration("M", "d", Duration.infinity)).message, "must be finite")
    assert.deepStrictEqual(InvalidOptions.duration("M", "d", Duration.infinity, { infinite: true }), Duration.infinity)
  })
})
