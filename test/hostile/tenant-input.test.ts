import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import { createRequestScope, hashTenant, SiloGRPCClient, SiloValidationError, type TenantResolver } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { fromHeader, fromQueryParam, fromRouteParam, silo, type SiloVariables } from "silo-edge/hono";
import { useCountingListener } from "../support/counting-listener.js";

/**
 * Tenants are caller input when a resolver reads them from the request. Whatever a caller puts
 * there, a bad tenant is a 400 naming `tenant` before any call to Silo; lengths are counted in
 * code points, as the server counts them (src/server.rs validate_tenant: `chars().count() > 64`).
 */

// Proves "before any call": this stays at 0 connections.
const listener = useCountingListener();

async function tenantStatus(resolver: TenantResolver, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const client = new SiloGRPCClient({ servers: listener.address, useTls: false });
  const app = new Hono<{ Variables: SiloVariables }>();
  const handler = async (c: { var: SiloVariables; text: (s: string) => Response }): Promise<Response> => {
    await c.var.silo.enqueue({ payload: 1, taskGroup: "g" });
    return c.text("enqueued");
  };
  app.post("/t/:tenant/orders", silo({ client, tenant: resolver }), handler as never);
  app.post("/orders", silo({ client, tenant: resolver }), handler as never);
  const res = await app.request(path, { method: "POST", headers });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

const rlo = "\u202e";
const cases: Array<[string, string]> = [
  ["a right-to-left override (U+202E)", `acme${rlo}exe`],
  ["a left-to-right embedding (U+202A)", "\u202aacme"],
  ["a first-strong isolate (U+2068)", "ac\u2068me"],
  ["a right-to-left mark (U+200F)", "acme\u200f"],
  ["a NUL", "ac\u0000me"],
  ["a line break", "acme\nadmin"],
  ["an escape sequence", "\u001b[31macme"],
  ["a C1 control (U+0085)", "acme\u0085"],
  ["only spaces", "   "],
  ["only a tab and an ideographic space", "\t\u3000"],
  ["65 emoji (65 characters, 130 UTF-16 units)", "😀".repeat(65)],
];

describe.each([
  ["a query parameter", fromQueryParam("tenant"), (t: string) => ({ path: `/orders?tenant=${encodeURIComponent(t)}` })],
  ["a route parameter", fromRouteParam("tenant"), (t: string) => ({ path: `/t/${encodeURIComponent(t)}/orders` })],
] as const)("a tenant from %s", (_source, resolver, request) => {
  it.each(cases)("with %s is a 400 naming tenant, and Silo is never called", async (_name, tenant) => {
    const { status, body } = await tenantStatus(resolver, request(tenant).path);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: "SILO_VALIDATION", field: "tenant" });
    expect(listener.connections).toBe(0);
  });
});

describe("a tenant from a header", () => {
  it.each([
    ["a tab inside", "ac\tme"],
    ["only spaces (trimmed to nothing)", "    "],
  ])("with %s is a 400 naming tenant", async (_name, value) => {
    const { status, body } = await tenantStatus(fromHeader("x-tenant-id"), "/orders", { "x-tenant-id": value });
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: "SILO_VALIDATION", field: "tenant" });
    expect(listener.connections).toBe(0);
  });
});

