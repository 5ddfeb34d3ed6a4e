/**
 * The `LanguageModel` service: one facade over every provider.
 *
 * A model is a value, `LanguageModel.With<E, R>`, whose error type `E` and requirements `R` travel
 * with it, as `HttpClient.With` does in `@effect/platform`. Policies are functions from one such
 * value to another with precise types (a retry keeps `E`, a budget adds `BudgetExceeded`, a
 * context-length handler removes `ContextLengthExceeded`). The `LanguageModel` tag holds the
 * general `With<LlmError>` for code that does not care which provider answers.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 *
 * const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
 *
 * const program = Effect.gen(function*() {
 *   const hello = yield* LanguageModel.generate({ messages: [{ role: "user", content: "Say hello" }] })
 *   const person = yield* LanguageModel.generateObject({
 *     messages: [{ role: "user", content: "Invent a person" }],
 *     schema: Person
 *   })
 *   return [hello.text, person.value.name]
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Completion } from "./Completion.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import * as internalStream from "./internal/stream.js"
import { MalformedOutput } from "./LlmError.js"
import type { LlmError } from "./LlmError.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-llm/core/LanguageModel")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A model whose calls fail with `E` and require `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface With<out E, out R = never> extends Pipeable {
  readonly [TypeId]: TypeId
  /** The provider's name as in `gen_ai.provider.name` (`openai`, `anthropic`, ...). */
  readonly provider: string
  /** The model asked for when the request does not name one. */
  readonly model: string
  readonly generate: (request: GenerateRequest) => Effect.Effect<Completion, E, R>
  readonly stream: (request: GenerateRequest) => Stream.Stream<StreamEvent, E, R>
  /**
   * The same streamed call as `stream` without an Effect `Stream`: `onEvent` runs for each event as
   * it arrives (the events of one network read in turn; while it runs, the provider adapters read
   * ahead one event at most), and the call succeeds with the `Completion` of its `Finish`. Policies and adapters that implement it
   * run no `Stream` at all; running a `Stream` costs a fixed few hundred microseconds of CPU (see
   * the README's "Overhead, measured"). The semantics are `stream`'s: retries and fallbacks only
   * before the first event, `StreamInterrupted` with the partial text after it.
   */
  readonly streamEach: (request: GenerateRequest, onEvent: OnEvent) => Effect.Effect<Completion, E, R>
  /**
   * The model enforces the deadlines of `Timeout` itself (`ProviderCall.deadlinesIn`), with one
   * native timer per call that aborts its HTTP request. The provider adapters set this; a policy
   * keeps it when it adds no wait of its own that ignores the deadlines (see `transform`). When it
   * is not set, `Timeout` enforces its deadlines by running the call in a fiber of its own.
   */
  readonly enforcesDeadlines?: boolean | undefined
}

/**
 * What `streamEach` runs for each event of a streamed call.
 *
 * @since 0.1.0
 * @category models
 */
export type OnEvent = (event: StreamEvent) => Effect.Effect<void>

/**
 * The general model: any provider, any policy, every error of the taxonomy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends With<LlmError> {}

/**
 * The error type of a model.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Error<M> = M extends With<infer E, infer _R> ? E : never

/**
 * The requirements of a model's calls.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Requirements<M> = M extends With<infer _E, infer R> ? R : never

/**
 * @since 0.1.0
 * @category tags
 */
export class LanguageModel extends Context.Tag("@effect-llm/core/LanguageModel")<LanguageModel, Service>() {}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Builds a model from its two operations.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E, R>(options: {
  readonly provider: string
  readonly model: string
  readonly generate: (request: GenerateRequest) => Effect.Effect<Completion, E, R>
  readonly stream: (request: GenerateRequest) => Stream.Stream<StreamEvent, E, R>
  /** Default: runs `stream` (see {@link runEach}). */
  readonly streamEach?: ((request: GenerateRequest, onEvent: OnEvent) => Effect.Effect<Completion, E, R>) | undefined
  readonly enforcesDeadlines?: boolean | undefined
}): With<E, R> => {
  const self = Object.create(Proto)
  self.provider = options.provider
  self.model = options.model
  self.generate = options.generate
  self.stream = options.stream
  const stream = options.stream
  self.streamEach = options.streamEach ??
    ((request: GenerateRequest, onEvent: OnEvent) => runEach(stream(request), onEvent))
  if (options.enforcesDeadlines === true) self.enforcesDeadlines = true
  return self
}

/**
 * Whether a value is a model.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLanguageModel = (u: unknown): u is With<unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * How a policy rewrites a model's two operations (see {@link transform}).
 *
 * @since 0.1.0
 * @category models
 */
