/**
 * `Otel.layer` end to end: spans and metrics reach an OTLP/HTTP collector (a loopback HTTP server
 * standing in for the OpenTelemetry Collector) when the layer's scope closes.
 */
import * as Otel from "@effect-llm/core/Otel"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { fakeProvider } from "./TelemetryHarness.js"

interface Received {
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

const collector = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly server: Http.Server }>(
    (resume) => {
      const received: Array<Received> = []
      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

describe("Otel.layer", () => {
  it.scopedLive("exports spans and metrics over OTLP/HTTP with the collector headers, on scope close", () =>
    Effect.gen(function*() {
      const { received, url } = yield* collector
      const { model } = fakeProvider({ provider: "openai", model: "t-otlp" })
      const layer = Otel.layer({
        serviceName: "otlp-test",
        endpoint: url,
        headers: { "x-collector-key": Redacted.make("collector-secret") },
        metricsInterval: "1 hour"
      })
      yield* Effect.scoped(
        Effect.flatMap(
          Layer.build(layer),
          (context) => Effect.provide(model.generate({ messages: [{ role: "user", content: "hello" }] }), context)
        )
      )
      const traces = received.filter((r) => r.path === "/v1/traces")
      const metrics = received.filter((r) => r.path === "/v1/metrics")
      assert.strictEqual(traces.length, 1)
      assert.isAtLeast(metrics.length, 1)
      assert.strictEqual(traces[0]!.headers["x-collector-key"], "collector-secret")
      assert.include(traces[0]!.body, "chat t-otlp")
      assert.include(traces[0]!.body, "gen_ai.provider.name")
      assert.include(traces[0]!.body, "otlp-test")
      assert.isTrue(metrics.some((m) => m.body.includes("gen_ai.client.operation.duration")))
      assert.notInclude(traces[0]!.body, "hello")
    }))
})
