/**
 * Bundles benchmark code as users run effect-llm: JavaScript, from the workspace's sources with
 * esbuild (no `keepNames`), the SDKs and Effect left as the packages they are.
 */
import { build } from "esbuild"
import * as path from "node:path"
/** What stays external: everything but the workspace's own packages, resolved from node_modules. */
export const external = [
  "effect",
  "@effect/*",
  "openai",
  "@anthropic-ai/sdk",
  "gpt-tokenizer",
  "@opentelemetry/*",
  "esbuild"
]

/**
 * Bundles `entry` to `outfile`, with the workspace's packages taken from the tree at `tree`
 * (`pnpm bench:ab` bundles the same stacks from two commits' trees).
 */
export const bundle = (entry: string, outfile: string, tree: string) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    external,
    logLevel: "warning",
    plugins: [{
      name: "workspace-tree",
      setup(b) {
        // `@effect-llm/<package>` and `@effect-llm/<package>/<Module>` from `tree`'s sources
        b.onResolve({ filter: /^@effect-llm\/[^/]+(\/.+)?$/ }, (args) => {
          const [, name, sub] = /^@effect-llm\/([^/]+)(?:\/(.+))?$/.exec(args.path)!
          return { path: path.join(tree, "packages", name!, "src", `${sub ?? "index"}.ts`) }
        })
      }
    }]
  })
