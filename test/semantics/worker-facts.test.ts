// Contract section "Worker facts", one test per bullet, over gRPC and gRPC-web.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptStatus, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import type { SemanticsServer } from "./harness.js";
import { concurrency, expectError, floating, jobOps, msgpack, shardForTenant, startSemanticsServer, transports, unpack } from "./harness.js";

describe.each(transports)("Worker facts over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  it("Worker facts: LeaseTasks requires a task group, max_tasks 0 returns nothing, and a shard narrows it to that shard", async () => {
    await expectError(s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "" }), Code.InvalidArgument, "task_group is required");
    const g = ops.group();
    await ops.enqueue(g);
    expect(await ops.lease(g, 0)).toHaveLength(0);
    await expectError(s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: g, shard: "bad" }), Code.InvalidArgument, "invalid shard ID: bad");
    const res = await s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: g, shard: s.shard });
    expect(res.tasks).toHaveLength(1);
  });

  it("Worker facts: leasing orders by start time first; priority only breaks ties within the same millisecond (src/keys.rs)", async () => {
    const g = ops.group();
    const early = await ops.enqueue(g, { priority: 90 });
    s.clock.advance(1);
    const lateHigh = await ops.enqueue(g, { priority: 0 });
    const sameMsLow = await ops.enqueue(g, { priority: 50 });
    const past = await ops.enqueue(g, { priority: 99, startAtMs: BigInt(s.clock.now() - 10_000) });
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([past, early, lateHigh, sameMsLow]);
  });

  it("Worker facts: a task carries shard, no tenant_id for the default tenant, lease_ms 10000 and the job's fields", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { priority: 7, metadata: { a: "b" }, payload: msgpack({ p: 1 }) });
    const [t] = await ops.lease(g);
    expect(t).toMatchObject({ jobId: id, shard: s.shard, leaseMs: 10_000n, priority: 7, taskGroup: g, metadata: { a: "b" } });
    expect(t?.tenantId).toBeUndefined();
    expect(unpack(t?.payload)).toEqual({ p: 1 });
  });

  it("Worker facts: refresh tasks come in refresh_tasks and are not counted against max_tasks", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    await ops.enqueue(g, { limits: [floating(key, 1, 1000n)] });
    await ops.enqueue(g, { limits: [floating(key, 1, 1000n)] });
    const res = await s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: g });
    expect(res.tasks).toHaveLength(1);
    expect(res.refreshTasks).toHaveLength(1);
  });

  it("Worker facts: Heartbeat finds the lease by task id, checks the owner, and renews a lease past its expiry that was not reaped yet", async () => {
    await expectError(s.client.heartbeat({ shard: s.shard, workerId: "w", taskId: "nope" }), Code.NotFound, "lease not found");
    const g = ops.group();
    const id = await ops.enqueue(g);
    const [t] = await ops.lease(g, 1, "w1");
    await expectError(s.client.heartbeat({ shard: s.shard, workerId: "w2", taskId: t!.id }), Code.FailedPrecondition, "lease owner mismatch");
    s.clock.advance(15_000);
    expect((await s.client.heartbeat({ shard: s.shard, workerId: "w1", taskId: t!.id })).cancelled).toBe(false);
    s.server.reap();
    expect((await ops.job(id)).status).toBe(JobStatus.RUNNING);
  });

  it("Worker facts: an expired lease fails the attempt with WORKER_CRASHED and the retry rule applies", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: { retryCount: 1, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 } });
    await ops.lease(g);
    s.clock.advance(10_000);
    s.server.reap();
    const job = await ops.job(id);
    expect(job.status).toBe(JobStatus.SCHEDULED);
    expect(job.attempts[0]).toMatchObject({ status: AttemptStatus.FAILED, errorCode: "WORKER_CRASHED" });
  });

  it("Worker facts: without tenancy an expired lease of a cancelled job makes it CANCELLED (src/job_store_shard/lease.rs)", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    s.clock.advance(10_000);
    s.server.reap();
    const job = await ops.job(id);
    expect(job.status).toBe(JobStatus.CANCELLED);
    expect(job.attempts[0]?.status).toBe(AttemptStatus.CANCELLED);
  });

  it("Worker facts: ReportOutcome needs an outcome, answers NOT_FOUND for an unknown lease, and accepts an outcome on an expired lease not yet reaped", async () => {
    await expectError(s.client.reportOutcome({ shard: s.shard, taskId: "x", outcome: { case: undefined } }), Code.InvalidArgument, "missing outcome");
    await expectError(ops.succeed("nope"), Code.NotFound, "lease not found");
    const g = ops.group();
    const id = await ops.enqueue(g);
    const [t] = await ops.lease(g);
    s.clock.advance(20_000);
    await ops.succeed(t!.id, "late");
    expect((await ops.job(id)).status).toBe(JobStatus.SUCCEEDED);
  });

  it("Worker facts: LeaseTask requires a worker id, leases a named job past its limits with relative = attempt number", async () => {
    const g = ops.group();
    const key = ops.group("k");
    await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const future = await ops.enqueue(g, { startAtMs: BigInt(s.clock.now() + 60_000), limits: [concurrency(key, 1)] });
    await expectError(s.client.leaseTask({ shard: s.shard, id: future, workerId: "" }), Code.InvalidArgument, "worker_id is required");
    const { task } = await s.client.leaseTask({ shard: s.shard, id: future, workerId: "w" });
    expect(task).toMatchObject({ jobId: future, attemptNumber: 1, relativeAttemptNumber: 1, leaseMs: 10_000n });
    expect((await ops.job(future)).status).toBe(JobStatus.RUNNING);
  });

  it("Worker facts: LeaseTask refuses in the server's order: running, terminal, cancelled, no pending task in queue", async () => {
    const g = ops.group();
    const refuse = (id: string, reason: string, status: string) => `cannot lease job ${id}: ${reason} (status: ${status})`;
    const id = await ops.enqueue(g);
    const { task } = await s.client.leaseTask({ shard: s.shard, id, workerId: "w" });
    await expectError(s.client.leaseTask({ shard: s.shard, id, workerId: "w" }), Code.FailedPrecondition, refuse(id, "job is currently running", "Running"));
    await ops.succeed(task!.id);
    await expectError(s.client.leaseTask({ shard: s.shard, id, workerId: "w" }), Code.FailedPrecondition, refuse(id, "job is already in terminal state", "Succeeded"));
    const key = ops.group("k");
    await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const waiting = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    await expectError(
      s.client.leaseTask({ shard: s.shard, id: waiting, workerId: "w" }),
      Code.FailedPrecondition,
      refuse(waiting, "job has no pending task in queue", "Scheduled"),
    );
    await expectError(s.client.leaseTask({ shard: s.shard, id: "nope", workerId: "w" }), Code.NotFound, "job not found");
    // Cancelled while running, then failed with a retry left: SCHEDULED, with a cancellation record.
    const retried = await ops.enqueue(g, { retryPolicy: { retryCount: 1, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 } });
    const { task: t2 } = await s.client.leaseTask({ shard: s.shard, id: retried, workerId: "w" });
    await s.client.cancelJob({ shard: s.shard, id: retried });
    await ops.fail(t2!.id);
    await expectError(s.client.leaseTask({ shard: s.shard, id: retried, workerId: "w" }), Code.FailedPrecondition, refuse(retried, "job is cancelled", "Scheduled"));
  });
});

