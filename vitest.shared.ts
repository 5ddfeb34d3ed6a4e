import type { ViteUserConfig } from "vitest/config"

const config: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    typecheck: { include: ["test/**/*.test-d.ts"] },
    sequence: { concurrent: false },
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}

export default config
