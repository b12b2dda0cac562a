// One set of assertions, run against every adapter: each framework's test file only says how to
// start its app and send it a request. The app is the same everywhere (scenario.ts).
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashTenant, SiloGRPCClient } from "../../src/index.js";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { BASE_DOMAIN, CLAIM, FIXED_TENANT, TENANT_HEADER, type ResolverKind, type Scenario } from "./scenario.js";

export interface HarnessRequest {
  method: "GET" | "POST";
  /** Path and query, e.g. `/t/acme/jobs?x=1`. */
  path: string;
  /** Host the request is addressed to. Default `"api.example.com"`. */
  host?: string;
  headers?: Record<string, string>;
  /** Verified token claims; each driver delivers them its framework's way (JWT, req.auth, authorizer). */
  claims?: Record<string, unknown>;
  body?: unknown;
}

export interface HarnessResponse {
  status: number;
  body: Record<string, unknown>;
}

/** How the app gets its client. */
export type ClientKind =
  /** A `SiloGRPCClient` over gRPC, passed as `client`. */
  | "plain"
  /** A gRPC-web client whose Enqueue calls wait until `openGate()`, for background tests. */
  | "gated"
  /** No client option: SILO_* settings from `env` (process.env on Node, bindings on Workers). */
  | "env";

export interface AppSetup {
  scenario: Scenario;
  servers: string[];
  client: ClientKind;
  /** Settings for `client: "env"` and configuration tests. */
  env?: Record<string, string>;
}

export interface RunningApp {
  send(req: HarnessRequest): Promise<HarnessResponse>;
  /** Lets gated Enqueue calls through, and waits until background work has finished. */
  openGate(): Promise<void>;
  close(): Promise<void>;
}

export interface AdapterDriver {
  name: string;
  /** Route parameters and verified claims exist for this event shape. */
  supports: { routeParams: boolean; claims: boolean };
  /**
   * Whether `enqueueInBackground` answers before the job is enqueued here (Workers' waitUntil, or
   * a waitUntil given on Node), or awaits it (Lambda).
   */
  answersBeforeBackgroundEnqueue: boolean;
  start(setup: AppSetup): Promise<RunningApp>;
  /** The message of the configuration error the adapter reports for these SILO_* settings. */
  configError(env: Record<string, string>): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Helpers for the Node drivers

const SILO_KEYS = ["SILO_SERVERS", "SILO_TOKEN", "SILO_USE_TLS", "SILO_PROTOCOL"] as const;

/** Sets exactly these SILO_* variables in process.env; returns the undo. */
export function setSiloEnv(env: Record<string, string>): () => void {
  const saved = SILO_KEYS.map((k) => [k, process.env[k]] as const);
  for (const k of SILO_KEYS) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The client option, waitUntil and gate of a Node app for a setup. */
export function nodeClientFor(setup: AppSetup): {
  client?: SiloGRPCClient;
  waitUntil?: (promise: Promise<unknown>) => void;
  openGate(): Promise<void>;
  restoreEnv(): void;
} {
  const restoreEnv = setup.client === "env" ? setSiloEnv(setup.env ?? {}) : () => undefined;
  if (setup.client === "env") return { restoreEnv, openGate: async () => undefined };
  if (setup.client === "plain") {
    return { client: new SiloGRPCClient({ servers: setup.servers, useTls: false }), restoreEnv, openGate: async () => undefined };
  }
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const pending: Promise<unknown>[] = [];
  const client = new SiloGRPCClient({
    servers: setup.servers,
    useTls: false,
    protocol: "grpc-web",
    fetch: async (input, init) => {
      if (String(input instanceof Request ? input.url : input).endsWith("/Enqueue")) await gate;
      return fetch(input, init);
    },
  });
  return {
    client,
    // On Node the process outlives the response, so "after the response" only needs the promise kept.
    waitUntil: (promise) => void pending.push(promise),
    restoreEnv,
    async openGate() {
      open();
      await Promise.all(pending);
    },
  };
}

/** Sends a request to a real listener with node:http (fetch may not set Host). */
export function sendHttp(port: number, req: HarnessRequest, extraHeaders: Record<string, string> = {}): Promise<HarnessResponse> {
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: "127.0.0.1",
        port,
        method: req.method,
        path: req.path,
        headers: {
          host: req.host ?? "api.example.com",
          ...(body !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}),
          ...req.headers,
          ...extraHeaders,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString("utf8")) }));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(body);
  });
}

