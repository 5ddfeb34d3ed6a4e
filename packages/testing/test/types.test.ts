import type { LanguageModel, LlmError } from "@effect-llm/core"
import { Emulator, MockLanguageModel } from "@effect-llm/testing"
import { describe, it } from "@effect/vitest"
import type { Effect, Layer, Scope } from "effect"
import { expectTypeOf } from "vitest"

describe("types", () => {
  it("the mock is a general model; its layers provide exactly their tags", () => {
    expectTypeOf(MockLanguageModel.make).returns.toEqualTypeOf<Effect.Effect<MockLanguageModel.Mock>>()
    expectTypeOf<MockLanguageModel.Mock["model"]>().toEqualTypeOf<LanguageModel.With<LlmError.LlmError>>()
    expectTypeOf(MockLanguageModel.layer).returns.toEqualTypeOf<Layer.Layer<LanguageModel.LanguageModel>>()
    expectTypeOf(MockLanguageModel.layerWithMock).returns.toEqualTypeOf<
      Layer.Layer<LanguageModel.LanguageModel | MockLanguageModel.MockLanguageModel>
    >()
  })

  it("the emulator is scoped and cannot fail", () => {
    expectTypeOf(Emulator.make).returns.toEqualTypeOf<Effect.Effect<Emulator.Service, never, Scope.Scope>>()
    expectTypeOf(Emulator.layer).returns.toEqualTypeOf<Layer.Layer<Emulator.Emulator>>()
  })

  it("steps are checked", () => {
    const ok: Emulator.Step = { _tag: "ServerError", status: 503 }
    // @ts-expect-error: the emulator answers 500, 502 or 503 only
    const bad: Emulator.Step = { _tag: "ServerError", status: 504 }
    // @ts-expect-error: a mock failure must be an error of the taxonomy
    const notAnError: MockLanguageModel.Step = { fail: new Error("boom") }
    expectTypeOf([ok, bad, notAnError]).not.toBeAny()
  })
})
