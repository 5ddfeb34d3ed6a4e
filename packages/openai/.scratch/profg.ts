import { Emulator } from "@effect-llm/testing"
import { Effect, ManagedRuntime, Redacted, Stream } from "effect"
import * as OpenAiClient from "../src/OpenAiClient.js"
import * as OpenAiLanguageModel from "../src/OpenAiLanguageModel.js"
const rt = ManagedRuntime.make(Emulator.layer({ record: false }))
const emulator = await rt.runPromise(Emulator.Emulator)
const service = await Effect.runPromise(OpenAiClient.make({ apiKey: Redacted.make("sk-x"), baseUrl: emulator.openAiBaseUrl }))
const model = OpenAiLanguageModel.fromClient(service, "gpt-5-mini")
const req = { messages: [{ role: "user" as const, content: "Hello there, how are you?" }] }
const t = performance.now()
await Effect.runPromise(Effect.forEach(Array.from({ length: 3000 }), () => model.generate(req), { concurrency: 1, discard: true }))
console.log((performance.now() - t) / 3000 * 1000, "us")
await rt.dispose()
