/**
 * @since 0.1.0
 */
export * as OpenAiClient from "./OpenAiClient.js"

/**
 * @since 0.1.0
 */
export * as OpenAiLanguageModel from "./OpenAiLanguageModel.js"

/**
 * @since 0.1.0
 */
export * as OpenAiTokenCounter from "./OpenAiTokenCounter.js"
