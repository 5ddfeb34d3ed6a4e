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

/**
 * Sends the request's `user` when the model's `forwardUser` option asks for it, in the field it names.
 *
 * @internal
 */
export const forwardUser = (
  body: { user?: string | undefined; safety_identifier?: string | null | undefined },
  options: ModelOptions,
  request: { readonly user?: string | undefined }
): void => {
  if (options.forwardUser === undefined || request.user === undefined) return
  if (options.forwardUser === "user") body.user = request.user
  else body.safety_identifier = request.user
}
