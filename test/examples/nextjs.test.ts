// The Next.js example as a user deploys it: `next build`, then `next start` on a loopback port,
// configured only through SILO_* in the environment, answering real HTTP requests. Next.js resolves
// `silo-edge` through the package's published exports (dist/), as an installed package would.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { describeOrdersExample, sendHttp } from "./orders-harness.js";
import { expectOnTenantShard } from "./shard-of.js";
import { ensureBuilt } from "../support/ensure-built.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const APP = "examples/nextjs";
const NEXT = "node_modules/next/dist/bin/next";

/** The environment of the Next.js processes: no test-runner conditions, no telemetry. */
function nextEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ...extra };
  delete env.NODE_OPTIONS;
  for (const key of ["SILO_SERVERS", "SILO_TOKEN", "SILO_USE_TLS", "SILO_PROTOCOL"]) if (!(key in extra)) delete env[key];
  return env;
}

function run(args: string[], env: NodeJS.ProcessEnv): void {
  const out = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${args.join(" ")} exited with ${out.status}:\n${out.stdout}\n${out.stderr}`);
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `next start` for the built example; resolves once it answers HTTP. */
async function nextStart(silo: { servers: string[] }): Promise<{ url: string; output: () => string; close(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [NEXT, "start", APP, "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: ROOT,
    env: nextEnv({ SILO_SERVERS: silo.servers.join(","), SILO_USE_TLS: "false" }),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so close() stops Next.js and any worker it forked.
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${url}/orders/none`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`next start did not answer within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      await exited;
    },
  };
}

beforeAll(async () => {
  // CI builds dist/ just before the tests; elsewhere it is built here when missing or older than src/.
  await ensureBuilt();
  // Without SILO_* at build time, as on a CI builder that has no access to the queue.
  run([NEXT, "build", APP], nextEnv());
}, 300_000);

describeOrdersExample({
  name: "the Next.js example, built with next build and served by next start",
  async start({ server }) {
    const next = await nextStart({ servers: server.addresses });
    return { send: (req) => sendHttp(next.url, req), close: next.close };
  },
});

describe("the Next.js example's route handlers", () => {
  let server: DevServer;
  let serverClosed = false;
  let client: SiloGRPCClient;
  let next: Awaited<ReturnType<typeof nextStart>>;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    next = await nextStart({ servers: server.addresses });
  }, 90_000);

  afterAll(async () => {
    await next?.close();
    if (!serverClosed) await server?.close();
  });

  it("answers POST /orders with 202 and a job id the client finds under the tenant, with the body as payload", async () => {
    const res = await sendHttp(next.url, { method: "POST", path: "/orders", tenant: "acme", body: { items: [{ sku: "tea", qty: 1, price: 4.5 }] } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = String(res.body.id);
    expectOnTenantShard(server, "acme", id);
    const job = await client.getJob(id, "acme");
    expect(job).toMatchObject({ id, taskGroup: "orders", payload: { items: [{ sku: "tea", qty: 1, price: 4.5 }] } });
  });

  it("enqueues the confirmation job through after(), for the same tenant", async () => {
    const res = await sendHttp(next.url, { method: "POST", path: "/orders", tenant: "globex", body: { items: [] } });
    expect(res.status).toBe(202);
    const order = String(res.body.id);
    await expect
      .poll(async () => {
        const jobs = await Promise.all(server.jobIds().map((id) => client.getJob(id, "globex").catch(() => undefined)));
        return jobs.find((j) => j?.taskGroup === "confirmations" && (j.payload as { order?: string }).order === order)?.payload;
      }, { timeout: 10_000 })
      .toEqual({ order });
  });

  it("answers 400 JSON naming the tenant field when x-tenant-id is missing, and enqueues nothing", async () => {
    const before = server.jobCount();
    const res = await sendHttp(next.url, { method: "POST", path: "/orders", body: { items: [] } });
    expect(res).toEqual({ status: 400, body: { error: expect.stringMatching(/tenant/), code: "SILO_VALIDATION", field: "tenant" } });
    expect(server.jobCount()).toBe(before);
  });

  it("answers GET /orders/:id with the job's status for its tenant", async () => {
    const handle = await client.enqueue({ payload: { items: [] }, taskGroup: "orders", tenant: "initech" });
    const res = await sendHttp(next.url, { method: "GET", path: `/orders/${handle.id}`, tenant: "initech" });
    expect(res).toEqual({ status: 200, body: { id: handle.id, tenant: "initech", status: "Scheduled", result: null } });
  });

  it("answers 503 with Retry-After from the errors table when Silo goes away", async () => {
    await server.close();
    serverClosed = true;
    const res = await fetch(`${next.url}/orders/some-id`, { headers: { "x-tenant-id": "acme" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    // Unreachable, or still retrying when the call's deadline passed: 503 either way.
    expect(((await res.json()) as { code: string }).code).toMatch(/^SILO_(UNAVAILABLE|DEADLINE_EXCEEDED)$/);
  }, 60_000);
});
