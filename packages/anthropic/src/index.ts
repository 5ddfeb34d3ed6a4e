/**
 * The Anthropic client service (`@anthropic-ai/sdk`) and its layers.
 *
 * @since 0.1.0
 */
export * as AnthropicClient from "./AnthropicClient.js"

/**
 * Anthropic models over the Messages API.
 *
 * @since 0.1.0
 */
export * as AnthropicLanguageModel from "./AnthropicLanguageModel.js"

/**
 * Exact token counts from Anthropic's count-tokens endpoint, for `Tokenizer`.
 *
 * @since 0.1.0
 */
export * as AnthropicTokenCounter from "./AnthropicTokenCounter.js"
