// Contract section "Job lifecycle facts", one test per bullet, over gRPC and gRPC-web.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptStatus, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import type { SemanticsServer } from "./harness.js";
import { concurrency, expectError, jobOps, startSemanticsServer, transports, unpack } from "./harness.js";

const policy = { retryCount: 1, initialIntervalMs: 1000n, maxIntervalMs: 60_000n, backoffFactor: 2, randomizeInterval: false };

describe.each(transports)("Job lifecycle facts over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  it("Job lifecycle facts: a failed attempt with retries left goes back to SCHEDULED at failure time + initial×factor, then FAILED", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: policy });
    const [t1] = await ops.lease(g);
    await ops.fail(t1!.id);
    const failedAt = s.clock.now();
    let job = await ops.job(id);
    expect(job.status).toBe(JobStatus.SCHEDULED);
    expect(job.nextAttemptStartsAfterMs).toBe(BigInt(failedAt + 2000));
    s.clock.advance(2000);
    const [t2] = await ops.lease(g);
    expect(t2?.attemptNumber).toBe(2);
    await ops.fail(t2!.id);
    job = await ops.job(id);
    expect(job.status).toBe(JobStatus.FAILED);
  });

  it("Job lifecycle facts: attempt_number only grows, RestartJob resets relative_attempt_number to 1, is_last_attempt from retry_count", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: { ...policy, maxIntervalMs: 0n } });
    const [t1] = await ops.lease(g);
    expect([t1?.attemptNumber, t1?.relativeAttemptNumber, t1?.isLastAttempt]).toEqual([1, 1, false]);
    await ops.fail(t1!.id);
    const [t2] = await ops.lease(g);
    expect([t2?.attemptNumber, t2?.relativeAttemptNumber, t2?.isLastAttempt]).toEqual([2, 2, true]);
    await ops.fail(t2!.id);
    await s.client.restartJob({ shard: s.shard, id });
    const [t3] = await ops.lease(g);
    expect([t3?.attemptNumber, t3?.relativeAttemptNumber, t3?.isLastAttempt]).toEqual([3, 1, false]);
    const g2 = ops.group();
    await ops.enqueue(g2);
    expect((await ops.lease(g2))[0]?.isLastAttempt).toBe(true);
  });

  it("Job lifecycle facts: GetJob answers NOT_FOUND for an unknown id, attempts in order, the result of a SUCCEEDED job, and RUNNING for a cancelled running job", async () => {
    await expectError(s.client.getJob({ shard: s.shard, id: "nope" }), Code.NotFound, "job not found");
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: { ...policy, maxIntervalMs: 0n } });
    await ops.fail((await ops.lease(g))[0]!.id);
    const [t2] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    expect((await ops.job(id)).status).toBe(JobStatus.RUNNING);
    await ops.succeed(t2!.id, { ok: 1 });
    const job = await ops.job(id);
    expect(job.attempts.map((a) => [a.attemptNumber, a.status])).toEqual([
      [1, AttemptStatus.FAILED],
      [2, AttemptStatus.SUCCEEDED],
    ]);
    expect(unpack(job.result)).toEqual({ ok: 1 });
  });

  it("Job lifecycle facts: next_attempt_starts_after_ms is set while SCHEDULED and kept when the job is cancelled while SCHEDULED", async () => {
    const g = ops.group();
    const at = s.clock.now() + 60_000;
    const id = await ops.enqueue(g, { startAtMs: BigInt(at) });
    expect((await ops.job(id)).nextAttemptStartsAfterMs).toBe(BigInt(at));
    await s.client.cancelJob({ shard: s.shard, id });
    const job = await ops.job(id);
    expect(job.status).toBe(JobStatus.CANCELLED);
    expect(job.nextAttemptStartsAfterMs).toBe(BigInt(at));
  });

  it("Job lifecycle facts: GetJobResult refuses an unfinished job with its status name, a cancelled running one included", async () => {
    await expectError(s.client.getJobResult({ shard: s.shard, id: "nope" }), Code.NotFound, "job not found");
    const g = ops.group();
    const id = await ops.enqueue(g);
    await expectError(s.client.getJobResult({ shard: s.shard, id }), Code.FailedPrecondition, "job is not complete: status is Scheduled");
    await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    await expectError(s.client.getJobResult({ shard: s.shard, id }), Code.FailedPrecondition, "job is not complete: status is Running");
  });

  it("Job lifecycle facts: GetJobResult answers from the latest attempt, so a job cancelled while waiting for a retry reads FAILED", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: policy });
    await ops.fail((await ops.lease(g))[0]!.id, "E1", { why: "x" });
    const failedAt = s.clock.now();
    s.clock.advance(5);
    await s.client.cancelJob({ shard: s.shard, id });
    expect((await ops.job(id)).status).toBe(JobStatus.CANCELLED);
    const res = await s.client.getJobResult({ shard: s.shard, id });
    expect(res.status).toBe(JobStatus.FAILED);
    expect(res.finishedAtMs).toBe(BigInt(failedAt));
    expect(res.result.case).toBe("failure");
    if (res.result.case === "failure") {
      expect(res.result.value.errorCode).toBe("E1");
      expect(unpack(res.result.value.errorData)).toEqual({ why: "x" });
    }
  });

  it("Job lifecycle facts: GetJobResult of a job cancelled before any attempt answers CANCELLED at the status change time", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    s.clock.advance(7);
    const at = s.clock.now();
    await s.client.cancelJob({ shard: s.shard, id });
    const res = await s.client.getJobResult({ shard: s.shard, id });
    expect(res.status).toBe(JobStatus.CANCELLED);
    expect(res.finishedAtMs).toBe(BigInt(at));
    expect(res.result).toEqual({ case: "cancelled", value: expect.objectContaining({ cancelledAtMs: BigInt(at) }) });
  });

  it("Job lifecycle facts: GetJobResult of a cancelled attempt answers CANCELLED at the attempt's finish time", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    const [t] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    s.clock.advance(11);
    await ops.cancelled(t!.id);
    const res = await s.client.getJobResult({ shard: s.shard, id });
    expect(res.status).toBe(JobStatus.CANCELLED);
    expect(res.finishedAtMs).toBe(BigInt(s.clock.now()));
  });

  it("Job lifecycle facts: CancelJob checks unknown id, then an existing cancellation, then a terminal status", async () => {
    await expectError(s.client.cancelJob({ shard: s.shard, id: "nope" }), Code.NotFound, "job not found");
    const g = ops.group();
    const id = await ops.enqueue(g);
    await s.client.cancelJob({ shard: s.shard, id });
    await expectError(s.client.cancelJob({ shard: s.shard, id }), Code.FailedPrecondition, "job is already cancelled");
    const done = await ops.enqueue(g);
    await ops.succeed((await ops.lease(g))[0]!.id);
    await expectError(s.client.cancelJob({ shard: s.shard, id: done }), Code.FailedPrecondition, "job is already in terminal state");
  });

  it("Job lifecycle facts: cancelling a SCHEDULED job waiting for a slot makes it CANCELLED at once and takes it out of the queue", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const holder = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const waiter = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    await s.client.cancelJob({ shard: s.shard, id: holder });
    expect((await ops.job(holder)).status).toBe(JobStatus.CANCELLED);
    // The holder's slot was freed, so the waiter got it.
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([waiter]);
  });

  it("Job lifecycle facts: a cancelled RUNNING job's heartbeat says cancelled; success then makes it SUCCEEDED", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    const [t] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    const hb = await s.client.heartbeat({ shard: s.shard, workerId: "w", taskId: t!.id });
    expect(hb.cancelled).toBe(true);
    expect(hb.cancelledAtMs).toBe(BigInt(s.clock.now()));
    await ops.succeed(t!.id);
    expect((await ops.job(id)).status).toBe(JobStatus.SUCCEEDED);
  });

  it("Job lifecycle facts: a cancelled RUNNING job that fails with retries left is retried, and the retry's heartbeats say cancelled", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: { ...policy, maxIntervalMs: 0n } });
    const [t1] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    await ops.fail(t1!.id);
    expect((await ops.job(id)).status).toBe(JobStatus.SCHEDULED);
    const [t2] = await ops.lease(g);
    expect(t2?.jobId).toBe(id);
    expect((await s.client.heartbeat({ shard: s.shard, workerId: "w", taskId: t2!.id })).cancelled).toBe(true);
    await ops.cancelled(t2!.id);
    expect((await ops.job(id)).status).toBe(JobStatus.CANCELLED);
  });

  it("Job lifecycle facts: DeleteJob succeeds for an unknown id, deletes terminal jobs and refuses SCHEDULED or RUNNING ones", async () => {
    await s.client.deleteJob({ shard: s.shard, id: "never-existed" });
    const g = ops.group();
    const id = await ops.enqueue(g);
    const msg = `cannot delete job ${id}: job is currently running or has pending requests`;
    await expectError(s.client.deleteJob({ shard: s.shard, id }), Code.Internal, msg);
    const [t] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    await expectError(s.client.deleteJob({ shard: s.shard, id }), Code.Internal, msg);
    await ops.succeed(t!.id);
    await s.client.deleteJob({ shard: s.shard, id });
    await expectError(s.client.getJob({ shard: s.shard, id }), Code.NotFound, "job not found");
  });

  it("Job lifecycle facts: RestartJob refuses SUCCEEDED, SCHEDULED and RUNNING jobs with the server's text", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    await expectError(s.client.restartJob({ shard: s.shard, id }), Code.FailedPrecondition, `cannot restart job ${id}: job is still in progress (status: Scheduled)`);
    const [t] = await ops.lease(g);
    await s.client.cancelJob({ shard: s.shard, id });
    await expectError(s.client.restartJob({ shard: s.shard, id }), Code.FailedPrecondition, `cannot restart job ${id}: job is still in progress (status: Running)`);
    await ops.succeed(t!.id);
    await expectError(s.client.restartJob({ shard: s.shard, id }), Code.FailedPrecondition, `cannot restart job ${id}: job already succeeded (status: Succeeded)`);
    await expectError(s.client.restartJob({ shard: s.shard, id: "nope" }), Code.NotFound, "job not found");
  });

  it("Job lifecycle facts: RestartJob of a future job cancelled before it ran restarts at its original time, and skips its limits", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const blocker = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const at = s.clock.now() + 30_000;
    const id = await ops.enqueue(g, { startAtMs: BigInt(at), limits: [concurrency(key, 1)] });
    await s.client.cancelJob({ shard: s.shard, id });
    await s.client.restartJob({ shard: s.shard, id });
    const job = await ops.job(id);
    expect(job.status).toBe(JobStatus.SCHEDULED);
    expect(job.nextAttemptStartsAfterMs).toBe(BigInt(at));
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([blocker]);
    s.clock.advance(30_000);
    // The blocker still holds the only slot, yet the restarted attempt runs.
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([id]);
  });

  it("Job lifecycle facts: ExpediteJob moves a future job to now and refuses in the server's order", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { startAtMs: BigInt(s.clock.now() + 60_000) });
    expect(await ops.lease(g)).toHaveLength(0);
    await s.client.expediteJob({ shard: s.shard, id });
    const refuse = (reason: string, status: string) => `cannot expedite job ${id}: ${reason} (status: ${status})`;
    await expectError(s.client.expediteJob({ shard: s.shard, id }), Code.FailedPrecondition, refuse("task is already ready to run (not future-scheduled)", "Scheduled"));
    const [t] = await ops.lease(g);
    expect(t?.jobId).toBe(id);
    await expectError(s.client.expediteJob({ shard: s.shard, id }), Code.FailedPrecondition, refuse("job is currently running", "Running"));
    await s.client.cancelJob({ shard: s.shard, id });
    await expectError(s.client.expediteJob({ shard: s.shard, id }), Code.FailedPrecondition, refuse("job is cancelled", "Running"));
    await ops.succeed(t!.id);
    await expectError(s.client.expediteJob({ shard: s.shard, id }), Code.FailedPrecondition, refuse("job is already in terminal state", "Succeeded"));
    const key = ops.group("k");
    await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const waiting = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    await expectError(
      s.client.expediteJob({ shard: s.shard, id: waiting }),
      Code.FailedPrecondition,
      `cannot expedite job ${waiting}: job has no pending task to expedite (status: Scheduled)`,
    );
  });

  it("Job lifecycle facts: cancel, restart and expedite of an unknown id answer NOT_FOUND; delete succeeds", async () => {
    for (const call of [s.client.cancelJob, s.client.restartJob, s.client.expediteJob]) {
      await expectError(call({ shard: s.shard, id: "missing" }), Code.NotFound, "job not found");
    }
    await expect(s.client.deleteJob({ shard: s.shard, id: "missing" })).resolves.toBeDefined();
  });
});
