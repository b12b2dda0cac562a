import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { AttemptStatus, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import type { SiloClient } from "./harness.js";
import { expectError, msgpack, sleep, transports, unpack, uniqueGroup } from "./harness.js";

describe.each(transports)("job lifecycle over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
    client = transport.client(server.addresses[0] as string);
    shard = server.shards()[0]?.id as string;
  });
  afterAll(() => server.close());

  /** Enqueue one job in a fresh task group and lease it. */
  async function enqueueAndLease(init: Parameters<SiloClient["enqueue"]>[0] = {}) {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup, ...init });
    const { tasks } = await client.leaseTasks({ workerId: "worker-1", maxTasks: 1, taskGroup });
    const task = tasks[0];
    if (task === undefined) throw new Error("expected a task");
    return { id, task, taskGroup };
  }

  it("runs a job from enqueue through lease and success to its result", async () => {
    const { id, task } = await enqueueAndLease({ payload: msgpack({ hello: "world" }), metadata: { m: "1" }, priority: 3 });
    expect(task).toMatchObject({
      jobId: id,
      shard,
      attemptNumber: 1,
      relativeAttemptNumber: 1,
      isLastAttempt: true,
      leaseMs: 10_000n,
      priority: 3,
      metadata: { m: "1" },
    });
    expect(unpack(task.payload)).toEqual({ hello: "world" });
    expect((await client.getJob({ shard, id })).status).toBe(JobStatus.RUNNING);
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack({ ok: 1 }) } });
    const job = await client.getJob({ shard, id, includeAttempts: true });
    expect(job.status).toBe(JobStatus.SUCCEEDED);
    expect(unpack(job.result)).toEqual({ ok: 1 });
    expect(job.nextAttemptStartsAfterMs).toBeUndefined();
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]).toMatchObject({ jobId: id, attemptNumber: 1, taskId: task.id, status: AttemptStatus.SUCCEEDED });
    const result = await client.getJobResult({ shard, id });
    expect(result.status).toBe(JobStatus.SUCCEEDED);
    expect(result.result.case).toBe("successData");
    if (result.result.case === "successData") expect(unpack(result.result.value)).toEqual({ ok: 1 });
    expect(result.finishedAtMs).toBe(job.attempts[0]?.finishedAtMs);
  });

  // Start time first, priority only between equal start times (src/keys.rs upstream).
  it("leases the earliest start time first, whatever the priority", async () => {
    const taskGroup = uniqueGroup();
    const now = Date.now();
    await client.enqueue({ shard, taskGroup, id: `${taskGroup}-p50-late`, priority: 50, startAtMs: BigInt(now - 1000) });
    await client.enqueue({ shard, taskGroup, id: `${taskGroup}-p50-early`, priority: 50, startAtMs: BigInt(now - 5000) });
    await client.enqueue({ shard, taskGroup, id: `${taskGroup}-p10`, priority: 10 });
    await client.enqueue({ shard, taskGroup, id: `${taskGroup}-p90`, priority: 90, startAtMs: BigInt(now - 9000) });
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup });
    expect(tasks.map((t) => t.jobId.slice(taskGroup.length + 1))).toEqual(["p90", "p50-early", "p50-late", "p10"]);
  });

  it("leases no more than max_tasks and only from the requested task group", async () => {
    const taskGroup = uniqueGroup();
    for (let i = 0; i < 3; i++) await client.enqueue({ shard, taskGroup });
    await client.enqueue({ shard, taskGroup: uniqueGroup() });
    expect((await client.leaseTasks({ workerId: "w", maxTasks: 2, taskGroup })).tasks).toHaveLength(2);
    expect((await client.leaseTasks({ workerId: "w", maxTasks: 5, taskGroup })).tasks).toHaveLength(1);
    expect((await client.leaseTasks({ workerId: "w", maxTasks: 5, taskGroup, shard })).tasks).toHaveLength(0);
  });

  it("requires a task group to lease", async () => {
    await expectError(client.leaseTasks({ workerId: "w", maxTasks: 1 }), Code.InvalidArgument, "task_group is required");
  });

  it("holds a future job until its start time, and expedite makes it ready at once", async () => {
    const taskGroup = uniqueGroup();
    const startAt = Date.now() + 60_000;
    const { id } = await client.enqueue({ shard, taskGroup, startAtMs: BigInt(startAt) });
    const job = await client.getJob({ shard, id });
    expect(job.status).toBe(JobStatus.SCHEDULED);
    expect(job.nextAttemptStartsAfterMs).toBe(BigInt(startAt));
    expect((await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup })).tasks).toHaveLength(0);
    await client.expediteJob({ shard, id });
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
    expect(tasks[0]?.jobId).toBe(id);
  });

  it("refuses to expedite a job that is ready, running, cancelled or finished", async () => {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup, id: `${taskGroup}-ready` });
    await expectError(
      client.expediteJob({ shard, id }),
      Code.FailedPrecondition,
      `cannot expedite job ${id}: task is already ready to run (not future-scheduled) (status: Scheduled)`,
    );
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
    await expectError(
      client.expediteJob({ shard, id }),
      Code.FailedPrecondition,
      `cannot expedite job ${id}: job is currently running (status: Running)`,
    );
    await client.reportOutcome({ shard, taskId: tasks[0]?.id as string, outcome: { case: "success", value: msgpack(1) } });
    await expectError(
      client.expediteJob({ shard, id }),
      Code.FailedPrecondition,
      `cannot expedite job ${id}: job is already in terminal state (status: Succeeded)`,
    );
    const future = await client.enqueue({ shard, taskGroup, startAtMs: BigInt(Date.now() + 60_000) });
    await client.cancelJob({ shard, id: future.id });
    await expectError(
      client.expediteJob({ shard, id: future.id }),
      Code.FailedPrecondition,
      `cannot expedite job ${future.id}: job is cancelled (status: Cancelled)`,
    );
  });

  it("schedules retries at failure time plus the backoff formula, then fails for good", async () => {
    const policy = { retryCount: 2, initialIntervalMs: 20n, maxIntervalMs: 70n, backoffFactor: 2.5, randomizeInterval: false };
    const { id, task, taskGroup } = await enqueueAndLease({ retryPolicy: policy });
    expect(task.isLastAttempt).toBe(false);

    const observed: bigint[] = [];
    let current = task;
    for (let failure = 0; failure < 3; failure++) {
      await client.reportOutcome({
        shard,
        taskId: current.id,
        outcome: { case: "failure", value: { code: "BOOM", data: msgpack({ failure }) } },
      });
      const job = await client.getJob({ shard, id, includeAttempts: true });
      const failedAt = job.attempts[failure]?.finishedAtMs as bigint;
      if (failure === 2) {
        expect(job.status).toBe(JobStatus.FAILED);
        expect(job.nextAttemptStartsAfterMs).toBeUndefined();
        break;
      }
      expect(job.status).toBe(JobStatus.SCHEDULED);
      const delay = (job.nextAttemptStartsAfterMs as bigint) - failedAt;
      observed.push(delay);
      // The exponent is the failed attempt's relative number, from 1 (src/retry.rs upstream).
      expect(delay).toBe(BigInt(Math.min(70, Math.round(20 * 2.5 ** (failure + 1)))));
      await sleep(Number(delay) + 5);
      const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
      current = tasks[0] as typeof current;
      expect(current).toMatchObject({ jobId: id, attemptNumber: failure + 2, relativeAttemptNumber: failure + 2 });
      expect(current.isLastAttempt).toBe(failure + 2 === 3);
    }
    expect(observed).toEqual([50n, 70n]);
    const result = await client.getJobResult({ shard, id });
    expect(result.status).toBe(JobStatus.FAILED);
    expect(result.result.case).toBe("failure");
    if (result.result.case === "failure") {
      expect(result.result.value.errorCode).toBe("BOOM");
      expect(unpack(result.result.value.errorData)).toEqual({ failure: 2 });
    }
  });

  it("randomizes the retry delay by a factor in [1, 2) before the cap", async () => {
    const policy = { retryCount: 1, initialIntervalMs: 1000n, maxIntervalMs: 1_000_000n, backoffFactor: 1, randomizeInterval: true };
    const { id, task } = await enqueueAndLease({ retryPolicy: policy });
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "failure", value: { code: "X" } } });
    const job = await client.getJob({ shard, id, includeAttempts: true });
    const delay = Number((job.nextAttemptStartsAfterMs as bigint) - (job.attempts[0]?.finishedAtMs as bigint));
    expect(delay).toBeGreaterThanOrEqual(1000);
    expect(delay).toBeLessThan(2000);
  });

  it("extends a lease on heartbeat and checks the lease owner", async () => {
    const { task } = await enqueueAndLease();
    expect(await client.heartbeat({ shard, workerId: "worker-1", taskId: task.id })).toMatchObject({ cancelled: false });
    await expectError(
      client.heartbeat({ shard, workerId: "someone-else", taskId: task.id }),
      Code.FailedPrecondition,
      "lease owner mismatch",
    );
    await expectError(client.heartbeat({ shard, workerId: "worker-1", taskId: "no-such-task" }), Code.NotFound, "lease not found");
  });

  it("refuses an outcome report without an outcome or for an unknown lease", async () => {
    const { task } = await enqueueAndLease();
    await expectError(client.reportOutcome({ shard, taskId: task.id }), Code.InvalidArgument, "missing outcome");
    await expectError(
      client.reportOutcome({ shard, taskId: "no-such-task", outcome: { case: "success", value: msgpack(1) } }),
      Code.NotFound,
      "lease not found",
    );
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack(1) } });
    await expectError(
      client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack(1) } }),
      Code.NotFound,
      "lease not found",
    );
  });

  it("cancels a scheduled job at once", async () => {
    const { id } = await client.enqueue({ shard, taskGroup: uniqueGroup() });
    await client.cancelJob({ shard, id });
    const job = await client.getJob({ shard, id });
    expect(job.status).toBe(JobStatus.CANCELLED);
    const result = await client.getJobResult({ shard, id });
    expect(result.status).toBe(JobStatus.CANCELLED);
    expect(result.result.case).toBe("cancelled");
    if (result.result.case === "cancelled") expect(result.result.value.cancelledAtMs).toBe(job.statusChangedAtMs);
    await expectError(client.cancelJob({ shard, id }), Code.FailedPrecondition, "job is already cancelled");
  });

  it("lets a running job's worker see the cancellation through heartbeat, then report it", async () => {
    const before = Date.now();
    const { id, task } = await enqueueAndLease();
    await client.cancelJob({ shard, id });
    expect((await client.getJob({ shard, id })).status).toBe(JobStatus.RUNNING);
    await expectError(client.cancelJob({ shard, id }), Code.FailedPrecondition, "job is already cancelled");
    const beat = await client.heartbeat({ shard, workerId: "worker-1", taskId: task.id });
    expect(beat.cancelled).toBe(true);
    expect(Number(beat.cancelledAtMs)).toBeGreaterThanOrEqual(before);
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "cancelled", value: {} } });
    const job = await client.getJob({ shard, id, includeAttempts: true });
    expect(job.status).toBe(JobStatus.CANCELLED);
    expect(job.attempts[0]?.status).toBe(AttemptStatus.CANCELLED);
    expect((await client.getJobResult({ shard, id })).result.case).toBe("cancelled");
  });

  it("refuses to cancel a finished job", async () => {
    const { id, task } = await enqueueAndLease();
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack(1) } });
    await expectError(client.cancelJob({ shard, id }), Code.FailedPrecondition, "job is already in terminal state");
  });

  it("answers GetJobResult for an unfinished job with its status name", async () => {
    const { id } = await client.enqueue({ shard, taskGroup: "never-leased" });
    await expectError(client.getJobResult({ shard, id }), Code.FailedPrecondition, "job is not complete: status is Scheduled");
    const leased = await enqueueAndLease();
    await expectError(
      client.getJobResult({ shard, id: leased.id }),
      Code.FailedPrecondition,
      "job is not complete: status is Running",
    );
  });

  it("restarts a failed job with relative attempt 1 and the absolute count going on", async () => {
    const { id, task, taskGroup } = await enqueueAndLease({ retryPolicy: { retryCount: 0, initialIntervalMs: 10n, backoffFactor: 1 } });
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "failure", value: { code: "E" } } });
    expect((await client.getJob({ shard, id })).status).toBe(JobStatus.FAILED);
    await client.restartJob({ shard, id });
    const job = await client.getJob({ shard, id });
    expect(job.status).toBe(JobStatus.SCHEDULED);
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
    expect(tasks[0]).toMatchObject({ jobId: id, attemptNumber: 2, relativeAttemptNumber: 1 });
  });

  it("restarts a cancelled job", async () => {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup });
    await client.cancelJob({ shard, id });
    await client.restartJob({ shard, id });
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
    expect(tasks[0]).toMatchObject({ jobId: id, attemptNumber: 1, relativeAttemptNumber: 1 });
  });

  it("refuses to restart a scheduled, running or succeeded job", async () => {
    const { id, task } = await enqueueAndLease();
    await expectError(
      client.restartJob({ shard, id }),
      Code.FailedPrecondition,
      `cannot restart job ${id}: job is still in progress (status: Running)`,
    );
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack(1) } });
    await expectError(
      client.restartJob({ shard, id }),
      Code.FailedPrecondition,
      `cannot restart job ${id}: job already succeeded (status: Succeeded)`,
    );
    const scheduled = await client.enqueue({ shard, taskGroup: uniqueGroup() });
    await expectError(
      client.restartJob({ shard, id: scheduled.id }),
      Code.FailedPrecondition,
      `cannot restart job ${scheduled.id}: job is still in progress (status: Scheduled)`,
    );
  });

  it("deletes only finished jobs", async () => {
    const { id, task } = await enqueueAndLease();
    await expectError(
      client.deleteJob({ shard, id }),
      Code.Internal,
      `cannot delete job ${id}: job is currently running or has pending requests`,
    );
    await client.reportOutcome({ shard, taskId: task.id, outcome: { case: "success", value: msgpack(1) } });
    await client.deleteJob({ shard, id });
    await expectError(client.getJob({ shard, id }), Code.NotFound, "job not found");
    const scheduled = await client.enqueue({ shard, taskGroup: uniqueGroup() });
    await expectError(
      client.deleteJob({ shard, id: scheduled.id }),
      Code.Internal,
      `cannot delete job ${scheduled.id}: job is currently running or has pending requests`,
    );
  });

  it("leases a named job directly with LeaseTask, and refuses one that cannot run", async () => {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup, startAtMs: BigInt(Date.now() + 60_000) });
    await expectError(client.leaseTask({ shard, id }), Code.InvalidArgument, "worker_id is required");
    const { task } = await client.leaseTask({ shard, id, workerId: "w" });
    expect(task).toMatchObject({ jobId: id, attemptNumber: 1 });
    await expectError(
      client.leaseTask({ shard, id, workerId: "w" }),
      Code.FailedPrecondition,
      `cannot lease job ${id}: job is currently running (status: Running)`,
    );
  });
});

