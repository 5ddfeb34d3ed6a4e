import { assert, describe, it } from "@effect/vitest"
import { MessageChannel } from "node:worker_threads"
import { makeAfterMicrotasks } from "../src/internal/macrotask.js"

// what ran, in order, once the callbacks and a microtask queued after them have had their turn
const order = (after: (f: () => void) => void): Promise<Array<string>> =>
  new Promise((resolve) => {
    const seen: Array<string> = []
    after(() => seen.push("first"))
    after(() => {
      seen.push("second")
      resolve(seen)
    })
    void Promise.resolve().then(() => seen.push("microtask"))
  })

describe("afterMicrotasks (the end of a stream pull's batch)", () => {
  it("setImmediate where there is one", async () => {
    assert.deepStrictEqual(await order(makeAfterMicrotasks({ setImmediate, setTimeout })), [
      "microtask",
      "first",
      "second"
    ])
  })

  it("a MessageChannel message without setImmediate (browsers, workers)", async () => {
    const after = makeAfterMicrotasks({
      MessageChannel: MessageChannel as unknown as new() => globalThis.MessageChannel,
      setTimeout: () => assert.fail("no timer when a MessageChannel is there")
    })
    assert.deepStrictEqual(await order(after), ["microtask", "first", "second"])
  })

  it("setTimeout when nothing else is there", async () => {
    assert.deepStrictEqual(await order(makeAfterMicrotasks({ setTimeout })), ["microtask", "first", "second"])
  })
})
