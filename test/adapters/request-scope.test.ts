// The core the adapters share, tested once: resolvers, configuration, and the request scope.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import {
  clientFromEnv,
  clientOptionsFromEnv,
  createRequestScope,
  createScopeFactory,
  firstOf,
  fixedTenant,
  fromHeader,
  fromJwtClaim,
  fromQueryParam,
  fromRouteParam,
  fromSubdomain,
  hashTenant,
  SiloConfigurationError,
  SiloDeadlineExceededError,
  SiloGRPCClient,
  SiloValidationError,
  type BackgroundEnqueueFailure,
  type SiloRequestView,
} from "../../src/index.js";
import { setSiloEnv } from "./harness.js";

function view(parts: Partial<Omit<SiloRequestView, "header">> & { headers?: Record<string, string> } = {}): SiloRequestView {
  const headers = new Map(Object.entries(parts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    header: (name) => headers.get(name.toLowerCase()),
    url: parts.url ?? "https://api.example.com/",
    method: parts.method ?? "GET",
    params: parts.params ?? {},
    claims: parts.claims,
    raw: parts.raw ?? null,
  };
}

describe("tenant resolvers", () => {
  it("read a header case-insensitively and trim it", () => {
    expect(fromHeader("X-Tenant-Id")(view({ headers: { "x-tenant-id": " acme " } }))).toBe("acme");
    expect(fromHeader("x-tenant-id")(view())).toBeUndefined();
  });

  it("read the subdomain under a base domain, and nothing outside it", () => {
    const r = fromSubdomain({ baseDomain: "app.example.com" });
    expect(r(view({ url: "https://acme.app.example.com/x" }))).toBe("acme");
    expect(r(view({ url: "https://eu.acme.app.example.com/x" }))).toBe("acme");
    expect(r(view({ url: "https://app.example.com/x" }))).toBeUndefined();
    expect(r(view({ url: "https://evil.com/x" }))).toBeUndefined();
  });

  it("read the leftmost label of a three-label host without a base domain, never of an IP or localhost", () => {
    const r = fromSubdomain();
    expect(r(view({ url: "https://acme.example.com/" }))).toBe("acme");
    expect(r(view({ url: "https://example.com/" }))).toBeUndefined();
    expect(r(view({ url: "http://127.0.0.1:8080/" }))).toBeUndefined();
    expect(r(view({ url: "http://localhost:8080/" }))).toBeUndefined();
  });

  it("fall back to the Host header when the request has no URL, and ignore x-forwarded-host", () => {
    const r = fromSubdomain();
    expect(r(view({ url: "", headers: { host: "acme.example.com:443" } }))).toBe("acme");
    expect(r(view({ url: "https://a.example.com/", headers: { "x-forwarded-host": "victim.example.com" } }))).toBe("a");
  });

  it("read route and query parameters", () => {
    expect(fromRouteParam("tenant")(view({ params: { tenant: "acme" } }))).toBe("acme");
    expect(fromQueryParam("tenant")(view({ url: "https://h/x?tenant=ac%20me" }))).toBe("ac me");
    expect(fromQueryParam("tenant")(view({ url: "" }))).toBeUndefined();
  });

  it("read a verified claim by exact name, then by dotted path, turning numbers into strings", () => {
    const claims = { "https://example.com/tenant": "acme", org: { id: 42 }, flag: true };
    expect(fromJwtClaim("https://example.com/tenant")(view({ claims }))).toBe("acme");
    expect(fromJwtClaim("org.id")(view({ claims }))).toBe("42");
    expect(fromJwtClaim("flag")(view({ claims }))).toBeUndefined();
    expect(fromJwtClaim("org.id")(view())).toBeUndefined();
  });

  it("compose so that the first resolver yielding a tenant wins, skipping null and undefined", async () => {
    const r = firstOf(() => null, fromHeader("x-tenant-id"), async () => "late", fixedTenant("never"));
    expect(await r(view({ headers: { "x-tenant-id": "acme" } }))).toBe("acme");
    expect(await r(view())).toBe("late");
  });

  it("reject bad arguments when they are created, naming the argument", () => {
    expect(() => fromHeader("")).toThrow(/fromHeader\(name\)/);
    expect(() => fromSubdomain({ baseDomain: "" })).toThrow(SiloValidationError);
    expect(() => firstOf(fromHeader("a"), "b" as never)).toThrow(/resolvers\[1\]/);
  });
});

describe("configuration from the environment", () => {
  it("reports every missing or malformed setting in one error that names the settings", () => {
    const err = (() => {
      try {
        clientOptionsFromEnv({ SILO_SERVERS: "ok:1,http://bad:2", SILO_USE_TLS: "sometimes", SILO_PROTOCOL: "h3" });
      } catch (e) {
        return e as SiloConfigurationError;
      }
      throw new Error("no error");
    })();
    expect(err).toBeInstanceOf(SiloConfigurationError);
    expect(err.code).toBe("SILO_CONFIGURATION");
    expect(err.problems).toHaveLength(3);
    expect(err.message).toMatch(/SILO_SERVERS has an invalid address "http:\/\/bad:2"/);
    expect(err.message).toMatch(/SILO_USE_TLS/);
    expect(err.message).toMatch(/SILO_PROTOCOL/);
  });

  it("reads bindings first and falls back to process.env for each setting", () => {
    const restore = setSiloEnv({ SILO_SERVERS: "from-process:7450", SILO_PROTOCOL: "connect" });
    try {
      expect(clientOptionsFromEnv({ SILO_SERVERS: "from-binding:1", SILO_USE_TLS: "0" })).toEqual({ servers: ["from-binding:1"], useTls: false, protocol: "connect" });
    } finally {
      restore();
    }
  });

  it("rejects a binding that is not a string, such as a KV namespace bound under a SILO_ name", () => {
    const restore = setSiloEnv({});
    try {
      expect(() => clientOptionsFromEnv({ SILO_SERVERS: { get() {} } })).toThrow(/SILO_SERVERS must be a string/);
    } finally {
      restore();
    }
  });

  it("reuses one client for the same settings and builds another for different ones", () => {
    const a = clientFromEnv({ SILO_SERVERS: "10.0.0.1:7450", SILO_USE_TLS: "false" });
    expect(clientFromEnv({ SILO_SERVERS: "10.0.0.1:7450", SILO_USE_TLS: "false" })).toBe(a);
    expect(clientFromEnv({ SILO_SERVERS: "10.0.0.2:7450", SILO_USE_TLS: "false" })).not.toBe(a);
  });

  it("reports a token that would travel in cleartext as a configuration problem naming SILO_TOKEN", () => {
    expect(() => clientFromEnv({ SILO_SERVERS: "10.0.0.9:7450", SILO_USE_TLS: "false", SILO_TOKEN: "secret" })).toThrow(/SILO_TOKEN .*cleartext.*SILO_USE_TLS=true/);
  });
});

describe("adapter options", () => {
  it("are checked when the middleware is created", () => {
    const client = new SiloGRPCClient({ servers: "127.0.0.1:1", useTls: false });
    expect(() => createScopeFactory({ client, tenant: "x-tenant-id" as never })).toThrow(/invalid tenant: must be a function/);
    expect(() => createScopeFactory({ client, required: true })).toThrow(/required: true/);
    expect(() => createScopeFactory({ client, tenantt: fromHeader("a") } as never)).toThrow(/tenantt/);
  });
});

describe("the request scope", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol: "grpc-web" });
    await client.refreshTopology();
  });
  afterAll(() => server?.close());
  const shardOf = async (tenant: string): Promise<string> => (await client.loadTopology()).shardForHash(hashTenant(tenant))?.id ?? "";

  it("enqueues for the tenant the options name instead of the request's, with allowTenantOverride", async () => {
    const scope = createRequestScope({ client, tenant: "request-tenant", allowTenantOverride: true });
    const handle = await scope.enqueue({ payload: 1, taskGroup: "orders", tenant: "other-tenant" });
    expect(handle.tenant).toBe("other-tenant");
    expect(server.jobsOnShard(await shardOf("other-tenant"))).toContain(handle.id);
  });

  it("binds every operation and the handles it returns to the request's tenant", async () => {
    const scope = createRequestScope({ client, tenant: "ops-tenant" });
    const handle = await scope.enqueue({ payload: { a: 1 }, taskGroup: "orders" });
    expect(await scope.getJobStatus(handle.id)).toBe("Scheduled");
    expect((await scope.getJob(handle.id)).payload).toEqual({ a: 1 });
    expect(await scope.handle(handle.id).getStatus()).toBe("Scheduled");
    await scope.cancelJob(handle.id);
    expect(await handle.getStatus()).toBe("Cancelled");
    await scope.restartJob(handle.id);
    expect(await scope.getJobStatus(handle.id)).toBe("Scheduled");
    const later = await scope.enqueue({ payload: null, taskGroup: "orders", startAtMs: Date.now() + 60_000 });
    await scope.expediteJob(later.id);
    await scope.deleteJob(later.id).catch(() => undefined);
    expect(later.tenant).toBe("ops-tenant");
  });

  it("throws invalid background options at once, before any call", async () => {
    const scope = createRequestScope({ client, tenant: "bg" });
    server.resetRpcCounts();
    await expect(scope.enqueueInBackground({ payload: 1, taskGroup: "" })).rejects.toThrow(/taskGroup/);
    expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
  });

  it("hands a background enqueue to waitUntil and returns the id it generated at once", async () => {
    const handed: Promise<unknown>[] = [];
    const scope = createRequestScope({ client, tenant: "bg-wait", waitUntil: (p) => void handed.push(p) });
    const id = await scope.enqueueInBackground({ payload: 1, taskGroup: "orders" });
    expect(handed).toHaveLength(1);
    await handed[0];
    expect(server.jobsOnShard(await shardOf("bg-wait"))).toContain(id);
  });

  it("reports a failed background enqueue to onError with the error, options, tenant and id", async () => {
    const failures: BackgroundEnqueueFailure[] = [];
    const scope = createRequestScope({ client, tenant: "bg-fail", onError: (f) => void failures.push(f) });
    const first = await scope.enqueueInBackground({ payload: 1, taskGroup: "orders" });
    const again = await scope.enqueueInBackground({ payload: 2, taskGroup: "orders", id: first });
    expect(again).toBe(first);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ id: first, tenant: "bg-fail", options: { payload: 2, taskGroup: "orders", id: first } });
    expect(failures[0]?.error.code).toBe("SILO_JOB_ALREADY_EXISTS");
  });

  it("logs a failed background enqueue with its job id when no onError is given", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const scope = createRequestScope({ client, tenant: "bg-log" });
      const id = await scope.enqueueInBackground({ payload: 1, taskGroup: "orders" });
      await scope.enqueueInBackground({ payload: 1, taskGroup: "orders", id });
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0]?.[0])).toContain(`background enqueue of job ${id} for tenant "bg-log" failed`);
    } finally {
      log.mockRestore();
    }
  });

  it("still logs the failure when onError itself throws", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const scope = createRequestScope({
        client,
        tenant: "bg-throw",
        onError: () => {
          throw new Error("hook broke");
        },
      });
      const id = await scope.enqueueInBackground({ payload: 1, taskGroup: "orders" });
      await scope.enqueueInBackground({ payload: 1, taskGroup: "orders", id });
      expect(String(log.mock.calls[0]?.[0])).toContain(`onError threw while reporting the failed background enqueue of job ${id}`);
    } finally {
      log.mockRestore();
    }
  });

  it("caps each call by the deadline the adapter gives, and fails at once when none is left", async () => {
    const node = server.addresses.indexOf((await client.loadTopology()).shardForHash(hashTenant("slow"))?.address ?? "");
    server.setFault(node, "hang");
    try {
      let left = 300;
      const scope = createRequestScope({ client, tenant: "slow", deadlineMs: () => left });
      const started = Date.now();
      await expect(scope.enqueue({ payload: 1, taskGroup: "orders" })).rejects.toThrow(SiloDeadlineExceededError);
      expect(Date.now() - started).toBeLessThan(2_000);
      left = 0;
      server.resetRpcCounts();
      await expect(scope.getJob("x")).rejects.toThrow(/no time left/);
      expect(server.rpcCounts().GetJob ?? 0).toBe(0);
    } finally {
      server.setFault(node, null);
    }
  });

  it("answers a request that names no tenant with a 400 outcome only when the tenant is required", async () => {
    const required = createScopeFactory({ client, tenant: fromHeader("x-tenant-id"), required: true });
    const optional = createScopeFactory({ client, tenant: fromHeader("x-tenant-id") });
    expect(await required.scopeFor(view())).toMatchObject({ ok: false, status: 400, error: { field: "tenant" } });
    const outcome = await optional.scopeFor(view());
    expect(outcome.ok && outcome.scope.tenant).toBeUndefined();
  });
});
