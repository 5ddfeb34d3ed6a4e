/**
 * @since 0.1.0
 */

/**
 * A wire-compatible OpenAI / Anthropic emulator for tests, demos and benchmarks.
 *
 * @since 0.1.0
 */
export * as Emulator from "./Emulator.js"

/**
 * A scripted `LanguageModel` for tests, deterministic under `TestClock`.
 *
 * @since 0.1.0
 */
export * as MockLanguageModel from "./MockLanguageModel.js"

/**
 * A streamed call through `stream` or `streamEach` behind one function, for tests that run both.
 *
 * @since 0.1.0
 */
export * as StreamCalls from "./StreamCalls.js"
