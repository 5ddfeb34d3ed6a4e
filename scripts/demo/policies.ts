/**
 * The demo's production patterns: resilience (a retry and a fallback, as they happen), cost control
 * (a multi-user workload with budgets, a cascade, a spend alert and a report), and the cache.
 */
import {
  AlertSink,
  Budget,
  BudgetStore,
  Cache,
  CacheStore,
  CallEvent,
  type Completion,
  GenerateRequest,
  LanguageModel,
  type LlmError,
  ModelCatalog,
  Resilience,
  Retry,
  SpendMonitor,
  Telemetry,
  Tiering,
  Tokenizer,
  UsageLedger
} from "@effect-llm/core"
import type { Emulator } from "@effect-llm/testing"
import { Effect, Layer } from "effect"
import { say, track } from "./report.js"

type Model = LanguageModel.With<LlmError.ProviderError>

const printEvents = CallEvent.listen((event) =>
  event._tag === "AttemptStarted" || event._tag === "FirstToken"
    ? Effect.void
    : say(`     · ${CallEvent.describe(event)}`)
)

const question = (content: string, user?: string): GenerateRequest.GenerateRequest => ({
  messages: [{ role: "system", content: "You are a concise support agent." }, { role: "user", content }],
  maxOutputTokens: 120,
  temperature: 0,
  ...(user !== undefined ? { user, feature: "support" } : {})
})

export const resilience = (primary: Model, backup: Model, emulator: Emulator.Service | undefined) =>
  Effect.gen(function*() {
    yield* say("\n4. Resilience: retries with backoff, then a fallback to the other provider")
    // traceCall: one span for the call, one child span per attempt (see `pnpm demo --trace`)
    const model = primary.pipe(
      Resilience.standard({
        fallback: [backup],
        retry: { ...Retry.standard, schedule: Retry.backoff({ base: "200 millis", cap: "1 second" }) }
      }),
      Telemetry.traceCall
    )
    if (emulator) {
      yield* say(`   The emulator answers ${primary.model} with a 429 (retry-after 300 ms), then a success:`)
      yield* emulator.script([{ _tag: "RateLimited", retryAfterMs: 300 }], { model: primary.model })
    }
    const first = yield* track("resilience: retry", model.generate(question("Where is my order?"))).pipe(printEvents)
    yield* say(`   -> answered by ${first.provider}/${first.model} after ${first.attempts.length} attempts`)
    if (emulator) {
      yield* say(`   Now ${primary.model} fails with 503 three times in a row:`)
      const outage: Emulator.Step = { _tag: "ServerError", status: 503 }
      yield* emulator.script([outage, outage, outage], { model: primary.model })
    }
    const second = yield* track("resilience: fallback", model.generate(question("Can I change my plan?"))).pipe(
      printEvents
    )
    yield* say(
      `   -> answered by ${second.provider}/${second.model}; trail: ${
        second.attempts.map((a) => `${a.provider}/${a.model} ${a.outcome}`).join(", ")
      }`
    )
  })

