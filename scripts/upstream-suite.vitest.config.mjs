// The vitest config scripts/upstream-suite.mjs runs upstream's test files with: upstream's own
// settings (globals, one file at a time, tests in order) and a dev server set up like upstream's
// CI cluster (scripts/upstream-suite.setup.mjs).
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// As in vitest.config.ts: our sources, and no "module" condition for OpenTelemetry's packages.
const conditions = ["silo-edge-source", ...defaultServerConditions.filter((c) => c !== "module")];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["silo-edge-source"] } },
  test: {
    globals: true,
    environment: "node",
    include: ["upstream-suite/**/*.test.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    globalSetup: ["scripts/upstream-suite.setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