describe.each(transports)("lease expiry over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    // A fast reaper keeps these real-time tests short; the default sweep is every 1 s.
    server = await startDevServer({ port: 0, leaseMs: 200, reaperIntervalMs: 50 });
    client = transport.client(server.addresses[0] as string);
    shard = server.shards()[0]?.id as string;
  });
  afterAll(() => server.close());

  it("fails an attempt whose lease ran out with WORKER_CRASHED and retries it", async () => {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({
      shard,
      taskGroup,
      retryPolicy: { retryCount: 1, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 },
    });
    const first = (await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup })).tasks[0];
    expect(first?.leaseMs).toBe(200n);
    // Nothing calls the server meanwhile: the reaper timer must expire the lease by itself.
    await sleep(450);
    expect(server.jobCount()).toBeGreaterThan(0);
    const job = await client.getJob({ shard, id, includeAttempts: true });
    expect(job.attempts[0]).toMatchObject({ status: AttemptStatus.FAILED, errorCode: "WORKER_CRASHED" });
    const second = (await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup })).tasks[0];
    expect(second).toMatchObject({ jobId: id, attemptNumber: 2, isLastAttempt: true });
    await expectError(
      client.heartbeat({ shard, workerId: "w", taskId: first?.id as string }),
      Code.NotFound,
      "lease not found",
    );
  });


  it("marks an expired attempt of a cancelled job CANCELLED", async () => {
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup, retryPolicy: { retryCount: 3, initialIntervalMs: 0n, backoffFactor: 1 } });
    await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
    await client.cancelJob({ shard, id });
    await sleep(300);
    const job = await client.getJob({ shard, id, includeAttempts: true });
    expect(job.status).toBe(JobStatus.CANCELLED);
    expect(job.attempts[0]?.status).toBe(AttemptStatus.CANCELLED);
  });
});

