import { LanguageModel } from "@effect-llm/core"
import type { Completion } from "@effect-llm/core/Completion"
import { MockLanguageModel, StreamCalls } from "@effect-llm/testing"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Stream } from "effect"

const prompt = { messages: [{ role: "user" as const, content: "hi" }] }

describe("StreamCalls", () => {
  for (const api of StreamCalls.apis) {
    it.effect(`run gives the events and the exit of a call (${api})`, () =>
      Effect.gen(function*() {
        const mock = yield* MockLanguageModel.make({ script: [{ chunks: ["a", "b"] }] })
        const seen: Array<string> = []
        const { events, exit } = yield* StreamCalls.run(mock.model, prompt, api, (event) => seen.push(event._tag))
        assert.isTrue(Exit.isSuccess(exit))
        assert.deepStrictEqual(events.map((event) => event._tag), ["TextDelta", "TextDelta", "Finish"])
        assert.deepStrictEqual(seen, ["TextDelta", "TextDelta", "Finish"])
      }))

    it.effect(`takeFirst leaves the call after its first event (${api})`, () =>
      Effect.gen(function*() {
        const mock = yield* MockLanguageModel.make({ script: [{ chunks: ["a", "b", "c"] }] })
        const events = yield* StreamCalls.takeFirst(mock.model, prompt, api)
        assert.deepStrictEqual(events.map((event) => event._tag), ["TextDelta"])
      }))
  }

  it.effect("run dies when a streamEach call's result is not the completion of its Finish", () =>
    Effect.gen(function*() {
      const mock = yield* MockLanguageModel.make({ script: [{ text: "right" }, { text: "other" }] })
      const other = yield* mock.model.generate(prompt)
      const lying = LanguageModel.make({
        provider: "fake",
        model: "fake",
        generate: mock.model.generate,
        stream: mock.model.stream,
        streamEach: (request, onEvent) =>
          Effect.as(
            Stream.runForEach(mock.model.stream(request), onEvent),
            { ...other, text: "not what was streamed" } satisfies Completion
          )
      })
      const exit = yield* Effect.exit(StreamCalls.run(lying, prompt, "streamEach"))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      // through its stream the same model is fine: only streamEach's result is checked
      const viaStream = yield* StreamCalls.run(lying, prompt, "stream")
      assert.isTrue(Exit.isSuccess(viaStream.exit))
    }))
})
