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
  const floating = (taskGroup: string, key: string) => ({
    taskGroup,
    payload: {},
    limits: [{ type: "floatingConcurrency", key, defaultMaxConcurrency: 1, refreshIntervalMs: 50, metadata: { plan: "pro" } }],
  });

  it("asks refreshHandler for the new maximum and reports it", async () => {
    const { server, client } = await startCluster();
    try {
      const taskGroup = uniqueGroup();
      const seen: RefreshTaskContext[] = [];
      const worker = new SiloWorker({
        client,
        workerId: "refresher",
        taskGroup,
        pollIntervalMs: 10,
        handler: async () => ({ type: "success", result: null }),
        refreshHandler: async (ctx) => {
          seen.push(ctx);
          return ctx.task.currentMaxConcurrency + 2;
        },
      });
      worker.start();
      const handle = await client.enqueue(floating(taskGroup, "api-quota") as never);
      await waitForStatus(client, handle.id, "Succeeded");
      await waitFor(() => seen.length >= 2, "two refreshes");
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
    } finally {
      await server.close();
    }
  });

  it("reports a throwing refreshHandler as a refresh failure and keeps the old maximum", async () => {
    const { server, client } = await startCluster();
    try {
      const taskGroup = uniqueGroup();
      const maxima: number[] = [];
      const errors: Error[] = [];
      const worker = new SiloWorker({
        client,
        workerId: "refresher",
        taskGroup,
        pollIntervalMs: 10,
        onError: (e) => errors.push(e),
        handler: async () => ({ type: "success", result: null }),
        refreshHandler: async (ctx) => {
          maxima.push(ctx.task.currentMaxConcurrency);
          throw new Error("quota service down");
        },
      });
      worker.start();
      await client.enqueue(floating(taskGroup, "flaky-quota") as never);
      // The server retries a failed refresh after a backoff: a second refresh proves the first was reported.
      await waitFor(() => maxima.length >= 2, "a refresh after the failed one", 15_000);
      await worker.stop();
      expect(maxima.slice(0, 2)).toEqual([1, 1]);
      expect(errors).toEqual([]);
      expect(server.rpcCounts().ReportRefreshOutcome).toBeGreaterThanOrEqual(1);
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
      const handle = await client.enqueue(floating(taskGroup, "unrefreshed") as never);
      await waitForStatus(client, handle.id, "Succeeded");
      await waitFor(() => errors.some((e) => /refreshHandler/.test(e.message)), "the missing-handler error");
      await sleep(50);
      await worker.stop();
      expect(server.rpcCounts().ReportRefreshOutcome ?? 0).toBe(0);
    } finally {
      await server.close();
    }
  });
});
