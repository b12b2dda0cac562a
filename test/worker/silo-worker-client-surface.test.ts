// SiloWorker talks to its client through the upstream client's public worker methods when the
// client has them (leaseTasks, heartbeat, reportOutcome, reportRefreshOutcome, cancelJob), so
// any object with that surface works, as with upstream; otherwise through the client's internal
// routed calls. Here the methods forward to a real client against the dev server.
import { describe, expect, it } from "vitest";
import { SiloWorker } from "silo-edge";
import { workerCalls, type WorkerCalls } from "../../src/worker/silo-worker-rpc.js";
import { startCluster, uniqueGroup, waitFor } from "./harness.js";

describe("SiloWorker's client surface", () => {
  it("uses a client's upstream-style worker methods when it has them all", async () => {
    const { server, client } = await startCluster();
    try {
      const inner = workerCalls(client);
      const calls: string[] = [];
      const surface: WorkerCalls = {
        leaseTasks: (req, index) => (calls.push("leaseTasks"), inner.leaseTasks(req, index)),
        heartbeat: (...args) => (calls.push("heartbeat"), inner.heartbeat(...args)),
        reportOutcome: (options) => (calls.push(`reportOutcome:${options.outcome.type}`), inner.reportOutcome(options)),
        reportRefreshOutcome: (options) => (calls.push("reportRefreshOutcome"), inner.reportRefreshOutcome(options)),
        cancelJob: (id, tenant) => (calls.push("cancelJob"), inner.cancelJob(id, tenant)),
      };
      const taskGroup = uniqueGroup();
      const worker = new SiloWorker({
        client: surface as never,
        workerId: "surface",
        taskGroup,
        pollIntervalMs: 10,
        heartbeatIntervalMs: 20,
        handler: async ({ task }) => {
          await new Promise((r) => setTimeout(r, 60));
          // A plain value, not an outcome object: reported as the success result.
          return (task.payload as { n: number }).n * 2 as never;
        },
      });
      worker.start();
      const handle = await client.enqueue({ taskGroup, payload: { n: 21 } });
      const job = await waitFor(async () => {
        const j = await client.getJob(handle.id, undefined, { includeAttempts: true });
        return /succeeded/i.test(j.status) ? j : undefined;
      });
      await worker.stop();
      expect(job!.attempts?.[0]?.result).toBe(42);
      expect(calls).toContain("leaseTasks");
      expect(calls).toContain("heartbeat");
      expect(calls.filter((c) => c.startsWith("reportOutcome"))).toEqual(["reportOutcome:success"]);
    } finally {
      await server.close();
    }
  });

  it("rejects a client with neither surface, naming the option", async () => {
    const { server, client } = await startCluster();
    try {
      const half = { leaseTasks: () => undefined };
      expect(() => new SiloWorker({ client: half as never, workerId: "w", taskGroup: "g", handler: async () => ({ type: "cancelled" }) })).toThrow(/client/);
      expect(() => workerCalls(client)).not.toThrow();
    } finally {
      await server.close();
    }
  });
});
