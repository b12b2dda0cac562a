import { sign } from "hono/jwt";
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeAdapter, parseBody, type AdapterDriver, type AppSetup, type HarnessRequest, type HarnessResponse, type RunningApp } from "./harness.js";
import { bundleWorker } from "../support/bundle-worker.js";

const WORKER_ENTRY = fileURLToPath(new URL("./worker/worker.ts", import.meta.url));
const JWT_SECRET = "worker-test-secret";

let script = "";
const instances: Miniflare[] = [];

beforeAll(async () => {
  script = await bundleWorker(WORKER_ENTRY);
}, 60_000);

afterAll(async () => {
  await Promise.all(instances.map((mf) => mf.dispose()));
});

function startWorker(bindings: Record<string, string>): Miniflare {
  const mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-01-01", bindings });
  instances.push(mf);
  return mf;
}

async function send(mf: Miniflare, setup: Pick<AppSetup, "scenario" | "client">, req: HarnessRequest): Promise<HarnessResponse> {
  const headers: Record<string, string> = { "x-harness-setup": JSON.stringify({ scenario: setup.scenario, client: setup.client }), ...req.headers };
  if (req.claims) headers.authorization = `Bearer ${await sign(req.claims, JWT_SECRET, "HS256")}`;
  if (req.body !== undefined) headers["content-type"] = "application/json";
  const res = await mf.dispatchFetch(`https://${req.host ?? "api.example.com"}${req.path}`, {
    method: req.method,
    headers,
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
  });
  return { status: res.status, body: parseBody(await res.text()) };
}

const workers = new Map<string, Miniflare>();

const driver: AdapterDriver = {
  name: "Hono inside workerd (miniflare, gRPC-web)",
  supports: { routeParams: true, claims: true },
  answersBeforeBackgroundEnqueue: true,
  async start(setup): Promise<RunningApp> {
    // One Worker per dev server; the setup travels with each request.
    const key = setup.servers.join(",");
    let mf = workers.get(key);
    if (!mf) {
      mf = startWorker({ SILO_SERVERS: key, SILO_USE_TLS: "false" });
      workers.set(key, mf);
    }
    const worker = mf;
    return {
      send: (req) => send(worker, setup, req),
      async openGate() {
        await worker.dispatchFetch("https://api.example.com/__harness/open-gate");
      },
      close: async () => undefined,
    };
  },
  async configError(env) {
    // Bindings are known per request, so the first request reports them; this Worker has no
    // `process` at all (no nodejs_compat), so nothing may fall back to it unguarded.
    const mf = startWorker(env);
    const res = await send(mf, { scenario: { resolver: "header" }, client: "env" }, { method: "GET", path: "/whoami" });
    if (res.status !== 500 || res.body.name !== "SiloConfigurationError") throw new Error(`expected a configuration error, got ${JSON.stringify(res)}`);
    return String(res.body.error);
  },
};

it("bundles the Worker without any Node-only module", () => {
  expect(script.length).toBeGreaterThan(0);
  expect(script).not.toMatch(/from\s*["']node:/);
  expect(script).not.toMatch(/require\(["']node:/);
  expect(script).not.toContain("@connectrpc/connect-node");
});

describeAdapter(driver);
