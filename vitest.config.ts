import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// `silo-edge-source` (a project-private condition, so no consumer's own `source` condition picks
// our .ts files) points the package's own exports and `#platform` at src/, so tests run the code as
// written, with no build step.
// Vitest also hands these to Node as --conditions, so no "import" here: with it, CommonJS
// packages that `require` a dual package (Express 5's router and is-promise) get its ESM build.
const node = ["silo-edge-source", ...defaultServerConditions];
// OpenTelemetry's packages map "module" to ESM builds with extensionless imports, which Node
// cannot load; their tests run without that condition.
const otel = node.filter((c) => c !== "module");
// What a Worker or browser bundle resolves: the fetch-only platform, gRPC-web by default.
const web = ["silo-edge-source", "worker", ...defaultClientConditions];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        resolve: { conditions: node },
        ssr: { resolve: { conditions: node, externalConditions: ["silo-edge-source"] } },
        test: { name: "node", include: ["test/**/*.test.ts"], exclude: ["test/web/**", "test/otel/**"], sequence: { groupOrder: 0 } },
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
