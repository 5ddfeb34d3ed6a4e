import type { LanguageModel, LlmError } from "@effect-llm/core"
import type * as CoreLanguageModel from "@effect-llm/core/LanguageModel"
import type { Effect, Layer } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import type * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"

describe("types", () => {
  it("make: the error channel is exactly ProviderError and the requirement is the client", () => {
    const m = OpenAiLanguageModel.make("gpt-5-mini")
    expectTypeOf<LanguageModel.Error<typeof m>>().toEqualTypeOf<LlmError.ProviderError>()
    expectTypeOf<LanguageModel.Requirements<typeof m>>().toEqualTypeOf<OpenAiClient.OpenAiClient>()
    expectTypeOf<LanguageModel.Error<typeof m>>().not.toBeUnknown()
    expectTypeOf<ReturnType<typeof m.generate>>().toEqualTypeOf<
      import("effect").Effect.Effect<
        import("@effect-llm/core").Completion.Completion,
        LlmError.ProviderError,
        OpenAiClient.OpenAiClient
      >
    >()
    const chat = OpenAiLanguageModel.make("gpt-5-mini", { api: "chat-completions" })
    expectTypeOf<LanguageModel.Error<typeof chat>>().toEqualTypeOf<LlmError.ProviderError>()
  })

  it("streamEach: the error channel is exactly ProviderError, as generate's", () => {
    for (const api of ["responses", "chat-completions"] as const) {
      const m = OpenAiLanguageModel.make("gpt-5-mini", { api })
      expectTypeOf<ReturnType<typeof m.streamEach>>().toEqualTypeOf<
        import("effect").Effect.Effect<
          import("@effect-llm/core").Completion.Completion,
          LlmError.ProviderError,
          OpenAiClient.OpenAiClient
        >
      >()
      expectTypeOf<Effect.Effect.Error<ReturnType<typeof m.streamEach>>>().toEqualTypeOf<
        Effect.Effect.Error<ReturnType<typeof m.generate>>
      >()
    }
    type FromClient = ReturnType<typeof OpenAiLanguageModel.fromClient>
    expectTypeOf<Effect.Effect.Error<ReturnType<FromClient["streamEach"]>>>().toEqualTypeOf<LlmError.ProviderError>()
    expectTypeOf<Effect.Effect.Context<ReturnType<FromClient["streamEach"]>>>().toEqualTypeOf<never>()
  })

  it("fromClient needs nothing; model is a layer that needs the client", () => {
    expectTypeOf<ReturnType<typeof OpenAiLanguageModel.fromClient>>().toEqualTypeOf<
      CoreLanguageModel.With<LlmError.ProviderError, never>
    >()
    expectTypeOf<ReturnType<typeof OpenAiLanguageModel.model>>().toEqualTypeOf<
      Layer.Layer<CoreLanguageModel.LanguageModel, never, OpenAiClient.OpenAiClient>
    >()
  })
})
