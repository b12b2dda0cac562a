import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloValidationError, type JobHandle } from "../../src/index.js";
import { DrainBudgetExceededError, drainTasks } from "../../src/worker/index.js";
import { aborted, errorLog, sleep, startCluster, uniqueGroup, type Cluster } from "./harness.js";

async function statuses(jobs: JobHandle[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const job of jobs) {
    const status = await job.getStatus();
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

describe("drainTasks", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, shards: 4 });
  });
  afterAll(() => cluster.server.close());

  it("returns within its budget, reports every task it leased, and leaves the rest queued", async () => {
    const { client, server } = cluster;
    const taskGroup = uniqueGroup();
    const jobs = await Promise.all(Array.from({ length: 40 }, (_, i) => client.enqueue({ taskGroup, payload: i })));
    const log = errorLog();
    server.resetRpcCounts();

    const result = await drainTasks({
      client,
      taskGroup,
      budgetMs: 1_000,
      reserveMs: 300,
      concurrency: 2,
      onError: log.onError,
      handler: async ({ payload }) => {
        await sleep(100);
        return (payload as number) * 10;
      },
    });

    expect(result.stoppedBecause).toBe("budget");
    expect(result.durationMs).toBeLessThan(1_000);
    expect(result.leased).toBeGreaterThan(0);
    expect(result.leased).toBeLessThan(jobs.length);
    expect(result).toMatchObject({ succeeded: result.leased, failed: 0, cancelled: 0, lostLeases: 0, unreported: 0 });
    // Server state agrees: every leased job finished, none is left running, the rest wait.
    expect(await statuses(jobs)).toEqual({ Succeeded: result.leased, Scheduled: jobs.length - result.leased });
    expect(server.rpcCounts().ReportOutcome).toBe(result.leased);
    expect(log.events).toEqual([]);

    // The next run picks up where this one stopped, and stops when the queue is empty.
    const rest = await drainTasks({ client, taskGroup, budgetMs: 20_000, concurrency: 8, handler: ({ payload }) => (payload as number) * 10 });
    expect(rest).toMatchObject({ stoppedBecause: "queue_empty", leased: jobs.length - result.leased, succeeded: jobs.length - result.leased });
    expect(await statuses(jobs)).toEqual({ Succeeded: jobs.length });
    const job = jobs[7]!;
    expect(await job.getResult()).toMatchObject({ outcome: "succeeded", result: 70 });
  });

  it("stops leasing as soon as a poll of every node finds the queue empty", async () => {
    const { client, server } = cluster;
    const taskGroup = uniqueGroup();
    const jobs = await Promise.all(Array.from({ length: 5 }, (_, i) => client.enqueue({ taskGroup, payload: i })));
    server.resetRpcCounts();
    const result = await drainTasks({ client, taskGroup, budgetMs: 30_000, handler: () => "done" });
    expect(result).toMatchObject({ stoppedBecause: "queue_empty", leased: 5, succeeded: 5 });
    expect(result.durationMs).toBeLessThan(5_000);
    expect(await statuses(jobs)).toEqual({ Succeeded: 5 });

    server.resetRpcCounts();
    const empty = await drainTasks({ client, taskGroup, budgetMs: 30_000, handler: () => "never" });
    expect(empty).toMatchObject({ stoppedBecause: "queue_empty", leased: 0 });
    // One LeaseTasks per node, then done.
    expect(server.rpcCounts().LeaseTasks).toBe(2);
  });

  it("aborts handlers still running when the budget nears its end and reports their failure before returning", async () => {
    const { client } = cluster;
    const taskGroup = uniqueGroup();
    const job = await client.enqueue({ taskGroup, payload: {}, retryPolicy: { retryCount: 1, initialIntervalMs: 60_000 } });
    const reasons: unknown[] = [];
    const result = await drainTasks({
      client,
      taskGroup,
      budgetMs: 600,
      reserveMs: 200,
      handler: async ({ signal }) => {
        const reason = await aborted(signal);
        reasons.push(reason);
        throw reason;
      },
    });
    expect(reasons[0]).toBeInstanceOf(DrainBudgetExceededError);
    // Leasing stopped at once (the queue was empty); the drain still waited for the handler.
    expect(result).toMatchObject({ leased: 1, failed: 1, stoppedBecause: "queue_empty" });
    const { attempts, status } = await job.getJob({ includeAttempts: true });
    expect(status).toBe("Scheduled");
    expect(attempts?.[0]).toMatchObject({ status: "Failed", errorCode: "DRAIN_BUDGET_EXCEEDED" });
  });

  it("requires a budget and rejects a reserve larger than it, before any network call", async () => {
    const base = { client: cluster.client, taskGroup: "g", handler: () => null };
    await expect(drainTasks({ ...base } as never)).rejects.toThrow(/budgetMs/);
    await expect(drainTasks({ ...base, budgetMs: 100, reserveMs: 500 })).rejects.toThrow(SiloValidationError);
  });
});
