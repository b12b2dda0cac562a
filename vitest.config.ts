import { defineConfig } from "vitest/config";

// `source` points the package's own exports and `#platform` at src/, so tests run the code as
// written, with no build step.
const conditions = ["source", "node", "import", "module", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
