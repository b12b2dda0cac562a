// How bundlers see the optional OpenTelemetry import: a Worker bundle of the client holds none of
// it, and a Node bundle neither inlines @opentelemetry/api nor fails when it is absent, because
// the import's specifier is not a literal (src/core/otel.ts).
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { bundleWorker } from "../support/bundle-worker.js";

const ENQUEUE_WORKER = new URL("../workerd/fixtures/enqueue-worker.ts", import.meta.url).pathname;

describe("bundling with the optional OpenTelemetry peer", () => {
  it("leaves the minimal enqueue Worker without any OpenTelemetry code", async () => {
    const code = await bundleWorker(ENQUEUE_WORKER, { minify: true });
    expect(code).not.toContain("@opentelemetry");
    expect(code).not.toContain("traceparent");
    expect(code).not.toContain("silo.task.lifecycle");
    // The client's hooks are a constant false there, so the calls fold away.
    expect(code).not.toContain("wrongShardRetry");
  });

  it("bundles a Node program using SiloWorker without inlining @opentelemetry/api or needing it", async () => {
    const result = await build({
      stdin: { contents: 'import { SiloWorker, SiloGRPCClient } from "silo-edge"; console.log(SiloWorker, SiloGRPCClient);', resolveDir: process.cwd(), loader: "ts" },
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      conditions: ["silo-edge-source"],
      logLevel: "silent",
      // As if the peer were not installed: any attempt to resolve it would fail the build.
      plugins: [
        {
          name: "no-otel",
          setup(b) {
            b.onResolve({ filter: /^@opentelemetry\// }, (args) => ({ errors: [{ text: `tried to resolve ${args.path}` }] }));
          },
        },
      ],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('"@opentelemetry/api"');
    expect(code).not.toContain("ProxyTracerProvider");
  });
});
