// The package as a user's runtime loads it: plain JavaScript, no vitest, no `source` condition, so
// `silo-edge` resolves through package.json "exports"/"imports" to the built dist/ with the
// runtime's OWN conditions (Node: node/import/default; Bun: bun/node/import/default; Deno:
// deno/node/import/default). Needs `npm run build` first. Runs on Node, Bun and Deno:
//
//   node test/runtimes/native-smoke.mjs      bun test/runtimes/native-smoke.mjs
//   deno run -A test/runtimes/native-smoke.mjs
//
// Starts the dev server in-process on free ports, runs each check against it over real sockets,
// prints one line per check and "N passed, N failed", and exits 1 when anything failed.
// scripts/runtime-matrix.mjs runs it on every runtime of the matrix.
import { Hono } from "hono";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer } from "silo-edge/dev";
import { fromHeader, silo } from "silo-edge/hono";
import { createWorker, drainTasks } from "silo-edge/worker";

const runtime = globalThis.Bun !== undefined ? `bun ${globalThis.Bun.version}` : globalThis.Deno !== undefined ? `deno ${globalThis.Deno.version.deno}` : `node ${process.versions.node}`;
const results = [];

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`  ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push(false);
    console.log(`  FAIL  ${name}\n        ${err instanceof Error ? (err.stack ?? err.message).split("\n").slice(0, 4).join("\n        ") : String(err)}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Serves `app.fetch` with the runtime's own HTTP server; resolves with its base URL and a stop function. */
async function serve(fetchHandler) {
  if (globalThis.Bun !== undefined) {
    const server = globalThis.Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: fetchHandler });
    return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true), how: "Bun.serve" };
  }
  if (globalThis.Deno !== undefined) {
    const server = globalThis.Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => undefined }, fetchHandler);
    return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown(), how: "Deno.serve" };
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  return new Promise((resolve) => {
    const server = nodeServe({ fetch: fetchHandler, hostname: "127.0.0.1", port: 0 }, (info) => {
      resolve({ url: `http://127.0.0.1:${info.port}`, stop: () => new Promise((r) => server.close(() => r())), how: "@hono/node-server" });
    });
  });
}

console.log(`native smoke on ${runtime}`);
const server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
try {
  await check("the built package picks gRPC over HTTP/2 as the default protocol (the node platform)", () => {
    const client = new SiloGRPCClient({ servers: server.addresses });
    assert(client.protocol === "grpc", `default protocol is ${client.protocol}`);
  });

  for (const protocol of ["grpc", "grpc-web", "connect"]) {
    await check(`enqueues, reads and cancels a job over ${protocol}, on the tenant's shard`, async () => {
      const client = new SiloGRPCClient({ servers: server.addresses, protocol });
      const handle = await client.enqueue({ payload: { n: 1, protocol }, taskGroup: `smoke-${protocol}`, tenant: "acme", startAtMs: Date.now() + 60_000 });
      assert(typeof handle.id === "string" && handle.id.length > 0, "no job id");
      const job = await handle.getJob();
      assert(job.id === handle.id, `getJob answered job ${job.id}`);
      assert(JSON.stringify(job.payload) === JSON.stringify({ n: 1, protocol }), `payload came back as ${JSON.stringify(job.payload)}`);
      await handle.cancel();
      const status = await handle.getStatus();
      assert(/cancel/i.test(JSON.stringify(status)), `status after cancel is ${JSON.stringify(status)}`);
    });
  }

  await check("createWorker leases a job, runs its handler and reports the result", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses });
    const handle = await client.enqueue({ payload: { x: 20 }, taskGroup: "smoke-worker", tenant: "t1" });
    const worker = createWorker({ client, taskGroup: "smoke-worker", pollIntervalMs: 20, handler: ({ payload }) => ({ doubled: payload.x * 2 }) });
    worker.start();
    try {
      const result = await withTimeout(handle.awaitResult({ pollIntervalMs: 20 }), 10_000, "awaitResult");
      assert(result.outcome === "succeeded", `outcome is ${result.outcome}`);
      assert(result.result?.doubled === 40, `result is ${JSON.stringify(result.result)}`);
    } finally {
      await worker.stop();
    }
  });

  await check("drainTasks drains every queued job of a task group and returns its counts", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses });
    for (const tenant of ["a", "b", "c"]) await client.enqueue({ payload: tenant, taskGroup: "smoke-drain", tenant });
    const counts = await withTimeout(drainTasks({ client, taskGroup: "smoke-drain", budgetMs: 10_000, handler: ({ payload }) => `done ${payload}` }), 15_000, "drainTasks");
    assert(counts.succeeded === 3 && counts.failed === 0, `counts are ${JSON.stringify(counts)}`);
  });

  const app = new Hono();
  app.use("/api/*", silo({ client: { servers: server.addresses }, tenant: fromHeader("x-tenant"), required: true }));
  app.post("/api/orders", async (c) => {
    const handle = await c.var.silo.enqueue({ payload: await c.req.json(), taskGroup: "smoke-hono" });
    return c.json({ id: handle.id, tenant: c.var.silo.tenant });
  });
  const served = await serve(app.fetch);
  const verify = new SiloGRPCClient({ servers: server.addresses });
  try {
    await check(`the Hono adapter enqueues from a request served by ${served.how}`, async () => {
      const res = await fetch(`${served.url}/api/orders`, { method: "POST", headers: { "content-type": "application/json", "x-tenant": "shop-7" }, body: '{"sku":"A1"}' });
      const body = await res.json();
      assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(body)}`);
      assert(body.tenant === "shop-7", `tenant is ${body.tenant}`);
      const job = await verify.getJob(body.id, "shop-7");
      assert(JSON.stringify(job.payload) === '{"sku":"A1"}', `stored payload is ${JSON.stringify(job.payload)}`);
    });
  } finally {
    await served.stop();
  }
} finally {
  await server.close();
}

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`native smoke on ${runtime}: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
