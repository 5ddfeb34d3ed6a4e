/**
 * @since 0.1.0
 */
export * as CallEvent from "./CallEvent.js"

/**
 * @since 0.1.0
 */
export * as Completion from "./Completion.js"

/**
 * @since 0.1.0
 */
export * as GenerateRequest from "./GenerateRequest.js"

/**
 * @since 0.1.0
 */
export * as LanguageModel from "./LanguageModel.js"

/**
 * @since 0.1.0
 */
export * as LlmError from "./LlmError.js"

/**
 * @since 0.1.0
 */
export * as ProviderKit from "./ProviderKit.js"

/**
 * @since 0.1.0
 */
export * as StreamEvent from "./StreamEvent.js"

/**
 * @since 0.1.0
 */
export * as Telemetry from "./Telemetry.js"
