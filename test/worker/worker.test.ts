import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SiloValidationError } from "../../src/index.js";
import { createWorker, TaskCancelledError, type RefreshContext, type TaskContext, type Worker } from "../../src/worker/index.js";
import { aborted, deferred, errorLog, sleep, startCluster, uniqueGroup, waitFor, type Cluster } from "./harness.js";

describe("createWorker", () => {
  let cluster: Cluster;
  const workers: Worker[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(() => cluster.server.close());

  function start(options: Omit<Parameters<typeof createWorker>[0], "client">): Worker {
    const worker = createWorker({ client: cluster.client, pollIntervalMs: 10, maxPollIntervalMs: 100, ...options });
    workers.push(worker);
    worker.start();
    return worker;
  }

  it("runs a job with its decoded payload and reports the handler's return value as the result", async () => {
    const taskGroup = uniqueGroup();
    const log = errorLog();
    const seen: TaskContext[] = [];
    const worker = start({
      taskGroup,
      onError: log.onError,
      handler: (ctx) => {
        seen.push(ctx);
        return { sum: (ctx.payload as { a: number; b: number }).a + (ctx.payload as { a: number; b: number }).b };
      },
    });
    const job = await cluster.client.enqueue({ taskGroup, payload: { a: 2, b: 3 }, metadata: { source: "test" } });
    const result = await job.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 });
    expect(result).toMatchObject({ outcome: "succeeded", result: { sum: 5 } });
    expect(seen[0]).toMatchObject({
      jobId: job.id,
      attempt: 1,
      relativeAttempt: 1,
      isLastAttempt: true,
      tenant: undefined,
      metadata: { source: "test" },
      taskGroup,
    });
    expect(seen[0]?.signal.aborted).toBe(false);
    // The server records the outcome before its answer reaches the worker, which counts it then.
    await waitFor(() => worker.stats.inFlight === 0, { what: "the worker to count the reported outcome" });
    expect(worker.stats).toMatchObject({ leased: 1, succeeded: 1, failed: 0, inFlight: 0 });
    expect(log.events).toEqual([]);
  });

  it("fails the first attempt, and the retry the server schedules after the backoff succeeds", async () => {
    const taskGroup = uniqueGroup();
    const worker = start({
      taskGroup,
      handler: ({ attempt, isLastAttempt }) => {
        if (attempt === 1) {
          expect(isLastAttempt).toBe(false);
          throw Object.assign(new Error("upstream timed out"), { code: "UPSTREAM_TIMEOUT" });
        }
        return { attempt };
      },
    });
    const job = await cluster.client.enqueue({
      taskGroup,
      payload: null,
      retryPolicy: { retryCount: 2, initialIntervalMs: 200, backoffFactor: 2, maxIntervalMs: 10_000 },
    });
    const result = await job.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 });
    expect(result).toMatchObject({ outcome: "succeeded", result: { attempt: 2 } });

    const { attempts = [] } = await job.getJob({ includeAttempts: true });
    expect(attempts).toHaveLength(2);
    const [first, second] = attempts;
    expect(first).toMatchObject({
      attemptNumber: 1,
      status: "Failed",
      errorCode: "UPSTREAM_TIMEOUT",
      errorData: { message: "upstream timed out", name: "Error" },
    });
    expect(second).toMatchObject({ attemptNumber: 2, status: "Succeeded", result: { attempt: 2 } });
    // The retry starts no earlier than the policy's first interval after the failure.
    expect(Number(second!.startedAtMs - first!.finishedAtMs!)).toBeGreaterThanOrEqual(200);
    expect(worker.stats).toMatchObject({ leased: 2, succeeded: 1, failed: 1 });
  });

  it("reports thrown errors, explicit failures, explicit cancellations and wrapped results as their outcomes", async () => {
    const taskGroup = uniqueGroup();
    start({
      taskGroup,
      handler: ({ payload }) => {
        switch (payload) {
          case "throw-coded":
            throw Object.assign(new TypeError("bad input"), { code: "BAD_INPUT" });
          case "throw-plain":
            throw new RangeError("out of range");
          case "throw-string":
            throw "just a string";
          case "explicit-failure":
            return { type: "failure", code: "NOT_ALLOWED", data: { reason: "quota" } };
          case "explicit-cancel":
            return { type: "cancelled" };
          case "wrapped":
            return { type: "success", result: { type: "failure", note: "this is data" } };
          default:
            return undefined;
        }
      },
    });
    const enqueue = (payload: string) => cluster.client.enqueue({ taskGroup, payload });
    const jobs = {
      coded: await enqueue("throw-coded"),
      plain: await enqueue("throw-plain"),
      str: await enqueue("throw-string"),
      failure: await enqueue("explicit-failure"),
      cancel: await enqueue("explicit-cancel"),
      wrapped: await enqueue("wrapped"),
    };
    const wait = { timeoutMs: 5_000, pollIntervalMs: 20 };
    expect(await jobs.coded.awaitResult(wait)).toMatchObject({ outcome: "failed", errorCode: "BAD_INPUT", errorData: { message: "bad input", name: "TypeError" } });
    expect(await jobs.plain.awaitResult(wait)).toMatchObject({ outcome: "failed", errorCode: "HANDLER_ERROR", errorData: { message: "out of range", name: "RangeError" } });
    expect(await jobs.str.awaitResult(wait)).toMatchObject({ outcome: "failed", errorCode: "HANDLER_ERROR", errorData: { message: "just a string", name: "string" } });
    expect(await jobs.failure.awaitResult(wait)).toMatchObject({ outcome: "failed", errorCode: "NOT_ALLOWED", errorData: { reason: "quota" } });
    expect(await jobs.cancel.awaitResult(wait)).toMatchObject({ outcome: "cancelled", status: "Cancelled" });
    expect(await jobs.wrapped.awaitResult(wait)).toMatchObject({ outcome: "succeeded", result: { type: "failure", note: "this is data" } });
  });

  it("aborts the handler's signal when its running job is cancelled and reports the job as cancelled", async () => {
    const taskGroup = uniqueGroup();
    const started = deferred();
    let reason: unknown;
    const worker = start({
      taskGroup,
      heartbeatIntervalMs: 20,
      handler: async ({ signal }) => {
        started.resolve();
        reason = await aborted(signal);
        return "finished anyway";
      },
    });
    const job = await cluster.client.enqueue({ taskGroup, payload: {} });
    await started.promise;
    expect(await job.getStatus()).toBe("Running");
    await job.cancel();

    const result = await job.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 });
    expect(result.outcome).toBe("cancelled");
    expect(reason).toBeInstanceOf(TaskCancelledError);
    const { attempts = [] } = await job.getJob({ includeAttempts: true });
    expect(attempts.map((a) => a.status)).toEqual(["Cancelled"]);
    expect(worker.stats).toMatchObject({ leased: 1, cancelled: 1, succeeded: 0 });
  });

  it("heartbeats a long-running attempt so its lease outlives the lease length", async () => {
    const slow = await startCluster({ leaseMs: 600 });
    try {
      const taskGroup = uniqueGroup();
      const log = errorLog();
      const worker = createWorker({
        client: slow.client,
        taskGroup,
        pollIntervalMs: 10,
        onError: log.onError,
        handler: async () => {
          await sleep(1_500);
          return "done";
        },
      });
      worker.start();
      const job = await slow.client.enqueue({ taskGroup, payload: 1 });
      expect(await job.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 })).toMatchObject({ outcome: "succeeded", result: "done" });
      await worker.stop();
      // Default interval: a third of the 600 ms lease, so about seven beats over 1.5 s.
      expect(slow.server.rpcCounts().Heartbeat).toBeGreaterThanOrEqual(5);
      expect(worker.stats).toMatchObject({ succeeded: 1, lostLeases: 0 });
      expect(log.events).toEqual([]);
    } finally {
      await slow.server.close();
    }
  });

  it("stop() waits for the running handler to finish and its outcome to be reported, and leases nothing more", async () => {
    const taskGroup = uniqueGroup();
    const started = deferred();
    const release = deferred();
    const worker = start({
      taskGroup,
      handler: async () => {
        started.resolve();
        await release.promise;
        return "graceful";
      },
    });
    const job = await cluster.client.enqueue({ taskGroup, payload: {} });
    await started.promise;

    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    expect(worker.running).toBe(false);
    await sleep(100);
    expect(stopped).toBe(false);
    expect(worker.stats.inFlight).toBe(1);

    const later = await cluster.client.enqueue({ taskGroup, payload: {} });
    release.resolve();
    await stopping;
    // Reported before stop() resolved: no waiting needed.
    expect(await job.getResult()).toMatchObject({ outcome: "succeeded", result: "graceful" });
    expect(worker.stats).toMatchObject({ leased: 1, succeeded: 1, inFlight: 0 });
    const polls = cluster.server.rpcCounts().LeaseTasks;
    await sleep(200);
    expect(cluster.server.rpcCounts().LeaseTasks).toBe(polls);
    expect(await later.getStatus()).toBe("Scheduled");
  });

  it("stop() on an idle worker resolves without waiting out the poll pause", async () => {
    const worker = start({ taskGroup: uniqueGroup(), pollIntervalMs: 5_000, maxPollIntervalMs: 5_000, handler: () => null });
    await sleep(50);
    const outcome = await Promise.race([worker.stop().then(() => "stopped"), sleep(2_000).then(() => "still waiting")]);
    expect(outcome).toBe("stopped");
  });

  it("backs off while idle, polling far less often than a fixed-interval poller, and still picks up new work", async () => {
    const idle = await startCluster();
    try {
      const taskGroup = uniqueGroup();
      const worker = createWorker({ client: idle.client, taskGroup, pollIntervalMs: 20, maxPollIntervalMs: 800, handler: () => "ok" });
      idle.server.resetRpcCounts();
      worker.start();
      await sleep(3_000);
      const polls = idle.server.rpcCounts().LeaseTasks ?? 0;
      // A poller fixed at 20 ms would have made about 150 calls; backing off (20, 40, ... 800 ms)
      // makes about 10.
      expect(polls).toBeGreaterThan(0);
      expect(polls).toBeLessThan(150 / 5);
      await worker.stop();
      expect(worker.stats.polls).toBe(idle.server.rpcCounts().LeaseTasks);

      // Started again, it picks up new work.
      worker.start();
      const job = await idle.client.enqueue({ taskGroup, payload: {} });
      expect(await job.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 })).toMatchObject({ outcome: "succeeded", result: "ok" });
      await worker.stop();
    } finally {
      await idle.server.close();
    }
  });

  // A refresh is asked for when a job has to wait for the floating limit, not on a timer
  // (src/job_store_shard/floating.rs upstream); the new maximum then lets waiting jobs run.
  it("answers a floating-limit refresh with onRefresh's new maximum, which lets waiting jobs run", async () => {
    const taskGroup = uniqueGroup();
    const refreshes: RefreshContext[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    start({
      taskGroup,
      handler: async (ctx) => {
        if ((ctx.payload as { block?: boolean }).block) await gate;
        return "ok";
      },
      onRefresh: (ctx) => {
        refreshes.push(ctx);
        return ctx.currentMaxConcurrency + 2;
      },
    });
    const limits = [{ type: "floatingConcurrency" as const, key: "api-quota", defaultMaxConcurrency: 1, refreshIntervalMs: 50, metadata: { plan: "pro" } }];
    const blocker = await cluster.client.enqueue({ taskGroup, payload: { block: true }, limits });
    const waiting = [
      await cluster.client.enqueue({ taskGroup, payload: {}, limits }),
      await cluster.client.enqueue({ taskGroup, payload: {}, limits }),
    ];
    try {
      // The blocker holds the only default slot until the end; the others run on the new maximum.
      await Promise.all(waiting.map((j) => j.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 })));
      expect(refreshes[0]).toMatchObject({ queueKey: "api-quota", currentMaxConcurrency: 1, metadata: { plan: "pro" } });
    } finally {
      release();
    }
    await blocker.awaitResult({ timeoutMs: 5_000, pollIntervalMs: 20 });
  });

  it("rejects bad options when it is created, naming the field", () => {
    const base = { client: cluster.client, taskGroup: "g", handler: () => null };
    expect(() => createWorker({ ...base, taskGroup: "" })).toThrow(SiloValidationError);
    expect(() => createWorker({ ...base, handler: undefined as never })).toThrow(/handler/);
    expect(() => createWorker({ ...base, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createWorker({ ...base, pollIntervalMs: 500, maxPollIntervalMs: 100 })).toThrow(/maxPollIntervalMs/);
    expect(() => createWorker({ ...base, client: {} as never })).toThrow(/client/);
    expect(() => createWorker({ ...base, concurency: 2 } as never)).toThrow(/concurency/);
  });
});
