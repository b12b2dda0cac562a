import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { bundleWorker } from "../support/bundle-worker.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

// A Worker speaks gRPC (HTTP/2, h2c) to the dev server over connect() from cloudflare:sockets.
// Between them sits a TCP proxy that counts connections, so the tests can tell how many
// connections a request opened.

describe("a Worker speaking gRPC over connect()", () => {
  let server: DevServer;
  let proxy: TcpProxy;
  let mf: Miniflare;
  let script: string;
  let node: SiloGRPCClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 1, shards: 2, tenancy: true });
    proxy = await startTcpProxy(Number(server.addresses[0]!.split(":")[1]));
    script = await bundleWorker(new URL("./fixtures/grpc-socket-worker.ts", import.meta.url).pathname);
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2025-01-01",
      bindings: { SILO_SERVERS: proxy.address, SILO_ADVERTISED: server.addresses[0]! },
    });
    node = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    node?.close();
    await proxy?.close();
    await server?.close();
  });

  it("bundles cloudflare:sockets as the only built-in import and no node: module", () => {
    expect(script).toMatch(/from\s*["']cloudflare:sockets["']/);
    expect(script).not.toMatch(/from\s*["']node:/);
    expect(script).not.toMatch(/require\(["']node:/);
  });

  it("enqueues a job over gRPC that the Node client then reads back", async () => {
    const res = await mf.dispatchFetch("http://worker/enqueue", {
      method: "POST",
      headers: { "x-tenant": "acme", "content-type": "application/json" },
      body: JSON.stringify({ order: 1 }),
    });
    const body = (await res.json()) as { id: string; protocol: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.protocol).toBe("grpc");
    expect(await node.getJobStatus(body.id, "acme")).toBe("Scheduled");
  });

  it("multiplexes 20 concurrent enqueues of one request on one connection", async () => {
    // Warm up the topology so only the enqueues run in the measured request.
    await mf.dispatchFetch("http://worker/enqueue", { method: "POST", headers: { "x-tenant": "globex" }, body: "{}" });
    const before = proxy.accepted;
    server.resetRpcCounts();
    const res = await mf.dispatchFetch("http://worker/concurrent?n=20", { method: "POST", headers: { "x-tenant": "globex" } });
    const body = (await res.json()) as { ids: string[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(new Set(body.ids).size).toBe(20);
    expect(server.rpcCounts().Enqueue).toBe(20);
    expect(proxy.accepted - before).toBe(1);
    for (const id of body.ids) expect(await node.getJobStatus(id, "globex")).toBe("Scheduled");
  });

  it("gives calls made one after another a connection each, never one left from an earlier call", async () => {
    const before = proxy.accepted;
    const res = await mf.dispatchFetch("http://worker/sequential", { method: "POST", headers: { "x-tenant": "initech" } });
    const body = (await res.json()) as { ids: string[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.ids).toHaveLength(3);
    expect(proxy.accepted - before).toBe(3);
    expect(server.jobIds()).toEqual(expect.arrayContaining(body.ids));
  });

  it("opens a new connection for each request rather than using another request's", async () => {
    const before = proxy.accepted;
    for (let i = 0; i < 3; i++) {
      const res = await mf.dispatchFetch("http://worker/enqueue", { method: "POST", headers: { "x-tenant": "hooli" }, body: "{}" });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    expect(proxy.accepted - before).toBe(3);
  });

  it("serves concurrent requests, each on its own connection", async () => {
    const before = proxy.accepted;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        mf.dispatchFetch("http://worker/concurrent?n=5", { method: "POST", headers: { "x-tenant": `t${i}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as { ids: string[] } })),
      ),
    );
    for (const r of results) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.ids).toHaveLength(5);
    }
    expect(proxy.accepted - before).toBe(4);
    expect(server.jobIds()).toEqual(expect.arrayContaining(results.flatMap((r) => r.body.ids)));
  });

  it("enqueues through the Hono adapter over gRPC", async () => {
    const res = await mf.dispatchFetch("http://worker/hono/enqueue", {
      method: "POST",
      headers: { "x-tenant": "umbrella", "content-type": "application/json" },
      body: JSON.stringify({ via: "hono" }),
    });
    const body = (await res.json()) as { id: string; tenant: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.tenant).toBe("umbrella");
    const job = await node.getJob(body.id, "umbrella");
    expect(job.payload).toEqual({ via: "hono" });
  });

  it("drains a task group over gRPC with drainTasks and reports each outcome", async () => {
    const taskGroup = "socket-drain";
    const jobs = await Promise.all(["acme", "globex", "initech"].map((tenant, n) => node.enqueue({ taskGroup, tenant, payload: { n } })));
    const res = await mf.dispatchFetch(`http://worker/drain?group=${taskGroup}`, { method: "POST" });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ leased: 3, succeeded: 3, failed: 0, stoppedBecause: "queue_empty" });
    for (const [n, job] of jobs.entries()) {
      expect(await job.getResult()).toMatchObject({ outcome: "succeeded", result: { tenant: job.tenant, doubled: n * 2 } });
    }
  });
});
