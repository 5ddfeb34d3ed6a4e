/**
 * The stacks `pnpm bench` measures on top of each provider's model layer, with their targets.
 */
import {
  Budget,
  BudgetStore,
  Cache,
  CacheStore,
  LanguageModel,
  ModelCatalog,
  Resilience,
  Tokenizer,
  UsageLedger
} from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import { Effect, Layer, type ManagedRuntime } from "effect"
import { opsPerCall } from "./footprint.js"
import { interleave, now, progress, type Result, times } from "./harness.js"

export interface Stack {
  readonly name: string
  /** Time and throughput targets against the raw SDK (absent: only `extra` runs). */
  readonly targets?: { readonly time: number; readonly throughput: number }
  readonly layer: (
    provider: Layer.Layer<LanguageModel.LanguageModel, unknown>
  ) => Layer.Layer<LanguageModel.LanguageModel, unknown>
  readonly extra?: (context: ExtraContext) => Promise<void>
}

export interface ExtraContext {
  readonly provider: string
  readonly model: LanguageModel.Service
  readonly runtime: ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, unknown>
  readonly base: LanguageModel.Service
  readonly raw: () => Promise<unknown>
  readonly record: (result: Result) => void
  readonly request: GenerateRequest
  readonly rounds: number
  readonly calls: number
}

const resilience = (provider: Layer.Layer<LanguageModel.LanguageModel, unknown>) =>
  Resilience.layer().pipe(Layer.provide(provider))

const costStores = Layer.mergeAll(
  BudgetStore.layerMemory,
  ModelCatalog.layer,
  Tokenizer.layer,
  UsageLedger.layerMemory()
)

export const stacks: ReadonlyArray<Stack> = [
  {
    name: "provider layer",
    targets: { time: 1.08, throughput: 0.92 },
    layer: (provider) => provider
  },
  {
    name: "resilience preset",
    targets: { time: 1.12, throughput: 0.88 },
    layer: resilience
  },
  {
    name: "preset + per-user budget + ledger",
    targets: { time: 1.15, throughput: 0.85 },
    layer: (provider) =>
      UsageLedger.layer().pipe(
        Layer.provide(Budget.layer({ perUser: [Budget.usd(1_000_000, Budget.daily())] })),
        Layer.provide(ModelCatalog.layerCost),
        Layer.provide(resilience(provider)),
        Layer.provide(costStores)
      )
  },
  {
    name: "memory cache",
    layer: (provider) => Cache.layer().pipe(Layer.provide(provider), Layer.provide(CacheStore.layerMemory()))
  }
]

/** The cache's two figures: a hit against a raw SDK call, and the miss path against the provider alone. */
export const cacheFigures = async (context: ExtraContext) => {
  const cacheable: GenerateRequest = { ...context.request, temperature: 0 }
  const hit = context.model.generate(cacheable)
  await context.runtime.runPromise(hit)
  const hits = await interleave(
    context.rounds,
    async () => {
      const start = now()
      for (let i = 0; i < context.calls; i++) await context.raw()
      return (now() - start) / context.calls
    },
    async () => {
      const start = now()
      await context.runtime.runPromise(times(hit, context.calls))
      return (now() - start) / context.calls
    }
  )
  const speedup = hits.a / hits.b
  progress(`${context.provider} cache hit: ${(hits.b * 1000).toFixed(1)} us vs raw ${(hits.a * 1000).toFixed(1)} us`)
  context.record({
    name: `${context.provider} memory cache hit speed-up over a raw SDK call (x)`,
    value: speedup,
    unit: "x",
    target: ">= 15",
    pass: speedup >= 15
  })

  let n = 0
  const unique = (): GenerateRequest => ({
    ...cacheable,
    messages: [{ role: "user", content: `${n++} ${context.request.messages[0]!.content as string}` }]
  })
  const misses = await interleave(
    context.rounds,
    async () => {
      const start = now()
      await context.runtime.runPromise(
        times(Effect.suspend(() => context.base.generate(unique())), context.calls)
      )
      return (now() - start) / context.calls
    },
    async () => {
      const start = now()
      await context.runtime.runPromise(
        times(Effect.suspend(() => context.model.generate(unique())), context.calls)
      )
      return (now() - start) / context.calls
    }
  )
  // counted, not timed: the Effect operations of a miss and of a hit (the provider call alone: its own row)
  const runtime = context.runtime as unknown as ManagedRuntime.ManagedRuntime<never, never>
  for (
    const [which, call] of [["miss", Effect.suspend(() => context.model.generate(unique()))], ["hit", hit]] as const
  ) {
    context.record({
      name: `${context.provider} memory cache ${which} Effect operations per call`,
      value: await opsPerCall(runtime, call, 200),
      unit: "ops",
      target: "reference",
      pass: true
    })
  }
  const overhead = misses.ratio - 1
  progress(`${context.provider} cache miss: ${misses.b.toFixed(3)} ms vs provider alone ${misses.a.toFixed(3)} ms`)
  context.record({
    name: `${context.provider} memory cache miss path, added time per call (share of a call)`,
    value: overhead,
    unit: "ratio",
    target: "<= 0.03",
    pass: overhead <= 0.03
  })
}
