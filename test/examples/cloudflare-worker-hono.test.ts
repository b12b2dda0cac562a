import { Miniflare } from "miniflare";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { bundleWorker } from "../support/bundle-worker.js";
import { expectOnTenantShard } from "./shard-of.js";

const EXAMPLE = new URL("../../examples/cloudflare-worker-hono/", import.meta.url);

/** The few wrangler.toml settings the test reads: top-level strings, [vars] and [triggers] crons. */
function readWranglerToml(): { top: Record<string, string>; vars: Record<string, string>; crons: string[] } {
  const text = readFileSync(new URL("wrangler.toml", EXAMPLE), "utf8");
  const top: Record<string, string> = {};
  const vars: Record<string, string> = {};
  let crons: string[] = [];
  let section = "";
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=\s*(.+)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv as unknown as [string, string, string];
    if (section === "triggers" && key === "crons") crons = JSON.parse(value) as string[];
    else if (section === "vars") vars[key] = JSON.parse(value) as string;
    else if (section === "") top[key] = JSON.parse(value) as string;
  }
  return { top, vars, crons };
}

interface Created {
  id: string;
  tenant: string;
}

describe("the Cloudflare Worker example (Hono, gRPC over connect(), Cron Trigger drain)", () => {
  const toml = readWranglerToml();
  let server: DevServer;
  let client: SiloGRPCClient;
  let mf: Miniflare;
  let script: string;
  /** Every order the tests enqueued, for the drain to account for. */
  const enqueued: Created[] = [];
  /** The content type of every RPC the dev server received: how each call travelled. */
  const contentTypes = new Set<string>();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true, onRequest: ({ headers }) => void contentTypes.add(headers.get("content-type") ?? "") });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    script = await bundleWorker(fileURLToPath(new URL(toml.top.main!, EXAMPLE)));
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: toml.top.compatibility_date!,
      // The example's own [vars], with SILO_SERVERS pointed at this test's dev server.
      bindings: { ...toml.vars, SILO_SERVERS: server.addresses.join(",") },
    });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    await server?.close();
  });

  const post = (tenant: string | undefined, body: unknown): Promise<Response> =>
    mf.dispatchFetch("https://orders.example.com/orders", {
      method: "POST",
      headers: { "content-type": "application/json", ...(tenant ? { "x-tenant-id": tenant } : {}) },
      body: JSON.stringify(body),
    }) as unknown as Promise<Response>;

  const get = (tenant: string, id: string): Promise<Response> =>
    mf.dispatchFetch(`https://orders.example.com/orders/${id}`, { headers: { "x-tenant-id": tenant } }) as unknown as Promise<Response>;

  it("has a wrangler.toml with a name, an entry, a compatibility date, SILO_* vars and a cron", () => {
    expect(toml.top).toMatchObject({ name: expect.any(String), main: "src/index.ts", compatibility_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(Object.keys(toml.vars)).toEqual(expect.arrayContaining(["SILO_SERVERS", "SILO_USE_TLS", "SILO_PROTOCOL"]));
    expect(toml.vars.SILO_PROTOCOL).toBe("grpc");
    expect(toml.crons.length).toBeGreaterThan(0);
  });

  it("bundles for workerd without any Node-only module, with cloudflare:sockets for gRPC", () => {
    expect(script).toMatch(/from\s*["']cloudflare:sockets["']/);
    expect(script).not.toMatch(/from\s*["']node:/);
    expect(script).not.toMatch(/require\(["']node:/);
    expect(script).not.toContain("@connectrpc/connect-node");
  });

  it("enqueues each tenant's order on the tenant's shard over gRPC, and reads its status back", async () => {
    server.resetRpcCounts();
    contentTypes.clear();
    for (const tenant of ["acme", "globex", "initech"]) {
      const res = await post(tenant, { items: [{ sku: "tea", qty: 1, price: 3 }] });
      const body = (await res.json()) as Created;
      expect(res.status, JSON.stringify(body)).toBe(202);
      expect(body.tenant).toBe(tenant);
      expectOnTenantShard(server, tenant, body.id);
      enqueued.push(body);
      expect((await client.handle(body.id, tenant).getStatus())).toBe("Scheduled");

      const status = await get(tenant, body.id);
      expect(status.status).toBe(200);
      expect(await status.json()).toEqual({ id: body.id, tenant, status: "Scheduled", result: null });
    }
    expect(server.rpcCounts().Enqueue).toBe(3);
    // HTTP/2 gRPC from the Worker (and the test's own Node client), never gRPC-web.
    expect([...contentTypes]).toEqual(["application/grpc+proto"]);
  });

  it("answers 400 to an order without x-tenant-id and enqueues nothing", async () => {
    const before = server.jobCount();
    const res = await post(undefined, { items: [] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "SILO_VALIDATION", field: "tenant" });
    expect(server.jobCount()).toBe(before);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const res = await mf.dispatchFetch("https://orders.example.com/orders", { method: "POST", headers: { "x-tenant-id": "acme" }, body: "{not json" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "the body must be JSON" });
  });

  it("answers 404 for a job the tenant does not have", async () => {
    const res = await get("acme", "no-such-job");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "SILO_JOB_NOT_FOUND" });
  });

  it("drains every queued order from the Cron Trigger's scheduled handler", async () => {
    const orders = [
      { tenant: "umbrella", items: [{ sku: "mug", qty: 2, price: 7.5 }], total: 15 },
      { tenant: "hooli", items: [{ sku: "pen", qty: 10, price: 1.25 }, { sku: "pad", qty: 1, price: 4 }], total: 16.5 },
      { tenant: "stark", items: [], total: 0 },
    ];
    const created: Created[] = [];
    for (const o of orders) created.push((await (await post(o.tenant, { items: o.items })).json()) as Created);
    enqueued.push(...created);

    // Typed from workers-types' Fetcher, which this repository does not install.
    const worker = (await mf.getWorker()) as unknown as { scheduled(options: { cron: string }): Promise<{ outcome: string }> };
    const run = await worker.scheduled({ cron: toml.crons[0]! });
    expect(run.outcome).toBe("ok");

    for (const [i, o] of orders.entries()) {
      const res = await get(o.tenant, created[i]!.id);
      expect(await res.json()).toEqual({ id: created[i]!.id, tenant: o.tenant, status: "Succeeded", result: { items: o.items.length, total: o.total } });
    }
    // The earlier tests' orders were drained by the same run.
    expect(enqueued).toHaveLength(6);
    for (const { id, tenant } of enqueued) expect(await client.handle(id, tenant).getStatus()).toBe("Succeeded");
  });
});
