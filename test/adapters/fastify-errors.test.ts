// The Fastify plugin's answers: a bad tenant 400 from the plugin, SiloErrors from the shared table
// through siloErrorHandler() (src/core/http-error.ts), bad options at registration, and scoping.
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { SiloGRPCClient, SiloUnavailableError, type SiloScope } from "../../src/index.js";
import { fromHeader, siloErrorHandler, siloPlugin, type SiloErrorHandlerOptions } from "../../src/adapters/fastify/index.js";

describe("the Fastify plugin and siloErrorHandler() over a real listener", () => {
  let server: DevServer;
  let up: SiloGRPCClient;
  let down: SiloGRPCClient;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    server = await startDevServer({ port: 0, tenancy: true });
    up = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    // A port nothing listens on any more: every call fails with SiloUnavailableError at once.
    const gone = await startDevServer({ port: 0 });
    const address = gone.addresses[0] as string;
    await gone.close();
    down = new SiloGRPCClient({ servers: [address], useTls: false, shardRouting: { maxRetries: 0 }, timeoutMs: 2_000 });
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await server.close();
  });

  /** An app whose POST /orders enqueues `{ taskGroup }` from the body; listening on loopback. */
  async function listen(client: SiloGRPCClient, errors: SiloErrorHandlerOptions | false = {}, tenantRequired = false): Promise<string> {
    const app = Fastify();
    apps.push(app);
    if (errors !== false) app.setErrorHandler(siloErrorHandler(errors));
    await app.register(siloPlugin, { client, tenant: fromHeader("x-tenant-id"), ...(tenantRequired ? { required: true } : {}) });
    app.post<{ Body: { taskGroup: string } }>("/orders", async (request, reply) => {
      const handle = await request.silo.enqueue({ payload: request.body, taskGroup: request.body.taskGroup });
      return reply.code(202).send({ id: handle.id });
    });
    app.post("/boom", async () => {
      throw new Error("not a Silo error");
    });
    return app.listen({ port: 0, host: "127.0.0.1" });
  }

  const order = (taskGroup: string, tenant?: string): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", ...(tenant ? { "x-tenant-id": tenant } : {}) },
    body: JSON.stringify({ taskGroup }),
  });

  it("answers 202 and enqueues for the header's tenant when nothing fails", async () => {
    const base = await listen(up);
    const res = await fetch(`${base}/orders`, order("orders", "acme"));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await up.getJob(id, "acme")).taskGroup).toBe("orders");
  });

  it("answers 503 with Retry-After when Silo is unreachable", async () => {
    const base = await listen(down);
    const res = await fetch(`${base}/orders`, order("orders", "acme"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ code: new SiloUnavailableError("x").code });
  });

  it("answers 400 naming the field for an invalid enqueue, and 400 when the server requires a tenant the request lacks", async () => {
    const base = await listen(up);
    const invalid = await fetch(`${base}/orders`, order("", "acme"));
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: "SILO_VALIDATION", field: "taskGroup" });
    const noTenant = await fetch(`${base}/orders`, order("orders"));
    expect(noTenant.status).toBe(400);
    expect(await noTenant.json()).toMatchObject({ code: "SILO_INVALID_ARGUMENT" });
  });

  it("answers a missing required tenant with 400 JSON from the plugin, before the route, sending no job", async () => {
    const base = await listen(up, false, true);
    server.resetRpcCounts();
    const res = await fetch(`${base}/orders`, order("orders"));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.json()).toMatchObject({ code: "SILO_VALIDATION", field: "tenant" });
    expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
  });

  it("lets errorResponse replace the answer", async () => {
    const base = await listen(down, { errorResponse: ({ response }) => ({ ...response, status: 502, body: { ...response.body, error: "queue down" } }) });
    const res = await fetch(`${base}/orders`, order("orders", "acme"));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: "queue down" });
  });

  it("passes errors that are not SiloErrors on to Fastify's own answer", async () => {
    const base = await listen(up);
    const res = await fetch(`${base}/boom`, order("orders", "acme"));
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ message: "not a Silo error" });
  });

  it("passes them on to the parent scope's error handler when it is registered in a child scope", async () => {
    const app = Fastify();
    apps.push(app);
    app.setErrorHandler((_error, _request, reply) => reply.code(418).send({ mine: true }));
    await app.register(async (scope) => {
      scope.setErrorHandler(siloErrorHandler());
      await scope.register(siloPlugin, { client: down, tenant: fromHeader("x-tenant-id") });
      scope.post("/orders", async (request) => ({ id: (await request.silo.enqueue({ payload: 1, taskGroup: "orders" })).id }));
      scope.post("/boom", async () => {
        throw new Error("not a Silo error");
      });
    });
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    expect((await fetch(`${base}/orders`, order("orders", "acme"))).status).toBe(503);
    const other = await fetch(`${base}/boom`, order("orders", "acme"));
    expect(other.status).toBe(418);
    expect(await other.json()).toEqual({ mine: true });
  });

  it("gives a scope only to the routes of the scope it is registered in", async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(async (orders) => {
      await orders.register(siloPlugin, { client: up, tenant: fromHeader("x-tenant-id"), required: true });
      orders.get("/orders/whoami", async (request) => ({ tenant: request.silo.tenant }));
    });
    // Outside the plugin's scope the request has no silo (the type says SiloScope everywhere).
    app.get("/health", async (request) => ({ scoped: (request.silo as SiloScope | null | undefined) != null }));
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ scoped: false });
    expect(await (await fetch(`${base}/orders/whoami`, { headers: { "x-tenant-id": "acme" } })).json()).toEqual({ tenant: "acme" });
    expect((await fetch(`${base}/orders/whoami`)).status).toBe(400);
  });

  it.each([
    ["a tenant that is not a resolver", { tenant: "x-tenant-id" }, /tenant.*must be a function/],
    ["an unknown option", { tenants: fromHeader("x-tenant-id") }, /tenants/],
    ["a waitUntil that is not a function", { waitUntil: true }, /waitUntil.*must be a function/],
    ["required without a resolver", { required: true }, /tenant.*required: true/],
  ])("fails the registration, before any request, for %s", async (_what, options, message) => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(siloPlugin, { client: up, ...(options as object) })).rejects.toThrow(message);
  });

  it("refuses an errorResponse that is not a function", () => {
    expect(() => siloErrorHandler({ errorResponse: "502" as never })).toThrow(/errorResponse/);
  });
});
