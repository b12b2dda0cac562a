// The Query engine is paid for only by those who run a Query: the dev server starts without
// loading DuckDB, and the client's Worker bundle contains none of it.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startDevServer } from "../../src/dev-server/index.js";
import { SiloGRPCClient } from "../../src/index.js";
import { bundleWorker } from "../support/bundle-worker.js";

/** @duckdb/node-api is CommonJS, so once imported it sits in Node's module cache. */
const duckdbLoaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("@duckdb"));

describe("the Query engine loads lazily", () => {
  it("starting the dev server and serving other RPCs does not load DuckDB; the first Query does", async () => {
    const server = await startDevServer({ port: 0 });
    try {
      const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
      await client.enqueue({ payload: 1, taskGroup: "lazy" });
      expect(duckdbLoaded()).toBe(false);
      const result = await client.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs");
      expect(result.rows).toEqual([{ n: 1 }]);
      expect(duckdbLoaded()).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("a Worker bundle of the client has the Query RPC but no DuckDB and no dev-server query code", async () => {
    const code = await bundleWorker(fileURLToPath(new URL("../../src/index.ts", import.meta.url)));
    expect(code).toContain("silo.v1.QueryResponse"); // the Query codec (request type names are derived from the method name)
    expect(code).not.toMatch(/duckdb/i);
    expect(code).not.toContain("max_concurrent_statements");
  });
});
