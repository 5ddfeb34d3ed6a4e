/**
 * The events of a streamed call: text deltas as they arrive, then exactly one `Finish` carrying
 * the same `Completion` that `generate` would have returned.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 *
 * const program = LanguageModel.stream({ messages: [{ role: "user", content: "Tell a story" }] }).pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "TextDelta" ? Effect.sync(() => process.stdout.write(event.text)) : Effect.void
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Completion } from "./Completion.js"

/**
 * A piece of the answer's text.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextDelta = Schema.TaggedStruct("TextDelta", { text: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export type TextDelta = typeof TextDelta.Type

/**
 * The end of a stream, with the whole completion.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Finish = Schema.TaggedStruct("Finish", { completion: Completion })

/**
 * @since 0.1.0
 * @category models
 */
export type Finish = typeof Finish.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const StreamEvent = Schema.Union(TextDelta, Finish)

/**
 * @since 0.1.0
 * @category models
 */
export type StreamEvent = typeof StreamEvent.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const textDelta = (text: string): TextDelta => ({ _tag: "TextDelta", text })

/**
 * @since 0.1.0
 * @category constructors
 */
export const finish = (completion: Completion): Finish => ({ _tag: "Finish", completion })