describe.each(transports)("heartbeats over $name", (transport) => {
  let server: DevServer;

  beforeAll(async () => {
    // Long enough that a slow CI machine still heartbeats in time, short enough to outlive.
    server = await startDevServer({ port: 0, leaseMs: 600 });
  });
  afterAll(() => server.close());

  it("keep a lease alive past its original expiry", async () => {
    const client = transport.client(server.addresses[0] as string);
    const shard = server.shards()[0]?.id as string;
    const taskGroup = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup });
    const task = (await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup })).tasks[0];
    for (let i = 0; i < 4; i++) {
      await sleep(200);
      await client.heartbeat({ shard, workerId: "w", taskId: task?.id as string });
    }
    const job = await client.getJob({ shard, id, includeAttempts: true });
    expect(job.status).toBe(JobStatus.RUNNING);
    expect(job.attempts).toHaveLength(1);
  });
});

describe.each(transports)("worker RPCs with tenancy over $name", (transport) => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, tenancy: true });
  });
  afterAll(() => server.close());

  it("require the task's tenant_id", async () => {
    const client = transport.client(server.addresses[0] as string);
    const shard = server.shards()[0]?.id as string;
    const taskGroup = uniqueGroup();
    await client.enqueue({ shard, taskGroup, tenant: "acme" });
    const task = (await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup })).tasks[0];
    const message = "tenant_id is required for worker operations when tenancy is enabled";
    const refused = await expectError(client.heartbeat({ shard, workerId: "w", taskId: task?.id as string }), Code.InvalidArgument, message);
    expect(refused.metadata.get("x-silo-dev-server-hint")).toContain("--tenancy");
    await expectError(
      client.reportOutcome({ shard, taskId: task?.id as string, outcome: { case: "success", value: msgpack(1) } }),
      Code.InvalidArgument,
      message,
    );
    await client.heartbeat({ shard, workerId: "w", taskId: task?.id as string, tenantId: "acme" });
    await client.reportOutcome({ shard, taskId: task?.id as string, tenantId: "acme", outcome: { case: "success", value: msgpack(1) } });
    expect((await client.getJob({ shard, tenant: "acme", id: task?.jobId as string })).status).toBe(JobStatus.SUCCEEDED);
  });
});
