/**
 * Counting the tokens of a request before it is sent, for the policies that need it (budgets,
 * context-length handling, classifiers). Nothing counts unless such a policy asks.
 *
 * - OpenAI models: exact local counts with `gpt-tokenizer`'s `o200k_base` encoding (loaded lazily,
 *   on the first count), plus the per-message overhead OpenAI documents for chat formats: 3 tokens
 *   per message, the role's tokens, and 3 tokens priming the reply.
 * - Anthropic and other models: an estimate, `ceil(chars / 3.5 * 1.1)` per message plus 4 tokens
 *   of message overhead and 3 for the reply — a 10% safety margin over the ~3.5 characters per
 *   token of English text, so budgets reserve a little more rather than less.
 * - Exact counts from the provider (`count(..., { exact: true })`) when a `TokenCounter` for the
 *   provider is installed (`Tokenizer.layerWith({ counters })`); provider packages implement it over
 *   their count-tokens endpoints. If the endpoint fails, the local count is used.
 *
 * Images count as a flat 765 tokens (OpenAI, a 1024×1024 high-detail image) or 1,600 tokens
 * (Anthropic's cap for an image at the recommended size).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Tokenizer from "@effect-llm/core/Tokenizer"
 *
 * const program = Tokenizer.count(
 *   { messages: [{ role: "user", content: "How many tokens is this?" }] },
 *   { provider: "openai", model: "gpt-5-mini" }
 * ).pipe(Effect.provide(Tokenizer.layer))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { GenerateRequest, Message } from "./GenerateRequest.js"

/**
 * Which model the tokens are counted for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly provider: string
  readonly model: string
}

/**
 * A request, or just its messages.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = GenerateRequest | ReadonlyArray<Message>

/**
 * A provider's exact token count (its count-tokens endpoint). Provider packages implement this;
 * install it with `Tokenizer.layerWith({ counters: [...] })`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenCounter {
  /** The provider this counter serves (`openai`, `anthropic`, ...). */
  readonly provider: string
  readonly countTokens: (request: GenerateRequest, model: string) => Effect.Effect<number, unknown>
}

/**
 * Options of a count.
 *
 * @since 0.1.0
 * @category models
 */
