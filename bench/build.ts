/**
 * Builds the benchmark as users run effect-llm: JavaScript, bundled from the workspace's sources
 * with esbuild (no `keepNames`), the SDKs and Effect left as the packages they are. Running the
 * sources through `tsx` instead would measure its `keepNames` transform, which wraps every named
 * closure made per call in an `Object.defineProperty`: work (and memory) that no published build has.
 */
import { build } from "esbuild"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

await build({
  entryPoints: [path.join(root, "bench", "index.ts")],
  outfile: path.join(root, "bench", "build", "index.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  // everything but the workspace's own packages stays external, resolved from node_modules
  external: ["effect", "@effect/*", "openai", "@anthropic-ai/sdk", "gpt-tokenizer", "@opentelemetry/*"],
  logLevel: "warning"
})
