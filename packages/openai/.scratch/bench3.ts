import { Emulator } from "@effect-llm/testing"
import { Effect, ManagedRuntime } from "effect"
import OpenAI from "openai"

const CALL = "__effectLlmCall"
interface Call { controller: AbortController | undefined; aborted: boolean }
class Hooked extends OpenAI {
  override fetchWithTimeout(url: any, init: any, ms: number, controller: AbortController) {
    const call = init?.[CALL] as Call | undefined
    if (call !== undefined) {
      delete init[CALL]
      call.controller = controller
      if (call.aborted) controller.abort()
    }
    return super.fetchWithTimeout(url, init, ms, controller)
  }
}
const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const raw = new OpenAI({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const hooked = new Hooked({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const body = () => ({ model: "gpt-5-mini", input: [{ role: "user" as const, content: "Hello there, how are you?" }] })
const N = 400
const variants: Record<string, Effect.Effect<unknown, unknown>> = {
  promise: Effect.promise(() => raw.responses.create(body())),
  asyncSignal: Effect.async((resume, signal) => { raw.responses.create(body(), { signal }).then((r) => resume(Effect.succeed(r)), (e) => resume(Effect.die(e))) }),
  asyncHook: Effect.async((resume) => {
    const call: Call = { controller: undefined, aborted: false }
    hooked.responses.create(body(), { fetchOptions: { [CALL]: call } as any }).then((r) => resume(Effect.succeed(r)), (e) => resume(Effect.die(e)))
    return Effect.sync(() => { call.aborted = true; call.controller?.abort() })
  }),
}
const rawRun = async () => { const t = process.cpuUsage(); for (let i = 0; i < N; i++) await raw.responses.create(body()); const d = process.cpuUsage(t); return (d.user + d.system) / 1000 }
const effRun = async (e: Effect.Effect<unknown, unknown>) => { const t = process.cpuUsage(); await Effect.runPromise(Effect.forEach(Array.from({ length: N }), () => e, { discard: true })); const d = process.cpuUsage(t); return (d.user + d.system) / 1000 }
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
await rawRun()
for (const v of Object.values(variants)) await effRun(v)
const res: Record<string, number[]> = { raw: [] }
for (const k of Object.keys(variants)) res[k] = []
for (let round = 0; round < 9; round++) {
  res.raw!.push(await rawRun())
  for (const [k, v] of Object.entries(variants)) res[k]!.push(await effRun(v))
}
const base = median(res.raw!)
for (const [k, xs] of Object.entries(res)) console.log(k.padEnd(28), (median(xs) / N * 1000).toFixed(1), "us", (median(xs) / base).toFixed(3))
await rt.dispose()