export function parseBody(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { text };
  }
}

// ---------------------------------------------------------------------------------------------
// The shared assertions

interface ResolverCase {
  kind: ResolverKind;
  tenant: string;
  request: (tenant: string) => HarnessRequest;
  needs?: "routeParams" | "claims";
}

const post = (path: string, extra: Partial<HarnessRequest> = {}): HarnessRequest => ({ method: "POST", path, body: { order: 1 }, ...extra });

const RESOLVER_CASES: ResolverCase[] = [
  { kind: "header", tenant: "acme-header", request: (t) => post("/jobs", { headers: { [TENANT_HEADER]: t } }) },
  { kind: "subdomain", tenant: "acme-sub", request: (t) => post("/jobs", { host: `${t}.${BASE_DOMAIN}` }) },
  { kind: "routeParam", tenant: "acme-route", request: (t) => post(`/t/${t}/jobs`), needs: "routeParams" },
  { kind: "queryParam", tenant: "acme-query", request: (t) => post(`/jobs?tenant=${t}&x=1`) },
  { kind: "jwtClaim", tenant: "acme-claim", request: (t) => post("/jobs", { claims: { sub: "user-1", [CLAIM]: t } }), needs: "claims" },
  { kind: "fixed", tenant: FIXED_TENANT, request: () => post("/jobs") },
  { kind: "firstOf", tenant: "acme-first", request: (t) => post(`/jobs?tenant=${t}`) },
  { kind: "function", tenant: "acme-fn", request: (t) => post("/jobs", { headers: { "x-org": t.toUpperCase() } }) },
];

