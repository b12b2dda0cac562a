import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";
import { SlowFirstSequencer } from "./test/support/slow-first-sequencer.js";

// `silo-edge-source` (a project-private condition, so no consumer's own `source` condition picks
// our .ts files) points the package's own exports and `#platform` at src/, so tests run the code as
// written, with no build step.
// Vitest also hands these to Node as --conditions, so no "import" here: with it, CommonJS
// packages that `require` a dual package (Express 5's router and is-promise) get its ESM build.
const node = ["silo-edge-source", ...defaultServerConditions];
// OpenTelemetry's packages map "module" to ESM builds with extensionless imports, which Node
// cannot load; their tests run without that condition.
const otel = node.filter((c) => c !== "module");
// Files that look at what their own process has loaded, so they run each in a fresh one.
const NEEDS_OWN_PROCESS = ["test/semantics/query-lazy-engine.test.ts"];
// What a Worker or browser bundle resolves: the fetch-only platform, gRPC-web by default.
const web = ["silo-edge-source", "worker", ...defaultClientConditions];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Vitest's default on a 2-core machine is one worker (cores - 1). Most files spend their time
    // waiting on sockets, timers and child processes, so two run side by side (issue #11).
    maxWorkers: 2,
    // The long files first, so they overlap the short ones (test/support/slow-first-sequencer.ts).
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        resolve: { conditions: node },
        ssr: { resolve: { conditions: node, externalConditions: ["silo-edge-source"] } },
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/web/**", "test/otel/**", ...NEEDS_OWN_PROCESS],
          sequence: { groupOrder: 0 },
          // One process runs many files: importing the client, the dev server and their
          // dependencies once per worker instead of once per file halves the suite's CPU time
          // (issue #11). The setup file resets what the client keeps per process before each file.
          isolate: false,
          setupFiles: ["test/support/fresh-module-state.ts"],
        },
      },
      {
        extends: true,
        resolve: { conditions: node },
        ssr: { resolve: { conditions: node, externalConditions: ["silo-edge-source"] } },
        test: { name: "node-isolated", include: NEEDS_OWN_PROCESS, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        resolve: { conditions: otel },
        ssr: { resolve: { conditions: otel, externalConditions: ["silo-edge-source"] } },
        test: { name: "otel", include: ["test/otel/**/*.test.ts"], sequence: { groupOrder: 0 } },
      },
      {
        // The guide's examples again, as a Worker would run them: over gRPC-web and fetch.
        // A later group, so it never shares port 7450 with the node run.
        extends: true,
        resolve: { conditions: web },
        ssr: { resolve: { conditions: web, externalConditions: ["silo-edge-source"] } },
        test: { name: "web", include: ["test/guide/**/*.test.ts", "test/web/**/*.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
