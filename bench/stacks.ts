/**
 * The stacks `pnpm bench` measures on top of each provider's model layer, with their targets.
 */
import type { LanguageModel } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type { Layer, ManagedRuntime } from "effect"
import type { Result } from "./harness.js"

export interface Stack {
  readonly name: string
  readonly providers?: ReadonlyArray<"openai" | "anthropic">
  readonly targets: { readonly time: number; readonly throughput: number }
  readonly layer: (
    provider: Layer.Layer<LanguageModel.LanguageModel>
  ) => Layer.Layer<LanguageModel.LanguageModel>
  readonly extra?: (context: {
    readonly provider: string
    readonly model: LanguageModel.Service
    readonly runtime: ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, never>
    readonly raw: () => Promise<unknown>
    readonly record: (result: Result) => void
    readonly request: GenerateRequest
  }) => Promise<void>
}

export const stacks: ReadonlyArray<Stack> = [
  {
    name: "provider layer",
    targets: { time: 1.08, throughput: 0.92 },
    layer: (provider) => provider
  }
]