describe.each(transports)("Worker facts with tenancy over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  let shard: string;
  const tenant = "acme";
  beforeAll(async () => {
    s = await startSemanticsServer(transport, { tenancy: true, shards: 2 });
    ops = jobOps(s);
    shard = shardForTenant(await s.client.getClusterInfo({}), tenant).shardId;
  });
  afterAll(() => s.server.close());

  it("Worker facts: with tenancy worker RPCs must carry a tenant_id in the shard's range, not necessarily the task's", async () => {
    const g = ops.group();
    await s.client.enqueue({ shard, tenant, taskGroup: g });
    const [t] = (await s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: g })).tasks;
    expect(t?.tenantId).toBe(tenant);
    await expectError(
      s.client.heartbeat({ shard, workerId: "w", taskId: t!.id }),
      Code.InvalidArgument,
      "tenant_id is required for worker operations when tenancy is enabled",
    );
    const info = await s.client.getClusterInfo({});
    const otherTenant = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"].find((x) => shardForTenant(info, x).shardId === shard && x !== tenant) as string;
    const outside = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"].find((x) => shardForTenant(info, x).shardId !== shard) as string;
    await expect(s.client.heartbeat({ shard, workerId: "w", taskId: t!.id, tenantId: otherTenant })).resolves.toMatchObject({ cancelled: false });
    const err = await expectError(s.client.heartbeat({ shard, workerId: "w", taskId: t!.id, tenantId: outside }), Code.FailedPrecondition);
    expect(err.rawMessage).toContain(`tenant '${outside}' is not within shard ${shard} range`);
  });

  it("Worker facts: with tenancy an expired lease of a cancelled job is WORKER_CRASHED, not CANCELLED (src/server.rs)", async () => {
    const g = ops.group();
    const { id } = await s.client.enqueue({ shard, tenant, taskGroup: g });
    await s.client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: g });
    await s.client.cancelJob({ shard, tenant, id });
    s.clock.advance(10_000);
    s.server.reap();
    const job = await s.client.getJob({ shard, tenant, id, includeAttempts: true });
    expect(job.status).toBe(JobStatus.FAILED);
    expect(job.attempts[0]?.errorCode).toBe("WORKER_CRASHED");
  });
});