describe("tenant length", () => {
  it("counts code points: 64 emoji are a valid tenant, 65 are not", () => {
    const client = new SiloGRPCClient({ servers: listener.address, useTls: false });
    expect(() => client.handle("job", "😀".repeat(64))).not.toThrow();
    let err: unknown;
    try {
      client.handle("job", "😀".repeat(65));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as Error).message).toContain("at most 64 characters, got 65");
  });

  it("applies to task groups too, as the server counts them (src/server.rs: task_group chars().count() > 64)", async () => {
    const client = new SiloGRPCClient({ servers: listener.address, useTls: false });
    const err = await client.enqueue({ payload: 1, taskGroup: "é".repeat(65) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("taskGroup");
    expect(listener.connections).toBe(0);
  });
});

describe("a request scope's tenant", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 1, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  });
  afterAll(() => server?.close());

  it("cannot be overridden with enqueue({ tenant }) by default, and nothing is enqueued", async () => {
    const scope = createRequestScope({ client, tenant: "request-tenant" });
    const before = server.jobsOnShard((await client.loadTopology()).shardForHash(hashTenant("other-tenant"))!.id).length;
    const err = await scope.enqueue({ payload: 1, taskGroup: "g", tenant: "other-tenant" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("tenant");
    expect((err as Error).message).toContain("allowTenantOverride");
    const bg = await scope.enqueueInBackground({ payload: 1, taskGroup: "g", tenant: "other-tenant" }).catch((e: unknown) => e);
    expect(bg).toBeInstanceOf(SiloValidationError);
    expect(server.jobsOnShard((await client.loadTopology()).shardForHash(hashTenant("other-tenant"))!.id)).toHaveLength(before);
  });

  it("of 64 emoji (128 UTF-16 units) is enqueued: the client counts as the server does", async () => {
    const tenant = "😀".repeat(64);
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant });
    expect((await handle.getJob()).id).toBe(handle.id);
    expect(handle.tenant).toBe(tenant);
  });

  it("may be repeated in the options: the same tenant is no override", async () => {
    const scope = createRequestScope({ client, tenant: "request-tenant" });
    const handle = await scope.enqueue({ payload: 1, taskGroup: "g", tenant: "request-tenant" });
    expect(handle.tenant).toBe("request-tenant");
  });

  it("can be overridden when the middleware opts in with allowTenantOverride: true", async () => {
    const app = new Hono<{ Variables: SiloVariables }>();
    app.use("*", silo({ client, tenant: fromHeader("x-tenant-id"), required: true, allowTenantOverride: true }));
    app.post("/", async (c) => {
      const handle = await c.var.silo.enqueue({ payload: 1, taskGroup: "g", tenant: "chosen-by-the-app" });
      return c.json({ tenant: handle.tenant });
    });
    const res = await app.request("/", { method: "POST", headers: { "x-tenant-id": "request-tenant" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tenant: "chosen-by-the-app" });
  });

  it("rejects an allowTenantOverride that is not a boolean when the middleware is created", () => {
    expect(() => silo({ client, allowTenantOverride: "yes" as never })).toThrow(/allowTenantOverride/);
  });
});

describe("the README's safe multi-tenant example (verified JWT claim, required)", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  const secret = "readme-example-secret";
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 1, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  });
  afterAll(() => server?.close());

  async function app(): Promise<Hono<{ Variables: SiloVariables }>> {
    const { jwt } = await import("hono/jwt");
    const { fromJwtClaim } = await import("silo-edge/hono");
    const a = new Hono<{ Variables: SiloVariables }>();
    a.use("/api/*", jwt({ secret, alg: "HS256" }));
    a.use("/api/*", silo({ client, tenant: fromJwtClaim("tenant_id"), required: true }));
    a.post("/api/orders", async (c) => {
      const handle = await c.var.silo.enqueue({ payload: await c.req.json(), taskGroup: "orders" });
      return c.json({ id: handle.id, tenant: handle.tenant }, 202);
    });
    return a;
  }

  it("enqueues for the tenant of the verified claim, and ignores a tenant header", async () => {
    const { sign } = await import("hono/jwt");
    const token = await sign({ tenant_id: "acme" }, secret, "HS256");
    const res = await (await app()).request("/api/orders", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": "someone-else", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; tenant: string };
    expect(body.tenant).toBe("acme");
    expect(server.jobsOnShard((await client.loadTopology()).shardForHash(hashTenant("acme"))!.id)).toContain(body.id);
  });

  it("refuses a request with only a tenant header (401), and a verified token without the claim (400)", async () => {
    const { sign } = await import("hono/jwt");
    const a = await app();
    const before = server.jobCount();
    const headerOnly = await a.request("/api/orders", { method: "POST", headers: { "x-tenant-id": "acme" }, body: "{}" });
    expect(headerOnly.status).toBe(401);
    const noClaim = await a.request("/api/orders", {
      method: "POST",
      headers: { authorization: `Bearer ${await sign({ sub: "u1" }, secret, "HS256")}`, "x-tenant-id": "acme" },
      body: "{}",
    });
    expect(noClaim.status).toBe(400);
    expect(server.jobCount()).toBe(before);
  });
});
