// One set of assertions for every example that serves the orders API (POST /orders,
// GET /orders/:id, tenant from x-tenant-id), run against the dev server over real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { drainTasks } from "silo-edge/worker";
import { expectOnTenantShard, shardOf } from "./shard-of.js";

export interface OrdersRequest {
  method: "GET" | "POST";
  path: string;
  tenant?: string;
  body?: unknown;
  /** Sent as is instead of `body` as JSON. */
  rawBody?: string;
}

export interface OrdersResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface RunningExample {
  send(req: OrdersRequest): Promise<OrdersResponse>;
  /** Runs the queued orders; default: `drainTasks` with the examples' pricing handler. */
  drain?(): Promise<void>;
  close(): Promise<void>;
}

export interface OrdersExample {
  name: string;
  /** Starts the example against the dev server; `client` is already pointed at it. */
  start(setup: { server: DevServer; client: SiloGRPCClient }): Promise<RunningExample>;
}

type Item = { sku: string; qty: number; price: number };

/** What every example's worker returns for an order. */
export function priceOrder({ items = [] }: { items?: Item[] }): { items: number; total: number } {
  return { items: items.length, total: Math.round(items.reduce((s, i) => s + i.qty * i.price, 0) * 100) / 100 };
}

/** Sends one request to an app listening at `baseUrl`. */
export async function sendHttp(baseUrl: string, { method, path, tenant, body, rawBody }: OrdersRequest): Promise<OrdersResponse> {
  const text = rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined);
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(tenant ? { "x-tenant-id": tenant } : {}), ...(text !== undefined ? { "content-type": "application/json" } : {}) },
    ...(text !== undefined ? { body: text } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export function describeOrdersExample(example: OrdersExample): void {
  describe(example.name, () => {
    let server: DevServer;
    let client: SiloGRPCClient;
    let app: RunningExample;
    const orders = [
      { tenant: "acme", items: [{ sku: "tea", qty: 2, price: 4.5 }] },
      { tenant: "globex", items: [{ sku: "mug", qty: 1, price: 12 }, { sku: "spoon", qty: 4, price: 0.75 }] },
      { tenant: "initech", items: [{ sku: "stapler", qty: 1, price: 19.99 }] },
      { tenant: "umbrella", items: [] },
    ];
    const created: Array<{ id: string; tenant: string; items: Item[] }> = [];

    beforeAll(async () => {
      server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
      client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
      app = await example.start({ server, client });
    }, 30_000);

    afterAll(async () => {
      await app?.close();
      await server?.close();
    });

    it("enqueues each tenant's order on that tenant's shard and answers 202 with the job id", async () => {
      for (const { tenant, items } of orders) {
        const res = await app.send({ method: "POST", path: "/orders", tenant, body: { items } });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        expect(res.body).toEqual({ id: expect.any(String), tenant });
        const id = String(res.body.id);
        expectOnTenantShard(server, tenant, id);
        created.push({ id, tenant, items });
      }
      // Tenants land on more than one shard: routing is per tenant, not one fixed shard.
      expect(new Set(orders.map((o) => shardOf(server, o.tenant).id)).size).toBeGreaterThan(1);
    });

    it("reads a queued order's status back for its tenant", async () => {
      const { id, tenant } = created[0]!;
      const res = await app.send({ method: "GET", path: `/orders/${id}`, tenant });
      expect(res).toEqual({ status: 200, body: { id, tenant, status: "Scheduled", result: null } });
    });

    it("answers 404 when the job belongs to another tenant", async () => {
      const { id } = created[0]!;
      const res = await app.send({ method: "GET", path: `/orders/${id}`, tenant: "someone-else" });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: "SILO_JOB_NOT_FOUND" });
    });

    it("answers 400 to a request without x-tenant-id and enqueues nothing", async () => {
      const before = server.jobCount();
      const res = await app.send({ method: "POST", path: "/orders", body: { items: [] } });
      expect(res.status).toBe(400);
      expect(String(res.body.error)).toMatch(/tenant/);
      expect(server.jobCount()).toBe(before);
    });

    it("answers 400 to a body that is not JSON and enqueues nothing", async () => {
      const before = server.jobCount();
      const res = await app.send({ method: "POST", path: "/orders", tenant: "acme", rawBody: "{not json" });
      expect(res.status).toBe(400);
      expect(server.jobCount()).toBe(before);
    });

    it("shows each order's result once the jobs have run", async () => {
      if (app.drain) await app.drain();
      else {
        const run = await drainTasks<{ items?: Item[] }>({ client, taskGroup: "orders", budgetMs: 10_000, handler: ({ payload }) => priceOrder(payload) });
        expect(run).toMatchObject({ succeeded: created.length, failed: 0 });
      }
      for (const { id, tenant, items } of created) {
        const res = await app.send({ method: "GET", path: `/orders/${id}`, tenant });
        expect(res).toEqual({ status: 200, body: { id, tenant, status: "Succeeded", result: priceOrder({ items }) } });
      }
    });
  });
}
