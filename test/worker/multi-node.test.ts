import { describe, expect, it } from "vitest";
import { hashTenant } from "../../src/index.js";
import { createWorker } from "../../src/worker/index.js";
import { errorLog, sleep, startCluster, uniqueGroup } from "./harness.js";

describe("a worker on a multi-node cluster with tenancy", () => {
  it("processes the jobs of many tenants on every shard of both nodes, heartbeating and reporting to each shard's owner", async () => {
    const { server, client } = await startCluster({ nodes: 2, shards: 4, tenancy: true });
    try {
      const taskGroup = uniqueGroup();
      const log = errorLog();
      const worker = createWorker({
        client,
        taskGroup,
        concurrency: 6,
        heartbeatIntervalMs: 20,
        pollIntervalMs: 10,
        onError: log.onError,
        handler: async ({ tenant, payload }) => {
          await sleep(60);
          return { tenant, echo: payload };
        },
      });
      const tenants = Array.from({ length: 24 }, (_, i) => `tenant-${i}`);
      const jobs = await Promise.all(tenants.flatMap((tenant) => [1, 2].map((n) => client.enqueue({ taskGroup, tenant, payload: { tenant, n } }))));
      worker.start();

      const results = await Promise.all(jobs.map((job) => job.awaitResult({ timeoutMs: 10_000, pollIntervalMs: 25 })));
      await worker.stop();

      results.forEach((result, i) => {
        const job = jobs[i]!;
        expect(result).toMatchObject({ outcome: "succeeded", result: { tenant: job.tenant, echo: { tenant: job.tenant } } });
      });
      // The tenants really were spread over the cluster.
      const topology = await client.loadTopology();
      const shardsUsed = new Set(tenants.map((t) => topology.shardForHash(hashTenant(t))?.id));
      expect(shardsUsed.size).toBe(4);
      for (const node of [0, 1]) {
        const counts = server.rpcCounts(node);
        expect(counts.LeaseTasks).toBeGreaterThan(0);
        expect(counts.Heartbeat).toBeGreaterThan(0);
        expect(counts.ReportOutcome).toBeGreaterThan(0);
      }
      expect(server.rpcCounts().ReportOutcome).toBe(jobs.length);
      expect(worker.stats).toMatchObject({ leased: jobs.length, succeeded: jobs.length, lostLeases: 0, unreported: 0 });
      // Heartbeats and reports went to the owning node with the task's tenant: none failed.
      expect(log.events).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("never runs more attempts at once than its concurrency", async () => {
    const { server, client } = await startCluster({ nodes: 2, shards: 4 });
    try {
      const taskGroup = uniqueGroup();
      let running = 0;
      let peak = 0;
      const worker = createWorker({
        client,
        taskGroup,
        concurrency: 3,
        pollIntervalMs: 10,
        handler: async () => {
          peak = Math.max(peak, ++running);
          await sleep(30);
          running--;
          return null;
        },
      });
      const jobs = await Promise.all(Array.from({ length: 15 }, (_, i) => client.enqueue({ taskGroup, payload: i })));
      worker.start();
      await Promise.all(jobs.map((job) => job.awaitResult({ timeoutMs: 10_000, pollIntervalMs: 25 })));
      await worker.stop();
      expect(peak).toBe(3);
    } finally {
      await server.close();
    }
  });
});
