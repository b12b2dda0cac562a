import { describe, expect, it } from "vitest";
import { createWorker, LeaseLostError } from "../../src/worker/index.js";
import { aborted, deferred, errorLog, startCluster, uniqueGroup, waitFor } from "./harness.js";

const wait = { timeoutMs: 8_000, pollIntervalMs: 20 };

describe("lease loss", () => {
  it("aborts a handler that outlives its unrenewed lease, reports nothing, and the retry after WORKER_CRASHED succeeds", async () => {
    const { server, client } = await startCluster({ leaseMs: 500 });
    try {
      const taskGroup = uniqueGroup();
      const reasons: unknown[] = [];
      const worker = createWorker({
        client,
        taskGroup,
        // No heartbeat within the lease: the lease must run out.
        heartbeatIntervalMs: 60_000,
        pollIntervalMs: 10,
        maxPollIntervalMs: 100,
        handler: async ({ attempt, signal }) => {
          if (attempt === 1) {
            reasons.push(await aborted(signal));
            return "too late";
          }
          return "second attempt";
        },
      });
      worker.start();
      const job = await client.enqueue({ taskGroup, payload: {}, retryPolicy: { retryCount: 1 } });
      expect(await job.awaitResult(wait)).toMatchObject({ outcome: "succeeded", result: "second attempt" });
      await worker.stop();

      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toBeInstanceOf(LeaseLostError);
      const { attempts = [] } = await job.getJob({ includeAttempts: true });
      expect(attempts.map((a) => [a.status, a.errorCode])).toEqual([
        ["Failed", "WORKER_CRASHED"],
        ["Succeeded", undefined],
      ]);
      // Only the second attempt was reported.
      expect(server.rpcCounts().ReportOutcome).toBe(1);
      expect(worker.stats).toMatchObject({ leased: 2, succeeded: 1, lostLeases: 1, failed: 0 });
    } finally {
      await server.close();
    }
  });

  it("stops working on a task when a heartbeat answers 'lease not found'", async () => {
    const { server, client } = await startCluster();
    try {
      const taskGroup = uniqueGroup();
      const started = deferred();
      const reason = deferred<unknown>();
      const worker = createWorker({
        client,
        taskGroup,
        heartbeatIntervalMs: 20,
        pollIntervalMs: 10,
        handler: async ({ signal }) => {
          started.resolve();
          reason.resolve(await aborted(signal));
          return "ignored";
        },
      });
      worker.start();
      await client.enqueue({ taskGroup, payload: {} });
      await started.promise;
      // Wiping the dev server's shards drops the lease the worker holds.
      const [address] = server.addresses;
      await client.callNode(address!, "ResetShards", (rpc, attempt) => rpc.resetShards({}, attempt));

      const lost = await reason.promise;
      expect(lost).toBeInstanceOf(LeaseLostError);
      expect((lost as Error).message).toContain("lease not found");
      await worker.stop();
      expect(worker.stats).toMatchObject({ leased: 1, lostLeases: 1, succeeded: 0, failed: 0 });
      expect(server.rpcCounts().ReportOutcome ?? 0).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("gives up a task whose node stops answering heartbeats, then runs the retry once the node is back", async () => {
    const { server, client } = await startCluster({ leaseMs: 500 });
    try {
      const taskGroup = uniqueGroup();
      const log = errorLog();
      const reasons: unknown[] = [];
      const started = deferred();
      const worker = createWorker({
        client,
        taskGroup,
        pollIntervalMs: 10,
        maxPollIntervalMs: 100,
        onError: log.onError,
        handler: async ({ attempt, signal }) => {
          if (attempt === 1) {
            started.resolve();
            reasons.push(await aborted(signal));
            return "unreachable";
          }
          return "after restart";
        },
      });
      worker.start();
      const job = await client.enqueue({ taskGroup, payload: {}, retryPolicy: { retryCount: 1 } });
      await started.promise;
      await server.stopNode(0);
      await waitFor(() => reasons.length === 1, { what: "the handler's signal to abort" });
      expect(reasons[0]).toBeInstanceOf(LeaseLostError);
      await server.startNode(0);

      expect(await job.awaitResult(wait)).toMatchObject({ outcome: "succeeded", result: "after restart" });
      await worker.stop();
      const { attempts = [] } = await job.getJob({ includeAttempts: true });
      expect(attempts.map((a) => [a.status, a.errorCode])).toEqual([
        ["Failed", "WORKER_CRASHED"],
        ["Succeeded", undefined],
      ]);
      expect(worker.stats).toMatchObject({ lostLeases: 1, succeeded: 1 });
      // The worker survived failed heartbeats and polls while the node was down.
      expect(log.events.map((e) => e.phase)).toContain("lease");
    } finally {
      await server.close();
    }
  });
});
