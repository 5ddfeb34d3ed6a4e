/**
 * The demo session: a small support desk that answers questions with two providers, streams an
 * answer, triages an email into a typed object, and reports every call.
 */
import { type Completion, LanguageModel, type LlmError } from "@effect-llm/core"
import type { Emulator } from "@effect-llm/testing"
import { Effect, Schema } from "effect"
import { caching, costControl, resilience } from "./policies.js"
import { say, table, track } from "./report.js"

export interface DemoContext {
  readonly live: boolean
  readonly trace: boolean
  readonly emulator: Emulator.Service | undefined
  readonly openAi: LanguageModel.With<LlmError.ProviderError> | undefined
  readonly anthropic: LanguageModel.With<LlmError.ProviderError> | undefined
  /** Another OpenAI model on the same client (for the cascade), when OpenAI is available. */
  readonly openAiModel: ((model: string) => LanguageModel.With<LlmError.ProviderError>) | undefined
}

const questions = [
  "How do I reset my password?",
  "Can I export my invoices as CSV?",
  "Why was my card declined?",
  "Do you support single sign-on?"
]

const Ticket = Schema.Struct({
  category: Schema.Literal("billing", "bug", "question"),
  urgency: Schema.Number.pipe(Schema.between(1, 5)),
  summary: Schema.String
})

const ask = (question: string) => ({
  messages: [
    { role: "system" as const, content: "You are a concise support agent." },
    { role: "user" as const, content: question }
  ],
  maxOutputTokens: 120,
  temperature: 0
})

export const runSession = (context: DemoContext) =>
  Effect.gen(function*() {
    const models = [context.openAi, context.anthropic].filter((m) => m !== undefined)

    yield* say("\n1. Answering support questions with both providers")
    for (const [i, question] of questions.entries()) {
      const model = models[i % models.length]!
      const completion: Completion.Completion = yield* track(`q${i + 1}: ${question}`, model.generate(ask(question)))
      yield* say(`   [${model.provider}] ${question}\n     -> ${completion.text.slice(0, 100)}`)
    }

    yield* say("\n2. Streaming an answer as it arrives (streamEach: each event to a callback, no Stream)")
    const streamer = models[models.length - 1]!
    yield* Effect.sync(() => process.stdout.write("   "))
    yield* track(
      "stream: release notes",
      streamer.streamEach(
        ask("Write two sentences of release notes for a faster search."),
        (event) => event._tag === "TextDelta" ? Effect.sync(() => process.stdout.write(event.text)) : Effect.void
      )
    )
    yield* say("")

    yield* say("\n3. Triaging an email into a typed object (generateObject)")
    if (context.emulator) {
      yield* context.emulator.script([{
        _tag: "Reply",
        text: JSON.stringify({ category: "billing", urgency: 4, summary: "Card declined twice at checkout" })
      }])
    }
    const triage = yield* LanguageModel.generateObjectWith(models[0]!, {
      messages: [{ role: "user", content: "My card was declined twice at checkout, please help!" }],
      schema: Ticket,
      repair: true
    }).pipe(Effect.either)
    if (triage._tag === "Right") {
      yield* say(`   ${JSON.stringify(triage.right.value)}`)
    } else {
      yield* say(`   typed failure: ${triage.left._tag}: ${triage.left.message}`)
    }

    if (context.openAi && context.anthropic) yield* resilience(context.openAi, context.anthropic, context.emulator)
    if (context.openAiModel) yield* costControl(context.openAiModel)
    yield* caching(models[0]!)

    yield* say("\nCalls")
    yield* say(table())
  })
