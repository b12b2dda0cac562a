// Lost leases and floating-limit refresh tasks on a SiloWorker, as upstream
// typescript_client/src/worker.ts handles them, against the dev server.
import { describe, expect, it } from "vitest";
import { SiloWorker, TaskLeaseLostError, type RefreshTaskContext } from "silo-edge";
import { deferred, sleep, startCluster, uniqueGroup, waitFor, waitForStatus } from "./worker-harness.js";

describe("SiloWorker lost leases (upstream typescript_client/src/worker.ts)", () => {
  it("aborts the handler's signal, passes TaskLeaseLostError to onError, reports nothing, and the retry runs", { timeout: 30_000 }, async () => {
    // Leases of 600 ms and heartbeats every 1.5 s: the first heartbeat finds the lease reaped.
    const { server, client } = await startCluster({ leaseMs: 600 });
    try {
      const taskGroup = uniqueGroup();
      const errors: Array<{ error: Error; taskId?: string }> = [];
      const firstAborted = deferred<boolean>();
      const worker = new SiloWorker({
        client,
        workerId: "lease-loser",
        taskGroup,
        pollIntervalMs: 10,
        heartbeatIntervalMs: 1_500,
        onError: (error, ctx) => errors.push({ error, taskId: ctx?.taskId }),
        handler: async ({ task, cancellationSignal }) => {
          if (task.attemptNumber === 1) {
            await new Promise<void>((resolve) => cancellationSignal.addEventListener("abort", () => resolve(), { once: true }));
            firstAborted.resolve(cancellationSignal.aborted);
            return { type: "success", result: "too late" };
          }
          return { type: "success", result: "second attempt" };
        },
      });
      worker.start();
      const handle = await client.enqueue({ taskGroup, payload: {}, retryPolicy: { retryCount: 1 } as never });
      expect(await firstAborted.promise).toBe(true);
      const job = await waitForStatus(client, handle.id, "Succeeded");
      await worker.stop();

      const lost = errors.filter((e) => e.error instanceof TaskLeaseLostError);
      expect(lost).toHaveLength(1);
      const err = lost[0]!.error as TaskLeaseLostError;
      expect(err.code).toBe("SILO_TASK_LEASE_LOST");
      expect(err.jobId).toBe(handle.id);
      expect(err.taskId).toBe(lost[0]!.taskId);
      expect(String((err.cause as Error).message)).toContain("lease not found");
      expect(job.attempts?.map((a) => [String(a.status).toLowerCase(), a.errorCode])).toEqual([
        ["failed", "WORKER_CRASHED"],
        ["succeeded", undefined],
      ]);
      // Only the retry reported an outcome.
      expect(server.rpcCounts().ReportOutcome).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe("SiloWorker floating-limit refresh tasks (upstream typescript_client/src/worker.ts)", () => {
  // The server asks for a refresh only while a job's limit walk finds the queue full, and then at
  // most once per refresh interval (upstream src/job_store_shard/floating.rs): with a default
  // maximum of 1, a second job waits and its enqueue asks for the first refresh at once.
  const floating = (taskGroup: string, key: string) => ({
    taskGroup,
    payload: {},
    limits: [{ type: "floatingConcurrency", key, defaultMaxConcurrency: 1, refreshIntervalMs: 1_000, metadata: { plan: "pro" } }],
  });

  /** Real time plus jumps the test makes, so the server's refresh interval and backoff pass without sleeping. */
  function jumpingClock(): { now: () => number; jump: (ms: number) => void } {
    let offset = 0;
    return { now: () => Date.now() + offset, jump: (ms) => (offset += ms) };
  }

  it("asks refreshHandler for the new maximum and reports it", async () => {
    const clock = jumpingClock();
    const { server, client } = await startCluster({ clock: clock.now });
    try {
      const taskGroup = uniqueGroup();
      const seen: RefreshTaskContext[] = [];
      const started: string[] = [];
      const release = deferred();
      const worker = new SiloWorker({
        client,
        workerId: "refresher",
        taskGroup,
        pollIntervalMs: 10,
        handler: async ({ task }) => {
          started.push(task.jobId);
          await release.promise;
          return { type: "success", result: null };
        },
        refreshHandler: async (ctx) => {
          seen.push(ctx);
          return ctx.task.currentMaxConcurrency + 2;
        },
      });
      worker.start();
      const first = await client.enqueue(floating(taskGroup, "api-quota") as never);
      const waiting = await client.enqueue(floating(taskGroup, "api-quota") as never);
      await waitFor(() => seen.length >= 1, "the first refresh");
      // The reported maximum of 3 lets the waiting job run next to the first.
      await waitFor(() => started.includes(waiting.id), "the waiting job to start");
      expect(started).toEqual([first.id, waiting.id]);
      // Once the interval has passed, a job that has to wait asks for the next refresh.
      clock.jump(1_000);
      const more = [];
      for (let i = 0; i < 2; i++) more.push(await client.enqueue(floating(taskGroup, "api-quota") as never));
      await waitFor(() => seen.length >= 2, "the second refresh");
      release.resolve();
      for (const h of [first, waiting, ...more]) await waitForStatus(client, h.id, "Succeeded");
      await worker.stop();
      expect(seen[0]).toMatchObject({
        shard: seen[0]!.task.shard,
        workerId: "refresher",
        task: { queueKey: "api-quota", currentMaxConcurrency: 1, metadata: { plan: "pro" }, taskGroup },
      });
      expect(typeof seen[0]!.task.id).toBe("string");
      expect(typeof seen[0]!.task.lastRefreshedAtMs).toBe("bigint");
      expect(typeof seen[0]!.task.leaseMs).toBe("bigint");
      expect(seen[0]!.signal.aborted).toBe(true); // the worker has stopped since
      expect(seen[1]!.task.currentMaxConcurrency).toBe(3);
      expect(server.rpcCounts().ReportRefreshOutcome).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("reports a throwing refreshHandler as a refresh failure and keeps the old maximum", async () => {
    const clock = jumpingClock();
    const { server, client } = await startCluster({ clock: clock.now });
    try {
      const taskGroup = uniqueGroup();
      const maxima: number[] = [];
      const errors: Error[] = [];
      const release = deferred();
      const worker = new SiloWorker({
        client,
        workerId: "refresher",
        taskGroup,
        pollIntervalMs: 10,
        onError: (e) => errors.push(e),
        handler: async () => {
          await release.promise;
          return { type: "success", result: null };
        },
        refreshHandler: async (ctx) => {
          maxima.push(ctx.task.currentMaxConcurrency);
          throw new Error("quota service down");
        },
      });
      worker.start();
      const handles = [await client.enqueue(floating(taskGroup, "flaky-quota") as never), await client.enqueue(floating(taskGroup, "flaky-quota") as never)];
      await waitFor(() => (server.rpcCounts().ReportRefreshOutcome ?? 0) >= 1, "the failed refresh's report");
      // A reported failure backs off 1 s; the second job still waits, so the server asks again then.
      clock.jump(1_000);
      await waitFor(() => maxima.length >= 2, "a refresh after the failed one");
      release.resolve();
      for (const h of handles) await waitForStatus(client, h.id, "Succeeded");
      await worker.stop();
      expect(maxima.slice(0, 2)).toEqual([1, 1]);
      expect(errors).toEqual([]);
      expect(server.rpcCounts().ReportRefreshOutcome).toBeGreaterThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it("without a refreshHandler, tells onError that refresh tasks arrived and lets their leases expire", async () => {
    const { server, client } = await startCluster();
    try {
      const taskGroup = uniqueGroup();
      const errors: Error[] = [];
      const worker = new SiloWorker({
        client,
        workerId: "no-refresher",
        taskGroup,
        pollIntervalMs: 10,
        onError: (e) => errors.push(e),
        handler: async () => ({ type: "success", result: null }),
      });
      worker.start();
      const handles = [await client.enqueue(floating(taskGroup, "unrefreshed") as never), await client.enqueue(floating(taskGroup, "unrefreshed") as never)];
      for (const h of handles) await waitForStatus(client, h.id, "Succeeded");
      await waitFor(() => errors.some((e) => /refreshHandler/.test(e.message)), "the missing-handler error");
      await sleep(50);
      await worker.stop();
      expect(server.rpcCounts().ReportRefreshOutcome ?? 0).toBe(0);
    } finally {
      await server.close();
    }
  });
});
