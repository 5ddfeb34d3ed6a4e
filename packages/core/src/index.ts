/**
 * @since 0.1.0
 */
export * as AlertSink from "./AlertSink.js"

/**
 * @since 0.1.0
 */
export * as BreakerStore from "./BreakerStore.js"

/**
 * @since 0.1.0
 */
export * as Budget from "./Budget.js"

/**
 * @since 0.1.0
 */
export * as BudgetStore from "./BudgetStore.js"

/**
 * @since 0.1.0
 */
export * as Cache from "./Cache.js"

/**
 * @since 0.1.0
 */
export * as CacheKey from "./CacheKey.js"

/**
 * @since 0.1.0
 */
export * as CacheStore from "./CacheStore.js"

/**
 * @since 0.1.0
 */
export * as CallEvent from "./CallEvent.js"

/**
 * @since 0.1.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * @since 0.1.0
 */
export * as Completion from "./Completion.js"

/**
 * @since 0.1.0
 */
export * as ContentFilter from "./ContentFilter.js"

/**
 * @since 0.1.0
 */
export * as ContextLength from "./ContextLength.js"

/**
 * @since 0.1.0
 */
export * as Fallback from "./Fallback.js"

/**
 * @since 0.1.0
 */
export * as GenerateRequest from "./GenerateRequest.js"

/**
 * @since 0.1.0
 */
export * as InvalidOptions from "./InvalidOptions.js"

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
export * as ModelCatalog from "./ModelCatalog.js"

/**
 * @since 0.1.0
 */
export * as ProviderCall from "./ProviderCall.js"

/**
 * @since 0.1.0
 */
export * as ProviderKit from "./ProviderKit.js"

/**
 * @since 0.1.0
 */
export * as ProviderRequest from "./ProviderRequest.js"

/**
 * @since 0.1.0
 */
export * as ProviderStream from "./ProviderStream.js"

/**
 * @since 0.1.0
 */
export * as RateLimit from "./RateLimit.js"

/**
 * @since 0.1.0
 */
export * as Resilience from "./Resilience.js"

/**
 * @since 0.1.0
 */
export * as Retry from "./Retry.js"

/**
 * @since 0.1.0
 */
export * as SpendMonitor from "./SpendMonitor.js"

/**
 * @since 0.1.0
 */
export * as StreamEvent from "./StreamEvent.js"

/**
 * @since 0.1.0
 */
export * as Telemetry from "./Telemetry.js"

/**
 * @since 0.1.0
 */
export * as Tiering from "./Tiering.js"

/**
 * @since 0.1.0
 */
export * as Timeout from "./Timeout.js"

/**
 * @since 0.1.0
 */
export * as Tokenizer from "./Tokenizer.js"

/**
 * @since 0.1.0
 */
export * as UsageLedger from "./UsageLedger.js"

// `Otel` is not re-exported here: it loads the optional OpenTelemetry peer dependencies.
// Import it from "@effect-llm/core/Otel".