export interface Transformation<E, R, E2, R2> {
  readonly generate: (
    generate: (request: GenerateRequest) => Effect.Effect<Completion, E, R>
  ) => (request: GenerateRequest) => Effect.Effect<Completion, E2, R2>
  readonly stream: (
    stream: (request: GenerateRequest) => Stream.Stream<StreamEvent, E, R>
  ) => (request: GenerateRequest) => Stream.Stream<StreamEvent, E2, R2>
  /**
   * The policy's `streamEach`. When absent, the model's `streamEach` runs the policy's `stream`
   * (correct, at the price of an Effect `Stream` run).
   */
  readonly streamEach?:
    | ((
      streamEach: (request: GenerateRequest, onEvent: OnEvent) => Effect.Effect<Completion, E, R>
    ) => (request: GenerateRequest, onEvent: OnEvent) => Effect.Effect<Completion, E2, R2>)
    | undefined
  /**
   * The policy adds no wait that ignores `ProviderCall.deadlinesIn` (its waits, if any, end at the
   * deadline) and hands the request down as it got it or as a spread copy (which keeps the
   * deadlines it carries), so a model that enforces the deadlines still does once wrapped. Default
   * `false`.
   */
  readonly keepsDeadlines?: boolean | undefined
}

/**
 * Rewrites both operations of a model at once: the building block of every policy.
 *
 * @since 0.1.0
 * @category combinators
 */
export const transform: {
  <E, R, E2, R2>(f: Transformation<E, R, E2, R2>): (self: With<E, R>) => With<E2, R2>
  <E, R, E2, R2>(self: With<E, R>, f: Transformation<E, R, E2, R2>): With<E2, R2>
} = dual(2, <E, R, E2, R2>(self: With<E, R>, f: Transformation<E, R, E2, R2>): With<E2, R2> =>
  make({
    provider: self.provider,
    model: self.model,
    generate: f.generate(self.generate),
    stream: f.stream(self.stream),
    streamEach: f.streamEach?.(self.streamEach),
    enforcesDeadlines: self.enforcesDeadlines === true && f.keepsDeadlines === true
  }))

/**
 * Provides the requirements of a model's calls once, so its calls require nothing.
 *
 * @since 0.1.0
 * @category combinators
 */
export const provideContext: {
  <R>(context: Context.Context<R>): <E>(self: With<E, R>) => With<E>
  <E, R>(self: With<E, R>, context: Context.Context<R>): With<E>
} = dual(2, <E, R>(self: With<E, R>, context: Context.Context<R>): With<E> =>
  // nothing to provide (a model whose calls require nothing): the same model, no work per call
  context.unsafeMap.size === 0 ? self as With<E> : make({
    provider: self.provider,
    model: self.model,
    generate: (request) => Effect.provide(self.generate(request), context),
    // over the caller's context, as `Effect.provide` does for `generate`
    stream: (request) => internalStream.provideSomeContext(self.stream(request), context),
    streamEach: (request, onEvent) => Effect.provide(self.streamEach(request, onEvent), context),
    enforcesDeadlines: self.enforcesDeadlines
  }))

/**
 * The layer that serves a model under the `LanguageModel` tag. The model's requirements are taken
 * from the layer's context once, when the layer is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E extends LlmError, R>(model: With<E, R>): Layer.Layer<LanguageModel, never, R> =>
  Layer.effect(
    LanguageModel,
    Effect.map(Effect.context<R>(), (context): Service => provideContext(model, context))
  )

/**
 * Calls the `LanguageModel` in context for one completion.
 *
 * @since 0.1.0
 * @category accessors
 */
export const generate = (request: GenerateRequest): Effect.Effect<Completion, LlmError, LanguageModel> =>
  Effect.flatMap(LanguageModel, (model) => model.generate(request))

/**
 * Streams a completion from the `LanguageModel` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stream = (request: GenerateRequest): Stream.Stream<StreamEvent, LlmError, LanguageModel> =>
  internalStream.unwrap(Effect.map(LanguageModel, (model) => model.stream(request)))

/**
 * Streams a completion from the `LanguageModel` in context without an Effect `Stream`: `onEvent`
 * runs for each event, and the call succeeds with the completion (see `With.streamEach`).
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { LanguageModel } from "@effect-llm/core"
 *
 * const program = LanguageModel.streamEach(
 *   { messages: [{ role: "user", content: "Tell me a story" }] },
 *   (event) => event._tag === "TextDelta" ? Console.log(event.text) : Effect.void
 * ).pipe(Effect.map((completion) => completion.usage))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const streamEach = (
  request: GenerateRequest,
  onEvent: OnEvent
): Effect.Effect<Completion, LlmError, LanguageModel> =>
  Effect.flatMap(LanguageModel, (model) => model.streamEach(request, onEvent))

/**
 * Runs a model's event stream as `streamEach` does: `onEvent` for each event, then the completion
 * of its `Finish`. A stream that ends without a `Finish` is a defect of the model that made it.
 *
 * @since 0.1.0
 * @category utils
 */
