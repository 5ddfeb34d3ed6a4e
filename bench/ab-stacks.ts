/**
 * The socket-free runs: every stack with a target, over each provider's model layer answering from
 * a captured reply, as one function per (provider, operation, stack) that makes `calls` calls in one
 * Effect program. `pnpm bench` runs them against the raw SDK; `pnpm bench:ab` bundles this module
 * once per tree, so each side runs its own sources.
 */
import { LanguageModel } from "@effect-llm/core"
import { Effect, ManagedRuntime, Stream } from "effect"
import { times } from "./harness.js"
import { providers, request } from "./providers.js"
import { replayFetch, type Replies } from "./replay.js"
import { type Stack, stacks } from "./stacks.js"

/** The socket-free URL: a request that did reach the network would fail. */
export const REPLAY_URL = "http://127.0.0.1:9"

/**
 * What a row calls: `generate`; `stream`, the streamed call through `streamEach` (no `Stream`);
 * `Stream`, the same call as an Effect `Stream` (`model.stream`, drained).
 */
export type Op = "generate" | "stream" | "Stream"

/** The rows of a stack: the `Stream` view is measured on the provider layer only (a reference). */
export const opsOf = (stack: Stack): ReadonlyArray<Op> =>
  stack === stacks[0] ? ["generate", "stream", "Stream"] : ["generate", "stream"]

const ignore = () => Effect.void

/** One call of `op` on `model`, its result dropped. */
export const callOf = (model: LanguageModel.Service, op: Op): Effect.Effect<void, unknown> =>
  op === "generate"
    ? Effect.asVoid(model.generate(request))
    : op === "stream"
    ? Effect.asVoid(model.streamEach(request, ignore))
    : Stream.runDrain(model.stream(request))

export interface Run {
  readonly provider: string
  readonly op: Op
  readonly label: string
  readonly run: () => Promise<void>
  readonly dispose: () => Promise<void>
}

export const setup = async (
  replies: ReadonlyMap<string, Replies>,
  calls: number,
  wanted: (label: string) => boolean
): Promise<ReadonlyArray<Run>> => {
  const runs: Array<Run> = []
  for (const provider of providers) {
    const captured = replies.get(provider.name)
    if (captured === undefined) continue
    const fetch = replayFetch(captured)
    for (const stack of stacks) {
      if (stack.targets === undefined) continue
      for (const op of opsOf(stack)) {
        const label = `${provider.name} ${op} ${stack.name}`
        if (!wanted(label)) continue
        const runtime = ManagedRuntime.make(stack.layer(provider.layer(REPLAY_URL, fetch)))
        const model = await runtime.runPromise(LanguageModel.LanguageModel)
        const program = times(callOf(model, op), calls)
        runs.push({
          provider: provider.name,
          op,
          label,
          run: () => runtime.runPromise(program),
          dispose: () => runtime.dispose()
        })
      }
    }
  }
  return runs
}
