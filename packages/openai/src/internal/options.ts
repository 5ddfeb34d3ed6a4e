import type { ReasoningEffort } from "openai/resources/shared"

/**
 * The resolved options of a model.
 *
 * @internal
 */
export interface ModelOptions {
  readonly api: "responses" | "chat-completions"
  readonly provider: string
  readonly store: boolean | undefined
  readonly reasoningEffort: ReasoningEffort | undefined
  readonly forwardUser: "safety_identifier" | "user" | undefined
  readonly systemRole: "system" | "developer"
  readonly maxTokensField: "max_completion_tokens" | "max_tokens"
  readonly streamUsage: boolean
}