export const runEach = <E, R>(
  stream: Stream.Stream<StreamEvent, E, R>,
  onEvent: OnEvent
): Effect.Effect<Completion, E, R> =>
  Effect.suspend(() => {
    let completion: Completion | undefined
    return Effect.flatMap(
      Stream.runForEach(stream, (event) => {
        if (event._tag === "Finish") completion = event.completion
        return onEvent(event)
      }),
      () =>
        completion === undefined
          ? Effect.dieMessage("the stream ended without a Finish event")
          : Effect.succeed(completion)
    )
  })

/**
 * Options of `generateObject`: the request plus the schema of the answer.
 *
 * @since 0.1.0
 * @category models
 */
export type GenerateObjectOptions<A, I, RS> = Omit<GenerateRequest, "responseFormat"> & {
  readonly schema: Schema.Schema<A, I, RS>
  /** The name given to the schema in the provider's structured-output request. */
  readonly schemaName?: string
  /**
   * When the answer does not decode, ask the model once more, showing it its answer and the
   * decode error. Defaults to `false`.
   */
  readonly repair?: boolean
}

/**
 * A decoded object and the completion it came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectResult<A> {
  readonly value: A
  readonly completion: Completion
}

const stripFences = (text: string): string => {
  const trimmed = text.trim()
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(trimmed)
  return fenced ? fenced[1]! : trimmed
}

const decodeObject = <A, I, RS>(schema: Schema.Schema<A, I, RS>, completion: Completion) => {
  const decode = Schema.decodeUnknown(Schema.parseJson(schema))
  return decode(stripFences(completion.text)).pipe(
    Effect.mapError((error) =>
      new MalformedOutput({
        provider: completion.provider,
        model: completion.model,
        ...(completion.requestId !== undefined ? { requestId: completion.requestId } : {}),
        raw: completion.text,
        issue: ParseResult.TreeFormatter.formatErrorSync(error)
      })
    )
  )
}

/**
 * Asks a model for JSON matching `schema` and decodes the answer. An answer that does not decode
 * fails with `MalformedOutput` carrying the raw text (after one repair attempt when `repair` is on).
 *
 * @since 0.1.0
 * @category combinators
 */
export const generateObjectWith: {
  <A, I, RS>(
    options: GenerateObjectOptions<A, I, RS>
  ): <E, R>(self: With<E, R>) => Effect.Effect<ObjectResult<A>, E | MalformedOutput, R | RS>
  <E, R, A, I, RS>(
    self: With<E, R>,
    options: GenerateObjectOptions<A, I, RS>
  ): Effect.Effect<ObjectResult<A>, E | MalformedOutput, R | RS>
} = dual(2, <E, R, A, I, RS>(
  self: With<E, R>,
  options: GenerateObjectOptions<A, I, RS>
): Effect.Effect<ObjectResult<A>, E | MalformedOutput, R | RS> => {
  const { repair, schema, schemaName, ...rest } = options
  const request: GenerateRequest = {
    ...rest,
    responseFormat: {
      type: "json",
      name: schemaName ?? "response",
      schema: JSONSchema.make(schema) as unknown as Record<string, unknown>
    }
  }
  const attempt = (req: GenerateRequest) =>
    Effect.flatMap(
      self.generate(req),
      (completion) => Effect.map(decodeObject(schema, completion), (value): ObjectResult<A> => ({ value, completion }))
    )
  const first = attempt(request)
  if (!repair) return first
  return Effect.catchIf(
    first,
    (e): e is MalformedOutput => (e as { readonly _tag?: string })._tag === "MalformedOutput",
    (e) =>
      attempt({
        ...request,
        messages: [
          ...request.messages,
          { role: "assistant", content: e.raw },
          {
            role: "user",
            content:
              `Your answer did not match the required JSON schema:\n${e.issue}\nAnswer again with only the corrected JSON.`
          }
        ]
      })
  )
})

/**
 * `generateObjectWith` on the `LanguageModel` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const generateObject = <A, I, RS>(
  options: GenerateObjectOptions<A, I, RS>
): Effect.Effect<ObjectResult<A>, LlmError, LanguageModel | RS> =>
  Effect.flatMap(LanguageModel, (model) => generateObjectWith(model, options))
