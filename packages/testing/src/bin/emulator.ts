/**
 * Command line: `pnpm emulator --port 4010 [--seed 1 --chaos 0.3 --latency-ms 20 --hold-ms 0 --chunks 6 --rate-limit-scale 1]`.
 * Starts the emulator, prints its URLs and runs until interrupted (Ctrl-C).
 *
 * @example
 * ```sh
 * pnpm emulator --port 4010 --seed 7 --chaos 0.2
 * OPENAI_BASE_URL=http://127.0.0.1:4010/v1 ANTHROPIC_BASE_URL=http://127.0.0.1:4010 node app.js
 * ```
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Emulator from "../Emulator.js"

const flag = (name: string): string | undefined => {
  const args = process.argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === `--${name}`) return args[i + 1]
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
  }
  return undefined
}

const numberFlag = (name: string): number | undefined => {
  const value = flag(name)
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

const chaos = numberFlag("chaos")
const seed = numberFlag("seed")
const port = numberFlag("port")
const latencyMs = numberFlag("latency-ms")
const holdMs = numberFlag("hold-ms")
const defaultChunks = numberFlag("chunks")
const rateLimitScale = numberFlag("rate-limit-scale")

const program = Effect.gen(function*() {
  const emulator = yield* Emulator.make({
    port: port ?? 4010,
    ...(seed !== undefined ? { seed } : {}),
    ...(chaos !== undefined && chaos > 0 ? { chaos: { rate: chaos, steps: Emulator.defaultChaosSteps } } : {}),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(holdMs !== undefined ? { holdMs } : {}),
    ...(defaultChunks !== undefined ? { defaultChunks } : {}),
    ...(rateLimitScale !== undefined ? { rateLimitScale } : {}),
    // a long-running server must not grow without bound
    record: false
  })
  yield* Console.log(`effect-llm emulator listening on ${emulator.url}`)
  yield* Console.log(`  OpenAI:    baseURL ${emulator.openAiBaseUrl}`)
  yield* Console.log(`  Anthropic: baseURL ${emulator.anthropicBaseUrl}`)
  if (chaos !== undefined && chaos > 0) yield* Console.log(`  chaos ${chaos} (seed ${seed ?? 1})`)
  return yield* Effect.never
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
