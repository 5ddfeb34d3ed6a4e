/**
 * The model catalog: prices, context windows and output limits of the models effect-llm knows,
 * as a service. Costs are exact to the catalog (cached input, cache writes and reasoning tokens
 * each at their own price); an unknown model is a typed `UnknownModel`, never a silent zero.
 *
 * The built-in catalog (`ModelCatalog.layer`) covers current OpenAI and Anthropic models with the
 * prices published on the providers' pricing pages (each entry records the date in `pricesAsOf`).
 * Extend or override it in code (`layerWith`) or from a JSON file (`fromJson`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as ModelCatalog from "@effect-llm/core/ModelCatalog"
 *
 * const program = Effect.gen(function*() {
 *   const catalog = yield* ModelCatalog.ModelCatalog
 *   const info = yield* catalog.lookup("openai", "gpt-5-mini-2025-08-07") // resolves the snapshot
 *   return catalog.cost(
 *     { inputTokens: 1200, cachedInputTokens: 1000, cacheWriteInputTokens: 0, outputTokens: 300, reasoningTokens: 0 },
 *     info
 *   )
 * }).pipe(Effect.provide(ModelCatalog.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Completion, Usage } from "./Completion.js"
import { mapFinish } from "./internal/each.js"
import { type Given, Known, withGiven } from "./internal/given.js"
import * as internalStream from "./internal/stream.js"
import * as LanguageModel from "./LanguageModel.js"
import * as StreamEvent from "./StreamEvent.js"

/**
 * Prices in USD per million tokens. `cacheWrite` defaults to `input` (OpenAI does not charge extra
 * for writing its cache); `reasoning` defaults to `output` (both providers bill reasoning as output).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Pricing = Schema.Struct({
  input: Schema.NonNegative,
  cachedInput: Schema.NonNegative,
  cacheWrite: Schema.optional(Schema.NonNegative),
  output: Schema.NonNegative,
  reasoning: Schema.optional(Schema.NonNegative)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Pricing = typeof Pricing.Type

/**
 * A calendar date `YYYY-MM-DD` (the day the prices were read from the provider's page).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CalendarDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, {
    message: () => "expected a calendar date YYYY-MM-DD"
  })
)

/**
 * What the catalog knows about one model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelInfo = Schema.Struct({
  provider: Schema.NonEmptyString,
  model: Schema.NonEmptyString,
  /** Other names of the same model (e.g. `claude-3-5-haiku-latest`). Dated snapshots resolve without aliases. */
  aliases: Schema.optional(Schema.Array(Schema.String)),
  /** USD per million tokens. */
  pricing: Pricing,
  contextWindow: Schema.Int.pipe(Schema.positive()),
  maxOutputTokens: Schema.Int.pipe(Schema.positive()),
  pricesAsOf: CalendarDate
})

/**
 * @since 0.1.0
 * @category models
 */
export type ModelInfo = typeof ModelInfo.Type

/**
 * The catalog has no entry for this provider and model. Not part of `LlmError`: it is a
 * configuration problem, surfaced where a price or a limit is needed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownModel extends Schema.TaggedError<UnknownModel>("@effect-llm/core/ModelCatalog/UnknownModel")(
  "UnknownModel",
  { provider: Schema.String, model: Schema.String }
) {
  override get message() {
    return `Unknown model ${this.provider}/${this.model}: add it to the ModelCatalog (ModelCatalog.layerWith or fromJson)`
  }
}

/**
 * A catalog file could not be read or decoded.
 *
 * @since 0.1.0
 * @category errors
 */
