/**
 * Assertions for `InvalidOptions` refusals, shared by the modules' tests.
 */
import * as InvalidOptions from "@effect-llm/core/InvalidOptions"
import { assert } from "@effect/vitest"

/** `f` throws an `InvalidOptions`; returns it. */
export const refusal = (f: () => unknown, expected = ""): InvalidOptions.InvalidOptions => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, InvalidOptions.InvalidOptions)
    return error as InvalidOptions.InvalidOptions
  }
  return assert.fail(`expected InvalidOptions ${expected}`)
}

/** For `module`: `f` throws an `InvalidOptions` naming `module` and `option`; returns it. */
export const refusesFor = (module: string) => (option: string, f: () => unknown): InvalidOptions.InvalidOptions => {
  const error = refusal(f, option)
  assert.strictEqual(error.module, module)
  assert.strictEqual(error.option, option)
  return error
}
