/**
 * Deterministic answers: prompt extraction, default text, usage estimates and chunking.
 *
 * @internal
 */

const FILLER = [
  "lorem",
  "ipsum",
  "dolor",
  "sit",
  "amet",
  "consectetur",
  "adipiscing",
  "elit",
  "sed",
  "do",
  "eiusmod",
  "tempor",
  "incididunt",
  "ut",
  "labore"
]

/** @internal */
export const DEFAULT_WORDS = 12

/** @internal */
export interface Prompt {
  /** Every character of the prompt (system + all messages). */
  readonly chars: number
  /** The text of the last user message. */
  readonly lastUser: string
}

const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    let out = ""
    for (const part of content) {
      if (typeof part === "string") {
        out += part
      } else if (part !== null && typeof part === "object") {
        const text = (part as { text?: unknown }).text
        if (typeof text === "string") out += text
      }
    }
    return out
  }
  return ""
}

const fromMessages = (messages: unknown, extra: unknown): Prompt => {
  let chars = contentText(extra).length
  let lastUser = ""
  if (typeof messages === "string") {
    return { chars: chars + messages.length, lastUser: messages }
  }
  if (Array.isArray(messages)) {
    for (const message of messages) {
      if (message === null || typeof message !== "object") continue
      const text = contentText((message as { content?: unknown }).content)
      chars += text.length
      const role = (message as { role?: unknown }).role
      if (role === "user" || role === undefined) lastUser = text
    }
  }
  return { chars, lastUser }
}

/** The prompt of an OpenAI Responses body (`input` + `instructions`). @internal */
export const responsesPrompt = (body: Record<string, unknown>): Prompt => fromMessages(body.input, body.instructions)

/** The prompt of a Chat Completions body. @internal */
export const chatPrompt = (body: Record<string, unknown>): Prompt => fromMessages(body.messages, undefined)

/** The prompt of an Anthropic Messages body (`messages` + `system`). @internal */
export const anthropicPrompt = (body: Record<string, unknown>): Prompt => fromMessages(body.messages, body.system)

/** Estimated input tokens: one per four characters. @internal */
export const estimateTokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

/** Number of words in a text (the emulator's output token count). @internal */
export const countWords = (text: string): number => {
  let count = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c === 32 || c === 10 || c === 9 || c === 13
    if (!space && !inWord) count++
    inWord = !space
  }
  return count
}

/**
 * The default answer: "Echo: <first 40 chars of the last user message>" plus filler words up to
 * `DEFAULT_WORDS` words, capped at `maxTokens` words.
 *
 * @internal
 */
export const defaultText = (
  prompt: Prompt,
  maxTokens: number | undefined
): { readonly text: string; readonly truncated: boolean } => {
  const snippet = prompt.lastUser.slice(0, 40).trim()
  const words = ["Echo:"]
  if (snippet.length > 0) {
    for (const word of snippet.split(/\s+/)) words.push(word)
  }
  for (let i = 0; words.length < DEFAULT_WORDS; i++) words.push(FILLER[i % FILLER.length]!)
  if (maxTokens !== undefined && maxTokens > 0 && words.length > maxTokens) {
    return { text: words.slice(0, maxTokens).join(" "), truncated: true }
  }
  return { text: words.join(" "), truncated: false }
}

/**
 * Splits a text into about `n` chunks at word boundaries; the chunks concatenate to the text.
 *
 * @internal
 */
export const chunkText = (text: string, n: number): ReadonlyArray<string> => {
  if (text.length === 0) return []
  const pieces = text.match(/\s*\S+/g)
  if (pieces === null) return [text]
  const count = Math.max(1, Math.min(n, pieces.length))
  const per = Math.ceil(pieces.length / count)
  const chunks: Array<string> = []
  for (let i = 0; i < pieces.length; i += per) chunks.push(pieces.slice(i, i + per).join(""))
  // keep trailing whitespace, if any
  const joined = chunks.join("")
  if (joined.length < text.length) chunks[chunks.length - 1] += text.slice(joined.length)
  return chunks
}