export const costControl = (openAi: (model: string) => Model) =>
  Effect.gen(function*() {
    yield* say("\n5. Cost control: per-user budgets, a small/large cascade, usage ledger and spend alerts")
    const alerts: Array<AlertSink.Alert> = []
    // Each tier enforces the same per-user budget (one store), so reservations are priced at the model
    // that is really called.
    const budget = Budget.enforce({ perUser: [Budget.usd(0.00025, Budget.daily())] })
    const small = openAi("gpt-5-nano").pipe(ModelCatalog.withCost(), budget)
    const large = openAi("gpt-5").pipe(ModelCatalog.withCost(), budget)
    // The check: answers that say they are unsure are rejected and the large model answers instead.
    const cascade = Tiering.cascade({ small, large, accept: (completion) => !completion.text.includes("unsure") })
    const ledger = UsageLedger.track({ savingsBaseline: { provider: "openai", model: "gpt-5" } })
    const model = cascade.pipe(ledger)
    // a batch job with no per-user budget, straight to the large model
    const batch = openAi("gpt-5").pipe(ModelCatalog.withCost(), ledger)
    const services = Layer.mergeAll(
      BudgetStore.layerMemory,
      ModelCatalog.layer,
      Tokenizer.layer,
      SpendMonitor.layerLedger.pipe(
        Layer.provideMerge(UsageLedger.layerMemory()),
        Layer.provideMerge(SpendMonitor.layer({ rate: { window: "1 minute", thresholdUsd: 0.002 } }))
      ),
      AlertSink.layer((alert) =>
        Effect.sync(() => alerts.push(alert)).pipe(Effect.zipRight(say(`     ! ALERT ${alert.kind}: ${alert.message}`)))
      )
    )
    const workload = [
      ["alice", "How do I add a teammate?"],
      ["bob", "I am unsure why my invoice is higher this month"],
      ["alice", "I am unsure how exports work, can you explain?"],
      ["carol", "How do I rotate my API key?"],
      ["bob", "I am unsure about the invoice line items"],
      ["carol", "Where do I find audit logs?"],
      ["bob", "I am unsure about the tax on the invoice"],
      ["alice", "How do I leave a workspace?"],
      ["bob", "One more invoice question"]
    ] as const
    yield* Effect.gen(function*() {
      let refused = 0
      for (const [user, text] of workload) {
        const result = yield* track(`cost: ${user}`, model.generate(question(text, user))).pipe(Effect.either)
        if (result._tag === "Right") {
          yield* say(`   ${user.padEnd(6)} ${result.right.tier ?? "-"} tier ${result.right.servedModel}`)
        } else if (result.left._tag === "BudgetExceeded") {
          refused++
          yield* say(`   ${user.padEnd(6)} refused: ${result.left.message}`)
        } else {
          yield* say(`   ${user.padEnd(6)} failed: ${result.left._tag}`)
        }
      }
      yield* say("   A batch job (user batch, 25 calls on the large model) trips the spend-rate alert, once:")
      for (let i = 0; i < 25; i++) {
        yield* track("cost: batch", batch.generate(question(`Bulk request ${i}`, "batch"))).pipe(Effect.ignore)
      }
      const ledger = yield* UsageLedger.UsageLedger
      const byUser = yield* ledger.totalsBy("user")
      const byModel = yield* ledger.totalsBy("model")
      const all = yield* ledger.totals()
      yield* say("   Spend by user:")
      for (const [user, t] of byUser) {
        yield* say(`     ${user.padEnd(8)} ${t.calls} calls  $${t.costUsd.toFixed(6)}  (${t.failures} refused/failed)`)
      }
      yield* say("   Spend by model:")
      for (const [name, t] of byModel) yield* say(`     ${name.padEnd(24)} ${t.calls} calls  $${t.costUsd.toFixed(6)}`)
      yield* say(
        `   The cascade cost $${all.costUsd.toFixed(6)} against $${all.baselineCostUsd.toFixed(6)} for always-large: ` +
          `saved $${all.savedUsd.toFixed(6)}. Budget refusals: ${refused}. Alerts: ${alerts.length}.`
      )
    }).pipe(Effect.provide(services))
  })

export const caching = (base: Model) =>
  Effect.gen(function*() {
    yield* say("\n6. Prompt caching: identical deterministic prompts are answered from memory")
    const model = base.pipe(ModelCatalog.withCost(), Cache.withCache({ ttl: "10 minutes" }))
    const prompts = ["What are your opening hours?", "How do I reset my password?", "What are your opening hours?"]
    let saved = 0
    let hits = 0
    yield* Effect.gen(function*() {
      for (let round = 0; round < 3; round++) {
        for (const prompt of prompts) {
          const completion: Completion.Completion = yield* track(`cache: ${prompt}`, model.generate(question(prompt)))
          if (completion.cache === "hit") {
            hits++
            saved += completion.costUsd ?? 0
          }
        }
      }
    }).pipe(Effect.provide(Layer.merge(CacheStore.layerMemory(), ModelCatalog.layer)))
    yield* say(`   ${hits} of ${prompts.length * 3} calls were cache hits, saving $${saved.toFixed(6)}`)
  })
