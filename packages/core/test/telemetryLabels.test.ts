import { assert, describe, it } from "@effect/vitest"
import { type MetricTarget, operationLabels, operationLabelsOf } from "../src/internal/telemetry.js"

const target: MetricTarget = { provider: "openai", requestModel: "labels-test-model" }

describe("operation labels", () => {
  it("a stream's two attribute sets (first chunk without the served model, end with it) are both reused", () => {
    // a stream records its first chunk before it knows the served model, then its end with it
    const first = operationLabelsOf(target, undefined, undefined, undefined, undefined)
    const end = operationLabelsOf(target, "served-1", undefined, undefined, undefined)
    assert.notStrictEqual(first, end)
    for (let call = 0; call < 3; call++) {
      assert.strictEqual(operationLabelsOf(target, undefined, undefined, undefined, undefined), first)
      assert.strictEqual(operationLabelsOf(target, "served-1", undefined, undefined, undefined), end)
    }
    // the label sets built once per attribute set and kind
    assert.strictEqual(operationLabels("duration", end), operationLabels("duration", end))
    assert.deepStrictEqual(
      operationLabels("ttfc", first).map((label) => label.key),
      ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "unit"]
    )
  })

  it("attributes that differ get their own labels; the oldest of many is forgotten, not wrong", () => {
    const users = ["a", "b", "c", "d", "e", "f"]
    const sets = users.map((user) => operationLabelsOf(target, "served-2", undefined, undefined, user))
    for (let i = 0; i < users.length; i++) {
      const again = operationLabelsOf(target, "served-2", undefined, undefined, users[i])
      assert.strictEqual(again.user, users[i])
      assert.deepStrictEqual(operationLabels("output", again), operationLabels("output", sets[i]!))
    }
  })
})
