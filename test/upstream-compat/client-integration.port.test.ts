// A representative set of upstream typescript_client/test/client-integration.test.ts, ported:
// the same calls and assertions, the import path changed, the dev server instead of a separately
// started Silo. upstream's `decodeBytes` is not a public export of @silo/client; silo-edge's
// `decodePayload` decodes the raw task payload instead. Query and importJobs tests are left to
// the helpers that add those methods.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloGRPCClient, JobStatus, AttemptStatus, GubernatorAlgorithm, decodePayload, type RawTask } from "silo-edge";

const DEFAULT_TASK_GROUP = "integration-test-group";

describe("SiloGRPCClient integration (upstream client-integration.test.ts)", () => {
  let server: DevServer;
  let client: SiloGRPCClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, shardRouting: { topologyRefreshIntervalMs: 0 } });
    await client.refreshTopology();
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  async function leaseJob(jobId: string, tenant: string, workerId = `test-worker-${Date.now()}`): Promise<RawTask> {
    const shard = client.getShardForTenant(tenant);
    let task: RawTask | undefined;
    for (let i = 0; i < 5 && !task; i++) {
      const result = await client.leaseTasks({ workerId, maxTasks: 50, shard, taskGroup: DEFAULT_TASK_GROUP });
      task = result.tasks.find((t) => t.jobId === jobId);
      if (!task) await new Promise((r) => setTimeout(r, 100));
    }
    expect(task).toBeDefined();
    return task!;
  }

  describe("topology discovery", () => {
    it("discovers cluster topology via GetClusterInfo", () => {
      const topology = client.getTopology();
      expect(topology.shards.length).toBeGreaterThanOrEqual(1);
      expect(topology.shardToServer.size).toBeGreaterThanOrEqual(1);
    });

    it("skips a non-existent server and discovers the topology from a valid one", async () => {
      const testClient = new SiloGRPCClient({
        servers: ["localhost:1", ...server.addresses],
        useTls: false,
        shardRouting: { topologyRefreshIntervalMs: 0, topologyRefreshTimeoutMs: 500 },
      });
      try {
        await testClient.refreshTopology();
        expect(testClient.getTopology().shards.length).toBeGreaterThanOrEqual(1);
      } finally {
        testClient.close();
      }
    });
  });

  describe("tenant-based shard routing", () => {
    it("routes requests to the correct shard based on tenant", async () => {
      const tenant = "test-tenant-123";
      const handle = await client.enqueue({ tenant, taskGroup: DEFAULT_TASK_GROUP, payload: { routed: true } });
      const shard = client.getShardForTenant(tenant);
      expect(server.jobsOnShard(shard)).toContain(handle.id);
      expect(client.getShardForTenant(tenant)).toBe(shard);
    });
  });

  describe("enqueue and getJob", () => {
    it("enqueues a job with custom id and retrieves it", async () => {
      const id = `custom-${Date.now()}`;
      const handle = await client.enqueue({ tenant: "custom-id-tenant", taskGroup: DEFAULT_TASK_GROUP, id, payload: { hello: "world" } });
      expect(handle.id).toBe(id);
      const job = await client.getJob(id, "custom-id-tenant");
      expect(job?.payload).toEqual({ hello: "world" });
      expect(job.status).toBe(JobStatus.Scheduled);
    });

    it("enqueues a job with a retry policy", async () => {
      const handle = await client.enqueue({
        tenant: "retry-tenant",
        taskGroup: DEFAULT_TASK_GROUP,
        payload: { data: "retry-test" },
        retryPolicy: { retryCount: 3, initialIntervalMs: 1000n, maxIntervalMs: 30000n, randomizeInterval: true, backoffFactor: 2.0 },
      });
      const job = await client.getJob(handle.id, "retry-tenant");
      expect(job?.retryPolicy?.retryCount).toBe(3);
      expect(job?.retryPolicy?.backoffFactor).toBe(2.0);
    });

    it("enqueues a job with rate limits", async () => {
      const handle = await client.enqueue({
        tenant: "rate-limit-tenant",
        taskGroup: DEFAULT_TASK_GROUP,
        payload: { data: "rate-limit-test" },
        limits: [
          {
            type: "rateLimit",
            name: "api-requests",
            uniqueKey: "user:456",
            limit: 100n,
            durationMs: 60000n,
            hits: 1,
            algorithm: GubernatorAlgorithm.TOKEN_BUCKET,
            retryPolicy: { initialBackoffMs: 100n, maxBackoffMs: 5000n, backoffMultiplier: 2.0, maxRetries: 10 },
          },
        ],
      });
      const job = await client.getJob(handle.id, "rate-limit-tenant");
      expect(job?.limits).toHaveLength(1);
      const limit = job!.limits[0]!;
      expect(limit.type).toBe("rateLimit");
      if (limit.type === "rateLimit") {
        expect(limit.name).toBe("api-requests");
        expect(limit.limit).toBe(100n);
        expect(limit.durationMs).toBe(60000n);
        expect(limit.algorithm).toBe(GubernatorAlgorithm.TOKEN_BUCKET);
        expect(limit.retryPolicy?.maxBackoffMs).toBe(5000n);
        expect(limit.retryPolicy?.maxRetries).toBe(10);
      }
    });

    it("getJob returns the result field for succeeded jobs, and none for failed ones", async () => {
      const resultData = { answer: 42, nested: { ok: true } };
      const ok = await client.enqueue({ tenant: "result-field-tenant", taskGroup: DEFAULT_TASK_GROUP, payload: {} });
      expect((await client.getJob(ok.id, "result-field-tenant")).result).toBeUndefined();
      const task = await leaseJob(ok.id, "result-field-tenant");
      await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: resultData } });
      const succeeded = await client.getJob(ok.id, "result-field-tenant", { includeAttempts: true });
      expect(succeeded.status).toBe(JobStatus.Succeeded);
      expect(succeeded.result).toEqual(resultData);
      expect(succeeded.attempts!.length).toBeGreaterThan(0);

      const bad = await client.enqueue({ tenant: "result-field-failed-tenant", taskGroup: DEFAULT_TASK_GROUP, payload: {} });
      const failing = await leaseJob(bad.id, "result-field-failed-tenant");
      await client.reportOutcome({
        shard: failing.shard,
        taskId: failing.id,
        tenant: failing.tenantId,
        outcome: { type: "failure", code: "TEST_ERR", data: { msg: "failed" } },
      });
      const failed = await client.getJob(bad.id, "result-field-failed-tenant", { includeAttempts: true });
      expect(failed.status).toBe(JobStatus.Failed);
      expect(failed.result).toBeUndefined();
      expect(failed.attempts![0]!.status).toBe(AttemptStatus.Failed);
    });
  });

  describe("leaseTasks, reportOutcome and heartbeat", () => {
    it("leases a task with its raw payload and reports success", async () => {
      const payload = { action: "process", value: 42 };
      const handle = await client.enqueue({ tenant: "lease-tenant", taskGroup: DEFAULT_TASK_GROUP, id: `lease-success-${Date.now()}`, payload, priority: 1 });
      const task = await leaseJob(handle.id, "lease-tenant", "test-worker-3");
      expect(task.attemptNumber).toBe(1);
      expect(task.priority).toBe(1);
      expect(decodePayload(task.payload?.encoding.oneofKind === "msgpack" ? task.payload.encoding.msgpack : undefined)).toEqual(payload);
      await client.heartbeat("test-worker-3", task.id, task.shard, task.tenantId);
      await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: { processed: true } } });
      expect(await handle.getStatus()).toBe(JobStatus.Succeeded);
    });
  });

  describe("expediteJob and leaseTask", () => {
    it("expedites a future-scheduled job to run immediately", async () => {
      const tenant = "expedite-tenant";
      const handle = await client.enqueue({ tenant, taskGroup: DEFAULT_TASK_GROUP, payload: {}, startAtMs: BigInt(Date.now() + 3_600_000) });
      const shard = client.getShardForTenant(tenant);
      const before = await client.leaseTasks({ workerId: "expedite-worker", maxTasks: 50, shard, taskGroup: DEFAULT_TASK_GROUP });
      expect(before.tasks.find((t) => t.jobId === handle.id)).toBeUndefined();
      await client.expediteJob(handle.id, tenant);
      const task = await leaseJob(handle.id, tenant);
      await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: {} } });
    });

    it("expedite and leaseTask throw for a non-existent job and for a running job", async () => {
      const tenant = "lease-task-tenant";
      await expect(client.expediteJob("non-existent-job", tenant)).rejects.toThrow();
      await expect(client.leaseTask({ id: "non-existent-job", workerId: "w", tenant })).rejects.toThrow();
      const handle = await client.enqueue({ tenant, taskGroup: DEFAULT_TASK_GROUP, payload: {} });
      const task = await client.leaseTask({ id: handle.id, workerId: "lease-task-worker", tenant });
      expect(task.jobId).toBe(handle.id);
      expect(await handle.getStatus()).toBe(JobStatus.Running);
      await expect(client.expediteJob(handle.id, tenant)).rejects.toThrow();
      await expect(client.leaseTask({ id: handle.id, workerId: "other", tenant })).rejects.toThrow();
      await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: {} } });
    });
  });

  describe("large payloads", () => {
    it("round-trips a 1 MB binary payload", async () => {
      const data = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
      const handle = await client.enqueue({ tenant: "large-tenant", taskGroup: DEFAULT_TASK_GROUP, payload: { data } });
      const job = await client.getJob(handle.id, "large-tenant");
      const retrieved = (job?.payload as { data: Uint8Array }).data;
      expect(retrieved.length).toBe(data.length);
      expect(Buffer.compare(retrieved, data)).toBe(0);
    });
  });

  describe("topology changes and connection management", () => {
    it("keeps working across repeated topology refreshes", async () => {
      for (let i = 0; i < 3; i++) await client.refreshTopology();
      const handle = await client.enqueue({ tenant: "after-refresh", taskGroup: DEFAULT_TASK_GROUP, payload: {} });
      expect(await handle.getStatus()).toBe(JobStatus.Scheduled);
    });

    it("takes a server address as a { host, port } object", async () => {
      const [host, port] = server.addresses[0]!.split(":");
      const objClient = new SiloGRPCClient({ servers: { host: host!, port: Number(port) }, useTls: false, shardRouting: { topologyRefreshIntervalMs: 0 } });
      await objClient.refreshTopology();
      expect(objClient.getTopology().shards.length).toBe(4);
      objClient.close();
    });
  });
});
