/**
 * Builds the benchmark as users run effect-llm: JavaScript, bundled from the workspace's sources
 * with esbuild (no `keepNames`), the SDKs and Effect left as the packages they are. Running the
 * sources through `tsx` instead would measure its `keepNames` transform, which wraps every named
 * closure made per call in an `Object.defineProperty`: work (and memory) that no published build has.
 */
import * as path from "node:path"
import { bundle } from "./bundle.js"

const root = path.resolve(import.meta.dirname, "..")

await bundle(path.join(root, "bench", "index.ts"), path.join(root, "bench", "build", "index.mjs"), root)
await bundle(path.join(root, "bench", "ab.ts"), path.join(root, "bench", "build", "ab.mjs"), root)
await bundle(path.join(root, "bench", "profile.ts"), path.join(root, "bench", "build", "profile.mjs"), root)