export class CatalogError extends Schema.TaggedError<CatalogError>("@effect-llm/core/ModelCatalog/CatalogError")(
  "CatalogError",
  { source: Schema.String, detail: Schema.String }
) {
  override get message() {
    return `Invalid model catalog ${this.source}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every entry, in catalog order. */
  readonly entries: ReadonlyArray<ModelInfo>
  /** Finds a model by name, alias or dated snapshot (`gpt-5-mini-2025-08-07`, `claude-sonnet-4-5-20250929`). */
  readonly find: (provider: string, model: string) => Option.Option<ModelInfo>
  /** `find`, failing with `UnknownModel`. */
  readonly lookup: (provider: string, model: string) => Effect.Effect<ModelInfo, UnknownModel>
  /** The cost in USD of `usage` at `info`'s prices. */
  readonly cost: (usage: Usage, info: ModelInfo) => number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ModelCatalog extends Context.Tag("@effect-llm/core/ModelCatalog")<ModelCatalog, Service>() {}

/**
 * The exact cost in USD of a call's usage at a model's prices: uncached input (input minus cached
 * minus cache-write) at the input price, cached input at the cached price, cache writes at the
 * cache-write price, reasoning at the reasoning price and the rest of the output at the output price.
 *
 * @since 0.1.0
 * @category pricing
 */
export const cost: {
  (info: ModelInfo): (usage: Usage) => number
  (usage: Usage, info: ModelInfo): number
} = dual(2, (usage: Usage, info: ModelInfo): number => {
  const p = info.pricing
  const uncached = Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteInputTokens)
  const reasoning = p.reasoning === undefined ? 0 : Math.min(usage.reasoningTokens, usage.outputTokens)
  const micro = uncached * p.input +
    usage.cachedInputTokens * p.cachedInput +
    usage.cacheWriteInputTokens * (p.cacheWrite ?? p.input) +
    (usage.outputTokens - reasoning) * p.output +
    reasoning * (p.reasoning ?? p.output)
  return micro / 1_000_000
})

/**
 * The worst-case cost of a call before it is made: `inputTokens` all uncached (or cache writes,
 * whichever is dearer) plus `outputTokens` at the dearer of the output and reasoning prices.
 *
 * @since 0.1.0
 * @category pricing
 */
export const worstCaseCost = (info: ModelInfo, inputTokens: number, outputTokens: number): number => {
  const p = info.pricing
  const inPrice = Math.max(p.input, p.cacheWrite ?? p.input)
  const outPrice = Math.max(p.output, p.reasoning ?? p.output)
  return (inputTokens * inPrice + outputTokens * outPrice) / 1_000_000
}

const datedSuffix = /-(\d{4}-\d{2}-\d{2}|\d{8})$/

const keyOf = (provider: string, model: string) => `${provider.toLowerCase()}\u0000${model.toLowerCase()}`

/** How many spellings of provider and model names a catalog remembers its answer for. */
const rememberedNames = 1024

/**
 * Builds a catalog from entries; a later entry for the same provider and model (or alias) replaces
 * an earlier one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (entries: Iterable<ModelInfo>): Service => {
  const byModel = new Map<string, ModelInfo>()
  for (const info of entries) {
    byModel.set(keyOf(info.provider, info.model), info)
    for (const alias of info.aliases ?? []) byModel.set(keyOf(info.provider, alias), info)
  }
  const ordered = Array.from(new Set(byModel.values()))
  const search = (provider: string, model: string): Option.Option<ModelInfo> => {
    const exact = byModel.get(keyOf(provider, model))
    if (exact !== undefined) return Option.some(exact)
    const undated = model.replace(datedSuffix, "")
    if (undated !== model) return Option.fromNullable(byModel.get(keyOf(provider, undated)))
    return Option.none()
  }
  // the answers for the names as callers spell them (a budgeted call looks its model up three
  // times): no lower-casing and no key building on the hot path; at most `rememberedNames` names
  const found = new Map<string, Map<string, Option.Option<ModelInfo>>>()
  let remembered = 0
  const find = (provider: string, model: string): Option.Option<ModelInfo> => {
    let models = found.get(provider)
    const known = models?.get(model)
    if (known !== undefined) return known
    const answer = search(provider, model)
    if (remembered < rememberedNames) {
      if (models === undefined) found.set(provider, models = new Map())
      models.set(model, answer)
      remembered++
    }
    return answer
  }
  return {
    entries: ordered,
    find,
    lookup: (provider, model) => {
      const found = find(provider, model)
      return Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new UnknownModel({ provider, model }))
    },
    cost: (usage, info) => cost(usage, info)
  }
}

const openai = (
  model: string,
  input: number,
  cachedInput: number,
  output: number,
  contextWindow: number,
  maxOutputTokens: number,
  aliases?: ReadonlyArray<string>
): ModelInfo => ({
  provider: "openai",
  model,
  ...(aliases ? { aliases } : {}),
  pricing: { input, cachedInput, output },
  contextWindow,
  maxOutputTokens,
  pricesAsOf: "2025-10-01"
})

const anthropic = (
  model: string,
  input: number,
  output: number,
  maxOutputTokens: number,
  aliases?: ReadonlyArray<string>
): ModelInfo => ({
  provider: "anthropic",
  model,
  ...(aliases ? { aliases } : {}),
  // Anthropic: cache hits at 0.1x input, 5-minute cache writes at 1.25x input.
  pricing: { input, cachedInput: round(input * 0.1), cacheWrite: round(input * 1.25), output },
  contextWindow: 200_000,
  maxOutputTokens,
  pricesAsOf: "2026-11-27"
})

const round = (n: number) => Math.round(n * 1e6) / 1e6

/**
 * The built-in entries. OpenAI prices from platform.openai.com/docs/pricing (standard tier);
 * Anthropic prices from platform.claude.com/docs/en/about-claude/pricing (5-minute cache writes;
 * Sonnet's long-context premium above 200k input tokens is not modelled).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtIn: ReadonlyArray<ModelInfo> = [
  openai("gpt-5", 1.25, 0.125, 10, 400_000, 128_000),
  openai("gpt-5-mini", 0.25, 0.025, 2, 400_000, 128_000),
  openai("gpt-5-nano", 0.05, 0.005, 0.4, 400_000, 128_000),
  openai("gpt-4.1", 2, 0.5, 8, 1_047_576, 32_768),
  openai("gpt-4.1-mini", 0.4, 0.1, 1.6, 1_047_576, 32_768),
  openai("gpt-4.1-nano", 0.1, 0.025, 0.4, 1_047_576, 32_768),
  openai("gpt-4o", 2.5, 1.25, 10, 128_000, 16_384),
  openai("gpt-4o-mini", 0.15, 0.075, 0.6, 128_000, 16_384),
  openai("o3", 2, 0.5, 8, 200_000, 100_000),
  openai("o4-mini", 1.1, 0.275, 4.4, 200_000, 100_000),
  anthropic("claude-opus-4-5", 5, 25, 64_000, ["claude-opus-4-5-latest"]),
  anthropic("claude-opus-4-1", 15, 75, 32_000, ["claude-opus-4-1-latest"]),
  anthropic("claude-opus-4-0", 15, 75, 32_000, ["claude-opus-4", "claude-opus-4-latest"]),
  anthropic("claude-sonnet-4-5", 3, 15, 64_000, ["claude-sonnet-4-5-latest"]),
  anthropic("claude-sonnet-4-0", 3, 15, 64_000, ["claude-sonnet-4", "claude-sonnet-4-latest"]),
  anthropic("claude-haiku-4-5", 1, 5, 64_000, ["claude-haiku-4-5-latest"]),
  anthropic("claude-3-5-haiku", 0.8, 4, 8_192, ["claude-3-5-haiku-latest"])
]

/**
 * The built-in catalog as a service value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultCatalog: Service = make(builtIn)

/**
 * The built-in catalog.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ModelCatalog> = Layer.succeed(ModelCatalog, defaultCatalog)

/**
 * The built-in catalog extended (or overridden, entry by entry) with `entries`. With
 * `{ replace: true }` the built-in entries are left out.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (
  entries: Iterable<ModelInfo>,
  options?: { readonly replace?: boolean }
): Layer.Layer<ModelCatalog> => Layer.succeed(ModelCatalog, make(options?.replace ? entries : [...builtIn, ...entries]))

const CatalogFile = Schema.Union(
  Schema.Array(ModelInfo),
  Schema.Struct({ models: Schema.Array(ModelInfo) })
)

/**
 * Decodes catalog entries from JSON text: an array of `ModelInfo`, or `{ "models": [...] }`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = (text: string, source = "<json>"): Effect.Effect<ReadonlyArray<ModelInfo>, CatalogError> =>
  Schema.decodeUnknown(Schema.parseJson(CatalogFile))(text).pipe(
    Effect.map((file) => ("models" in file ? file.models : file)),
    Effect.mapError((error) => new CatalogError({ source, detail: ParseResult.TreeFormatter.formatErrorSync(error) }))
  )

/**
 * A catalog read from a JSON file (see `decodeJson`), extending the built-in one unless
 * `{ replace: true }`. A missing file or an entry that does not decode fails the layer with
 * `CatalogError`. Needs a `FileSystem` (`@effect/platform`; e.g. `NodeFileSystem.layer`).
 *
 * @since 0.1.0
 * @category layers
 */
export const fromJson = (
  path: string,
  options?: { readonly replace?: boolean }
): Layer.Layer<ModelCatalog, CatalogError, FileSystem.FileSystem> =>
  Layer.effect(
    ModelCatalog,
    Effect.gen(function*() {
      // loaded on use, so that @effect/platform (an optional peer) is needed only by fromJson
      const { FileSystem: Tag } = yield* Effect.promise(() => import("@effect/platform/FileSystem"))
      const fs = yield* Tag
      const text = yield* fs.readFileString(path).pipe(
        Effect.mapError((error) => new CatalogError({ source: path, detail: error.message }))
      )
      const entries = yield* decodeJson(text, path)
      return make(options?.replace ? entries : [...builtIn, ...entries])
    })
  )

/**
 * Looks a model up in the catalog in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const lookup = (provider: string, model: string): Effect.Effect<ModelInfo, UnknownModel, ModelCatalog> =>
  Effect.flatMap(ModelCatalog, (catalog) => catalog.lookup(provider, model))

/**
 * Finds the entry that prices a completion: the served model first (a dated snapshot resolves to
 * its base), then the model asked for.
 *
 * @since 0.1.0
 * @category pricing
 */
export const findFor = (catalog: Service, completion: Completion): Option.Option<ModelInfo> =>
  Option.orElse(
    catalog.find(completion.provider, completion.servedModel),
    () => catalog.find(completion.provider, completion.model)
  )

/**
 * The cost in USD of `usage` on `provider`/`model`, from the catalog in context.
 *
 * @since 0.1.0
 * @category pricing
 */
export const costOf = (
  provider: string,
  model: string,
  usage: Usage
): Effect.Effect<number, UnknownModel, ModelCatalog> =>
  Effect.flatMap(ModelCatalog, (catalog) => Effect.map(catalog.lookup(provider, model), (info) => cost(usage, info)))

/**
 * The cost in USD of a completion, from the catalog in context.
 *
 * @since 0.1.0
 * @category pricing
 */
export const completionCost = (completion: Completion): Effect.Effect<number, UnknownModel, ModelCatalog> =>
  Effect.flatMap(ModelCatalog, (catalog) => {
    const info = findFor(catalog, completion)
    return Option.isSome(info)
      ? Effect.succeed(cost(completion.usage, info.value))
      : Effect.fail(new UnknownModel({ provider: completion.provider, model: completion.servedModel }))
  })

/**
 * What `withCost` does when the catalog does not know the model: `omit` leaves `costUsd` unset
 * (and logs a warning once per model), `fail` fails the call with `UnknownModel`.
 *
 * @since 0.1.0
 * @category models
 */
export type OnUnknown = "omit" | "fail"

/**
 * Options of `withCost`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CostOptions<O extends OnUnknown = OnUnknown> {
  readonly onUnknown?: O
}

const warned = new Set<string>()

const priceWith = (catalog: Service, completion: Completion): Completion | undefined => {
  const info = findFor(catalog, completion)
  if (Option.isNone(info)) return undefined
  return { ...completion, costUsd: cost(completion.usage, info.value) }
}

const unpriced = (completion: Completion, onUnknown: OnUnknown): Effect.Effect<Completion, UnknownModel> => {
  if (onUnknown === "fail") {
    return Effect.fail(new UnknownModel({ provider: completion.provider, model: completion.servedModel }))
  }
  const key = keyOf(completion.provider, completion.servedModel)
  if (warned.has(key)) return Effect.succeed(completion)
  warned.add(key)
  return Effect.as(
    Effect.logWarning(
      `ModelCatalog: no price for ${completion.provider}/${completion.servedModel}; costUsd left unset`
    ),
    completion
  )
}

const applyCost = <E, R, RC>(
  self: LanguageModel.With<E, R>,
  onUnknown: OnUnknown,
  /** The catalog: from the context (`withCost`), or the one the layer was built with. */
  catalogOf: Given<Service, RC>
): LanguageModel.With<E | UnknownModel, R | RC> => {
  const price = (catalog: Service, completion: Completion): Effect.Effect<Completion, UnknownModel> => {
    const priced = priceWith(catalog, completion)
    return priced === undefined ? unpriced(completion, onUnknown) : Effect.succeed(priced)
  }
  return LanguageModel.transform(self, {
    keepsDeadlines: true,
    generate: (generate) => (request) =>
      Effect.flatMap(generate(request), (completion) => withGiven(catalogOf, (catalog) => price(catalog, completion))),
    streamEach: (streamEach) => (request, onEvent) =>
      withGiven(
        catalogOf,
        (catalog) =>
          mapFinish((onEvent) => streamEach(request, onEvent), onEvent, (completion) => price(catalog, completion))
      ),
    stream: (stream) => (request) =>
      internalStream.unwrap(withGiven(catalogOf, (catalog) =>
        Effect.succeed(
          // one step per chunk; an effect per event only in the chunk that holds the `Finish`
          Stream.mapChunksEffect(
            stream(request),
            (chunk): Effect.Effect<Chunk.Chunk<StreamEvent.StreamEvent>, UnknownModel> => {
              if (!Chunk.some(chunk, (event) => event._tag === "Finish")) return Effect.succeed(chunk)
              return Effect.map(
                Effect.forEach(chunk, (event): Effect.Effect<StreamEvent.StreamEvent, UnknownModel> => {
                  if (event._tag !== "Finish") return Effect.succeed(event)
                  return Effect.map(price(catalog, event.completion), StreamEvent.finish)
                }),
                Chunk.unsafeFromArray
              )
            }
          )
        )))
  })
}

/**
 * Fills `Completion.costUsd` (and the `Finish` completion of streams) from the catalog in context.
 * With `{ onUnknown: "fail" }` an unpriced model fails the call with `UnknownModel` (added to `E`);
 * by default the cost is left unset — never zero.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withCost: {
  (
    options: CostOptions<"fail">
  ): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E | UnknownModel, R | ModelCatalog>
  (options?: CostOptions<"omit">): <E, R>(self: LanguageModel.With<E, R>) => LanguageModel.With<E, R | ModelCatalog>
  <E, R>(
    self: LanguageModel.With<E, R>,
    options: CostOptions<"fail">
  ): LanguageModel.With<E | UnknownModel, R | ModelCatalog>
  <E, R>(self: LanguageModel.With<E, R>, options?: CostOptions<"omit">): LanguageModel.With<E, R | ModelCatalog>
} = dual(
  (args) => LanguageModel.isLanguageModel(args[0]),
  <E, R>(self: LanguageModel.With<E, R>, options?: CostOptions) =>
    applyCost(self, options?.onUnknown ?? "omit", ModelCatalog)
)

/**
 * `withCost` (unknown models left unpriced) for code that works through the `LanguageModel` tag:
 * wraps the model below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCost: Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | ModelCatalog> =
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const catalog = yield* ModelCatalog
      const model = yield* LanguageModel.LanguageModel
      // unknown models are left unpriced ("omit"): no `UnknownModel`
      return applyCost(model, "omit", new Known(catalog)) as LanguageModel.Service
    })
  )
