import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloGRPCClient } from "silo-edge";
import { bundleWorker } from "../support/bundle-worker.js";
import { waitFor } from "./harness.js";

describe("drainTasks inside workerd", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  let mf: Miniflare;
  let script: string;
  const taskGroup = "cron-drain";

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    script = await bundleWorker(new URL("./fixtures/drain-worker.ts", import.meta.url).pathname);
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2025-01-01",
      bindings: { SILO_SERVERS: server.addresses.join(","), TASK_GROUP: taskGroup },
    });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    await server?.close();
  });

  it("bundles the worker entry without any node: import", () => {
    expect(script).not.toMatch(/from\s*["']node:/);
    expect(script).not.toMatch(/require\(["']node:/);
  });

  it("drains every tenant's jobs over gRPC-web and returns its counts", async () => {
    const jobs = await Promise.all(["acme", "globex", "initech", "umbrella", "hooli", "stark"].map((tenant, n) => client.enqueue({ taskGroup, tenant, payload: { n } })));
    const res = await mf.dispatchFetch("http://worker/drain");
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ leased: 6, succeeded: 6, failed: 0, lostLeases: 0, unreported: 0, stoppedBecause: "queue_empty" });
    for (const [n, job] of jobs.entries()) {
      expect(await job.getResult()).toMatchObject({ outcome: "succeeded", result: { tenant: job.tenant, doubled: n * 2 } });
    }
  });

  it("drains from a Cron Trigger's scheduled handler", async () => {
    const job = await client.enqueue({ taskGroup, tenant: "wayne", payload: { n: 21 } });
    // Typed as `any`-derived without @cloudflare/workers-types; the runtime object has scheduled().
    const worker = (await mf.getWorker()) as unknown as { scheduled(event: { cron: string }): Promise<unknown> };
    await worker.scheduled({ cron: "*/5 * * * *" });
    const status = await waitFor(async () => ((await job.getStatus()) === "Succeeded" ? "Succeeded" : undefined), { what: "the cron drain" });
    expect(status).toBe("Succeeded");
    expect(await job.getResult()).toMatchObject({ result: { tenant: "wayne", doubled: 42 } });
  });
});
