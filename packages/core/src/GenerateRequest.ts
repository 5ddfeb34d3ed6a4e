/**
 * What a caller asks a model for: the messages, the sampling parameters and the call's context
 * (who pays, which feature, cache control). Requests are plain objects; the schema is there to
 * decode untrusted input and to serialise.
 *
 * @example
 * ```ts
 * import type { GenerateRequest } from "@effect-llm/core"
 *
 * const request: GenerateRequest.GenerateRequest = {
 *   messages: [
 *     { role: "system", content: "You answer in one sentence." },
 *     { role: "user", content: "What is Effect?" }
 *   ],
 *   maxOutputTokens: 200,
 *   temperature: 0,
 *   user: "user-42",
 *   feature: "faq"
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A text part of a message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type TextPart = typeof TextPart.Type

/**
 * An image part of a user message, by URL or data URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image"),
  url: Schema.String,
  mediaType: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ImagePart = typeof ImagePart.Type

/**
 * The content of a message: a string, or parts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Content = Schema.Union(Schema.String, Schema.Array(Schema.Union(TextPart, ImagePart)))

/**
 * @since 0.1.0
 * @category models
 */
export type Content = typeof Content.Type

/**
 * One turn of a conversation.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Struct({
  role: Schema.Literal("system", "user", "assistant"),
  content: Content
})

/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * The shape of the answer: free text, any JSON object, or JSON matching a JSON Schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({
    type: Schema.Literal("json"),
    name: Schema.optional(Schema.String),
    schema: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseFormat = typeof ResponseFormat.Type

/**
 * Per-call cache control. `mode`: `default` uses the cache policy, `bypass` neither reads nor
 * writes, `refresh` skips the read and writes the fresh answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CacheControl = Schema.Struct({
  mode: Schema.optional(Schema.Literal("default", "bypass", "refresh")),
  ttl: Schema.optional(Schema.DurationFromMillis),
  namespace: Schema.optional(Schema.String),
  scope: Schema.optional(Schema.Literal("global", "user"))
})

/**
 * @since 0.1.0
 * @category models
 */
export type CacheControl = typeof CacheControl.Type

/**
 * A request for one completion.
 *
 * `model` overrides the model the `LanguageModel` was made for; `tier` asks a tiering policy to
 * pick one. `user` is who pays (budgets, cache scope) and `feature` what the call is for (cost
 * attribution); neither is sent to the provider.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GenerateRequest = Schema.Struct({
  model: Schema.optional(Schema.String),
  tier: Schema.optional(Schema.String),
  messages: Schema.Array(Message),
  maxOutputTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2))),
  topP: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  stop: Schema.optional(Schema.Array(Schema.String)),
  seed: Schema.optional(Schema.Int),
  responseFormat: Schema.optional(ResponseFormat),
  user: Schema.optional(Schema.String),
  feature: Schema.optional(Schema.String),
  cache: Schema.optional(CacheControl),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type GenerateRequest = typeof GenerateRequest.Type

/**
 * The text of a message's content (parts that are not text are skipped).
 *
 * @since 0.1.0
 * @category utils
 */
export const contentText = (content: Content): string => {
  if (typeof content === "string") return content
  let out = ""
  for (const part of content) if (part.type === "text") out += part.text
  return out
}

/**
 * A request with one user message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPrompt = (
  prompt: string,
  options?: Omit<GenerateRequest, "messages"> & { readonly system?: string }
): GenerateRequest => {
  const { system, ...rest } = options ?? {}
  return {
    ...rest,
    messages: system === undefined
      ? [{ role: "user", content: prompt }]
      : [{ role: "system", content: system }, { role: "user", content: prompt }]
  }
}
