import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { inspect } from "node:util"
import * as OpenAiClient from "../src/OpenAiClient.js"
import { apiKey } from "./fixtures.js"

const key = Redacted.make(apiKey)

const configError = <A>(exit: Exit.Exit<A, OpenAiClient.OpenAiConfigError>) => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a typed failure")
  return exit.cause.error
}

describe("OpenAiClient", () => {
  it.effect("make: the SDK client has no retries and a one-day timeout; server address and port", () =>
    Effect.gen(function*() {
      const service = yield* OpenAiClient.make({ apiKey: key })
      assert.strictEqual(service.client.maxRetries, 0)
      assert.strictEqual(service.client.timeout, 86_400_000)
      assert.strictEqual(service.timeoutMillis, 86_400_000)
      assert.strictEqual(service.baseUrl, "https://api.openai.com/v1")
      assert.strictEqual(service.serverAddress, "api.openai.com")
      assert.strictEqual(service.serverPort, 443)
      const local = yield* OpenAiClient.make({
        apiKey: key,
        baseUrl: "http://127.0.0.1:4010/v1",
        organization: "org-1"
      })
      assert.strictEqual(local.serverAddress, "127.0.0.1")
      assert.strictEqual(local.serverPort, 4010)
      assert.strictEqual(local.client.baseURL, "http://127.0.0.1:4010/v1")
      assert.strictEqual(local.client.organization, "org-1")
      const plain = yield* OpenAiClient.make({ apiKey: key, baseUrl: "http://localhost/v1" })
      assert.strictEqual(plain.serverPort, 80)
    }))

  it.effect("make: an over-long timeout is capped below Node's timer overflow", () =>
    Effect.gen(function*() {
      const service = yield* OpenAiClient.make({ apiKey: key, timeout: "100 days" })
      assert.strictEqual(service.timeoutMillis, 2_147_483_647)
    }))

  it.effect("make: invalid configuration is a typed OpenAiConfigError", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[OpenAiClient.Options, string]> = [
        [{ apiKey: Redacted.make("") }, "apiKey"],
        [{ apiKey: Redacted.make("   ") }, "apiKey"],
        [{ apiKey: Redacted.make("sk-with space") }, "apiKey"],
        [{ apiKey: key, baseUrl: "not a url" }, "baseUrl"],
        [{ apiKey: key, baseUrl: "ftp://example.com/v1" }, "baseUrl"],
        [{ apiKey: key, organization: "" }, "organization"],
        [{ apiKey: key, project: " " }, "project"],
        [{ apiKey: key, timeout: "0 millis" }, "timeout"]
      ]
      for (const [options, field] of cases) {
        const e = configError(yield* Effect.exit(OpenAiClient.make(options)))
        assert.strictEqual(e._tag, "OpenAiConfigError")
        assert.strictEqual(e.field, field)
        assert.include(e.message, field)
        assert.notInclude(JSON.stringify(e), apiKey)
        assert.notInclude(e.message, apiKey)
      }
    }))

  it.effect("the service never shows the key (JSON, toString, inspect)", () =>
    Effect.gen(function*() {
      const service = yield* OpenAiClient.make({ apiKey: key })
      for (const text of [JSON.stringify(service), String(service), inspect(service)]) {
        assert.notInclude(text, apiKey)
      }
      assert.include(JSON.stringify(service), "api.openai.com")
    }))

  it.effect("layerConfig reads OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID", () =>
    Effect.gen(function*() {
      const service = yield* OpenAiClient.OpenAiClient.pipe(
        Effect.provide(OpenAiClient.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["OPENAI_API_KEY", apiKey],
            ["OPENAI_BASE_URL", "http://127.0.0.1:9999/v1"],
            ["OPENAI_ORG_ID", "org-9"],
            ["OPENAI_PROJECT_ID", "proj-9"]
          ])
        ))
      )
      assert.strictEqual(service.baseUrl, "http://127.0.0.1:9999/v1")
      assert.strictEqual(service.serverPort, 9999)
      assert.strictEqual(service.client.organization, "org-9")
      assert.strictEqual(service.client.project, "proj-9")
      assert.strictEqual(Redacted.value(service.apiKey), apiKey)
    }))

  it.effect("layerConfig: explicit configs win; defaults apply when optional ones are missing", () =>
    Effect.gen(function*() {
      const service = yield* OpenAiClient.OpenAiClient.pipe(
        Effect.provide(OpenAiClient.layerConfig({
          apiKey: Config.redacted("MY_KEY"),
          baseUrl: Config.succeed(undefined)
        })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MY_KEY", apiKey]])))
      )
      assert.strictEqual(service.baseUrl, "https://api.openai.com/v1")
      assert.strictEqual(service.client.organization, null)
    }))

  it.effect("layerConfig: a missing key is a ConfigError, an invalid one an OpenAiConfigError", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(
        Layer.build(OpenAiClient.layerConfig()).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      assert.isTrue(Exit.isFailure(missing))
      if (Exit.isFailure(missing) && missing.cause._tag === "Fail") {
        assert.notStrictEqual(missing.cause.error._tag, "OpenAiConfigError")
      }
      const invalid = yield* Effect.exit(
        Layer.build(OpenAiClient.layerConfig()).pipe(
          Effect.scoped,
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", apiKey], ["OPENAI_BASE_URL", "::"]]))
          )
        )
      )
      assert.isTrue(Exit.isFailure(invalid))
      if (Exit.isFailure(invalid) && invalid.cause._tag === "Fail") {
        const error = invalid.cause.error
        assert.strictEqual(error._tag, "OpenAiConfigError")
        if (error._tag === "OpenAiConfigError") assert.strictEqual(error.field, "baseUrl")
      } else {
        assert.fail("expected a typed failure")
      }
    }))
})