export interface CountOptions {
  /** Ask the provider's count-tokens endpoint (when a `TokenCounter` is installed for it). */
  readonly exact?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The input tokens of a request (messages and their overhead) for `target`. */
  readonly count: (input: Input, target: Target, options?: CountOptions) => Effect.Effect<number>
  /** The tokens of a bare text for `target` (no message overhead). */
  readonly countText: (text: string, target: Target) => Effect.Effect<number>
  /**
   * `count` (not exact) as a plain function, when it can answer now: `undefined` when it cannot (an
   * encoder not loaded yet), and the caller uses `count`. Optional.
   */
  readonly countSync?: (input: Input, target: Target) => number | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Tokenizer extends Context.Tag("@effect-llm/core/Tokenizer")<Tokenizer, Service>() {}

type Encoder = (text: string) => number

let encoderPromise: Promise<Encoder> | undefined
let encoder: Encoder | undefined

/**
 * Counts of recent texts (prompts, system prompts and shared context repeat across calls; a lookup
 * is far cheaper than the byte-pair encoding even for a short text). Bounded by entries and by the
 * characters it holds; the oldest go first.
 */
const textCache = new Map<string, number>()
const cacheMaxEntries = 1_024
const cacheMaxChars = 4_000_000
let cachedChars = 0
const loadEncoder = (): Promise<Encoder> =>
  encoderPromise ??= import("gpt-tokenizer/encoding/o200k_base").then((module) => {
    const options = { disallowedSpecial: new Set<string>() }
    const roles = new Map<string, number>(
      ["system", "user", "assistant", "developer"].map((role) => [role, module.countTokens(role, options)])
    )
    const count: Encoder = (text) => {
      if (text.length === 0) return 0
      const role = roles.get(text)
      if (role !== undefined) return role
      const cached = textCache.get(text)
      if (cached !== undefined) return cached
      const n = module.countTokens(text, options)
      if (text.length > cacheMaxChars / 4) return n
      while (textCache.size >= cacheMaxEntries || cachedChars + text.length > cacheMaxChars) {
        const oldest = textCache.keys().next().value!
        textCache.delete(oldest)
        cachedChars -= oldest.length
      }
      textCache.set(text, n)
      cachedChars += text.length
      return n
    }
    encoder = count
    return count
  })

/** The o200k encoder, loaded once on first use. */
const withEncoder = <A>(f: (encode: Encoder) => A): Effect.Effect<A> =>
  encoder !== undefined ? Effect.sync(() => f(encoder!)) : Effect.map(Effect.promise(loadEncoder), f)

/**
 * Whether a target is counted with `o200k_base` (OpenAI's GPT-4o, GPT-4.1, GPT-5 and o-series models).
 *
 * @since 0.1.0
 * @category utils
 */
export const usesO200k = (target: Target): boolean =>
  target.provider === "openai" || /^(gpt-|o\d|chatgpt-)/.test(target.model)

/**
 * Characters per token assumed by the estimate for non-OpenAI models.
 *
 * @since 0.1.0
 * @category constants
 */
export const estimateCharsPerToken = 3.5

/**
 * The safety margin of the estimate (1.1 = 10% more tokens than the plain ratio).
 *
 * @since 0.1.0
 * @category constants
 */
export const estimateMargin = 1.1

/**
 * The estimate of a text's tokens for non-OpenAI models: `ceil(chars / 3.5 * 1.1)`.
 *
 * @since 0.1.0
 * @category utils
 */
export const estimateText = (text: string): number =>
  text.length === 0 ? 0 : Math.ceil((text.length * estimateMargin) / estimateCharsPerToken - 1e-9)

const messagesOf = (input: Input): ReadonlyArray<Message> =>
  Array.isArray(input) ? input as ReadonlyArray<Message> : (input as GenerateRequest).messages

const countMessages = (
  messages: ReadonlyArray<Message>,
  text: (s: string) => number,
  perMessage: number,
  image: number,
  roleTokens: boolean
): number => {
  let total = 3
  for (const message of messages) {
    total += perMessage + (roleTokens ? text(message.role) : 0)
    if (typeof message.content === "string") {
      total += text(message.content)
    } else {
      for (const part of message.content) total += part.type === "text" ? text(part.text) : image
    }
  }
  return total
}

/**
 * The local count of a request's input tokens (o200k for OpenAI models, the estimate otherwise),
 * synchronously, once the encoder is loaded; `undefined` when it is not loaded yet.
 *
 * @since 0.1.0
 * @category utils
 */
export const countLocalSync = (input: Input, target: Target): number | undefined => {
  const messages = messagesOf(input)
  if (!usesO200k(target)) return countMessages(messages, estimateText, 4, 1_600, false)
  if (encoder === undefined) return undefined
  return countMessages(messages, encoder, 3, 765, true)
}

const countLocal = (input: Input, target: Target): Effect.Effect<number> => {
  const messages = messagesOf(input)
  if (!usesO200k(target)) return Effect.succeed(countMessages(messages, estimateText, 4, 1_600, false))
  return withEncoder((encode) => countMessages(messages, encode, 3, 765, true))
}

const countText = (text: string, target: Target): Effect.Effect<number> =>
  usesO200k(target) ? withEncoder((encode) => encode(text)) : Effect.succeed(estimateText(text))

/**
 * Builds a tokenizer; `counters` give exact counts for their providers when asked.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: { readonly counters?: ReadonlyArray<TokenCounter> }): Service => {
  const counters = new Map<string, TokenCounter>()
  for (const counter of options?.counters ?? []) counters.set(counter.provider, counter)
  return {
    count: (input, target, countOptions) => {
      const counter = countOptions?.exact ? counters.get(target.provider) : undefined
      if (counter === undefined) return countLocal(input, target)
      const request: GenerateRequest = Array.isArray(input)
        ? { messages: input as ReadonlyArray<Message> }
        : input as GenerateRequest
      return counter.countTokens(request, target.model).pipe(
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logDebug("Tokenizer: exact count failed, using the local count", cause),
            countLocal(input, target)
          )
        )
      )
    },
    countText,
    countSync: countLocalSync
  }
}

/**
 * The default tokenizer: local counts only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Tokenizer> = Layer.succeed(Tokenizer, make())

/**
 * A tokenizer with exact counters for some providers.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: { readonly counters: ReadonlyArray<TokenCounter> }): Layer.Layer<Tokenizer> =>
  Layer.succeed(Tokenizer, make(options))

/**
 * Counts a request's input tokens with the tokenizer in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const count = (input: Input, target: Target, options?: CountOptions): Effect.Effect<number, never, Tokenizer> =>
  Effect.flatMap(Tokenizer, (tokenizer) => tokenizer.count(input, target, options))

/**
 * Loads the `o200k_base` encoding now (it is otherwise loaded on the first OpenAI count), e.g. at
 * startup so the first call does not pay for it.
 *
 * @since 0.1.0
 * @category utils
 */
export const preload: Effect.Effect<void> = Effect.asVoid(Effect.promise(loadEncoder))
