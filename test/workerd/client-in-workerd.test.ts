import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { bundleWorker } from "../support/bundle-worker.js";

describe("the client inside workerd", () => {
  let server: DevServer;
  let mf: Miniflare;
  let script: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    script = await bundleWorker(new URL("./fixtures/enqueue-worker.ts", import.meta.url).pathname);
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2025-01-01",
      bindings: { SILO_SERVERS: server.addresses.join(",") },
    });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    await server?.close();
  });

  it("bundles without any node: import", () => {
    expect(script).not.toMatch(/from\s*["']node:/);
    expect(script).not.toMatch(/require\(["']node:/);
  });

  it("enqueues over gRPC-web and routes each tenant to its shard", async () => {
    const ids: string[] = [];
    for (const tenant of ["acme", "globex", "initech", "umbrella", "hooli"]) {
      const res = await mf.dispatchFetch("http://worker/enqueue", {
        method: "POST",
        headers: { "x-tenant": tenant, "content-type": "application/json" },
        body: JSON.stringify({ order: tenant }),
      });
      const body = (await res.json()) as { id: string; tenant: string; protocol: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ tenant, protocol: "grpc-web" });
      ids.push(body.id);
    }
    expect(server.jobIds()).toEqual(expect.arrayContaining(ids));
  });

  it("reads a job back through the same Worker", async () => {
    const res = await mf.dispatchFetch("http://worker/", { method: "POST", headers: { "x-tenant": "acme" }, body: "{}" });
    const { id } = (await res.json()) as { id: string };
    const status = await mf.dispatchFetch(`http://worker/status?id=${id}`, { headers: { "x-tenant": "acme" } });
    expect(await status.json()).toEqual({ status: "Scheduled" });
  });

  it("shares one topology across requests of the same isolate", async () => {
    server.resetRpcCounts();
    for (let i = 0; i < 3; i++) await mf.dispatchFetch("http://worker/", { method: "POST", headers: { "x-tenant": `t${i}` }, body: "{}" });
    expect(server.rpcCounts().GetClusterInfo ?? 0).toBe(0);
    expect(server.rpcCounts().Enqueue).toBe(3);
  });

  it("turns a server error into a typed error inside the Worker", async () => {
    const res = await mf.dispatchFetch("http://worker/", { method: "POST", body: "{}" });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "SiloInvalidArgumentError", code: "SILO_INVALID_ARGUMENT" });
  });
});