/** Registers the shared adapter tests for one driver. */
export function describeAdapter(driver: AdapterDriver): void {
  describe(driver.name, () => {
    let server: DevServer;
    let client: SiloGRPCClient;
    const apps: RunningApp[] = [];
    const start = async (scenario: Scenario, kind: ClientKind = "plain", env?: Record<string, string>): Promise<RunningApp> => {
      const app = await driver.start({ scenario, servers: server.addresses, client: kind, ...(env ? { env } : {}) });
      apps.push(app);
      return app;
    };
    const shardOf = async (tenant: string): Promise<string> => {
      const shard = (await client.loadTopology()).shardForHash(hashTenant(tenant));
      if (!shard) throw new Error(`no shard for ${tenant}`);
      return shard.id;
    };

    beforeAll(async () => {
      server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
      client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
      await client.refreshTopology();
    });
    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
      await server?.close();
    });

    it("spreads the test tenants over both nodes, so routing is really exercised", async () => {
      const topology = await client.loadTopology();
      const nodes = new Set(RESOLVER_CASES.map((c) => topology.shardForHash(hashTenant(c.tenant))?.address));
      expect(nodes.size).toBe(2);
    });

    // Event shapes without route params or claims (ALB, Function URLs) get no case for them.
    for (const c of RESOLVER_CASES.filter((rc) => rc.needs === undefined || driver.supports[rc.needs])) {
      it(`enqueues on the tenant's shard when the tenant comes from ${c.kind}`, async () => {
        const app = await start({ resolver: c.kind, required: true });
        const res = await app.send(c.request(c.tenant));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.tenant).toBe(c.tenant);
        const id = String(res.body.id);
        expect(server.jobsOnShard(await shardOf(c.tenant))).toContain(id);
        // With tenancy on, the server only answers for the tenant the job was filed under.
        const job = await client.getJob(id, c.tenant);
        expect(job.payload).toEqual({ order: 1 });
      });
    }

    it("answers 400 before the handler runs when a required tenant is missing, and sends no job", async () => {
      const app = await start({ resolver: "header", required: true });
      server.resetRpcCounts();
      const res = await app.send(post("/jobs"));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/tenant/);
      expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
    });

    it("answers 400 for a tenant over 64 characters even when tenants are optional", async () => {
      const app = await start({ resolver: "header" });
      server.resetRpcCounts();
      const res = await app.send(post("/jobs", { headers: { [TENANT_HEADER]: "t".repeat(65) } }));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/64 characters/);
      expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
    });

    it("accepts a tenant of exactly 64 characters", async () => {
      const app = await start({ resolver: "header", required: true });
      const tenant = "x".repeat(64);
      const res = await app.send(post("/jobs", { headers: { [TENANT_HEADER]: tenant } }));
      expect(res.status).toBe(200);
      expect(server.jobsOnShard(await shardOf(tenant))).toContain(res.body.id);
    });

    it("answers 400 for an empty tenant", async () => {
      const app = await start({ resolver: "queryParam", required: true });
      const res = await app.send(post("/jobs?tenant="));
      expect(res.status).toBe(400);
    });

    it("uses the default tenant when an optional tenant is missing", async () => {
      const app = await start({ resolver: "header" });
      const res = await app.send({ method: "GET", path: "/whoami" });
      expect(res).toEqual({ status: 200, body: { tenant: null } });
    });

    it("binds reads made through the scope to the request's tenant", async () => {
      const handle = await client.enqueue({ payload: 1, taskGroup: "orders", tenant: "reader-tenant" });
      const app = await start({ resolver: "header", required: true });
      const res = await app.send({ method: "GET", path: `/status/${handle.id}`, headers: { [TENANT_HEADER]: "reader-tenant" } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ status: "Scheduled", tenant: "reader-tenant" });
    });

    it("builds its client from SILO_* settings when no client is given", async () => {
      const app = await start({ resolver: "header", required: true }, "env", { SILO_SERVERS: server.addresses.join(","), SILO_USE_TLS: "false" });
      const res = await app.send(post("/jobs", { headers: { [TENANT_HEADER]: "env-tenant" } }));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(server.jobsOnShard(await shardOf("env-tenant"))).toContain(res.body.id);
    });

    it("reports every missing or malformed setting in one clear configuration error", async () => {
      const message = await driver.configError({ SILO_USE_TLS: "maybe", SILO_PROTOCOL: "smoke-signals" });
      expect(message).toMatch(/SILO_SERVERS is not set/);
      expect(message).toMatch(/SILO_USE_TLS must be "true" or "false", got "maybe"/);
      expect(message).toMatch(/SILO_PROTOCOL must be one of "grpc", "grpc-web", "connect"/);
    });

    if (driver.answersBeforeBackgroundEnqueue) {
      it("answers a background enqueue at once and completes the enqueue after the response", async () => {
        const app = await start({ resolver: "header", required: true }, "gated");
        server.resetRpcCounts();
        const res = await app.send(post("/background", { headers: { [TENANT_HEADER]: "bg-tenant" } }));
        expect(res.status).toBe(202);
        const id = String(res.body.id);
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        // The response is out, and the job is not enqueued yet.
        expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
        expect(server.jobIds()).not.toContain(id);
        await app.openGate();
        await expect.poll(async () => server.jobsOnShard(await shardOf("bg-tenant")).includes(id), { timeout: 5_000 }).toBe(true);
        expect((await client.getJob(id, "bg-tenant")).payload).toEqual({ order: 1 });
      });
    } else {
      it("completes a background enqueue before the invocation returns, since nothing runs after it", async () => {
        const app = await start({ resolver: "header", required: true });
        const res = await app.send(post("/background", { headers: { [TENANT_HEADER]: "bg-tenant" } }));
        expect(res.status).toBe(202);
        expect(server.jobsOnShard(await shardOf("bg-tenant"))).toContain(res.body.id);
      });
    }
  });
}
