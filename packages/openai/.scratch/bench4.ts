import { Emulator } from "@effect-llm/testing"
import { Telemetry } from "@effect-llm/core"
import { Chunk, Effect, ManagedRuntime, Option, Redacted, Stream } from "effect"
import OpenAI from "openai"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"

const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const raw = new OpenAI({ apiKey: "sk-x", baseURL: emulator.openAiBaseUrl, maxRetries: 0 })
const service = await Effect.runPromise(OpenAiClient.make({ apiKey: Redacted.make("sk-x"), baseUrl: emulator.openAiBaseUrl }))
const model = OpenAiLanguageModel.fromClient(service, "gpt-5-mini")
const req = { messages: [{ role: "user" as const, content: "Hello there, how are you?" }] }
const body = () => ({ model: "gpt-5-mini", input: [{ role: "user" as const, content: "Hello there, how are you?" }], stream: true as const })
const N = 300
const pulls = () => {
  let it: AsyncIterator<any> | undefined
  const pull = Effect.async<Option.Option<readonly [Chunk.Chunk<any>, void]>>((resume) => {
    const next = () => it!.next().then((r) => {
      if (r.done) return resume(Effect.succeed(Option.none()))
      if (r.value.type !== "response.output_text.delta") return next()
      resume(Effect.succeed(Option.some([Chunk.of(r.value.delta), undefined] as const)))
    })
    if (it === undefined) raw.responses.create(body()).then((s) => { it = s[Symbol.asyncIterator](); next() })
    else next()
  })
  return Stream.unfoldChunkEffect(undefined, () => pull)
}
const variants: Record<string, () => Effect.Effect<unknown, unknown>> = {
  promiseDrain: () => Effect.promise(async () => { for await (const _ of await raw.responses.create(body())) {} }),
  unfoldPull: () => Stream.runDrain(pulls()),
  unfoldPullTraced: () => Stream.runDrain(Telemetry.traceStream({ provider: "openai", model: "gpt-5-mini", request: req })(pulls())),
  full: () => Stream.runDrain(model.stream(req))
}
const cpu = async (f: () => Promise<unknown>) => { const t = process.cpuUsage(); await f(); const d = process.cpuUsage(t); return (d.user + d.system) / 1000 }
const rawRun = () => cpu(async () => { for (let i = 0; i < N; i++) for await (const _ of await raw.responses.create(body())) {} })
const effRun = (e: () => Effect.Effect<unknown, unknown>) => cpu(() => Effect.runPromise(Effect.forEach(Array.from({ length: N }), e, { discard: true })))
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
await rawRun()
for (const v of Object.values(variants)) await effRun(v)
const res: Record<string, number[]> = { raw: [] }
for (const k of Object.keys(variants)) res[k] = []
for (let round = 0; round < 5; round++) {
  res.raw!.push(await rawRun())
  for (const [k, v] of Object.entries(variants)) res[k]!.push(await effRun(v))
}
const base = median(res.raw!)
for (const [k, xs] of Object.entries(res)) console.log(k.padEnd(28), (median(xs) / N * 1000).toFixed(1), "us", (median(xs) / base).toFixed(3))
await rt.dispose()
