/**
 * The provider-neutral description of one answer, rendered by each wire format.
 *
 * @internal
 */

/** @internal */
export interface Usage {
  /** All input tokens, including cached and cache-write tokens. */
  readonly input: number
  /** Output tokens, including reasoning tokens. */
  readonly output: number
  readonly cachedInput: number
  readonly cacheWrite: number
  readonly reasoning: number
}

/** @internal */
export type Finish = "stop" | "length" | "content-filter" | "refusal"

/** @internal */
export interface Answer {
  /** Response object id (`resp_...`, `chatcmpl-...`, `msg_...`). */
  readonly responseId: string
  /** The served (dated) model. */
  readonly model: string
  /** The full text (or refusal text when `finish` is "refusal"). */
  readonly text: string
  /** The stream's chunks (empty for JSON answers unless scripted). */
  readonly chunks: ReadonlyArray<string>
  readonly finish: Finish
  readonly usage: Usage
  /** Unix seconds. */
  readonly created: number
  /** Chat Completions: send a usage chunk at the end of the stream. */
  readonly includeUsage: boolean
  readonly maxTokens: number | undefined
}

/** How one wire format renders answers. @internal */
export interface Wire {
  readonly json: (answer: Answer) => unknown
  /** Everything before the first delta. */
  readonly streamStart: (answer: Answer) => string
  readonly streamDelta: (answer: Answer, text: string, index: number) => string
  /** Everything after the last delta (`deltas` = how many were sent). */
  readonly streamEnd: (answer: Answer, deltas: number) => string
  /** An in-stream error after `deltas` deltas. */
  readonly streamError: (answer: Answer, deltas: number) => string
  /** A line the SDK cannot decode. */
  readonly malformedEvent: string
}
