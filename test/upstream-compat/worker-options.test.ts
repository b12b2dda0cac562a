// SiloWorker's options, defaults and getters, as upstream typescript_client/src/worker.ts
// defines them, written the way an upstream user would.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SiloGRPCClient, SiloWorker, WorkerMetrics, type TaskHandler } from "silo-edge";
import { startCluster, uniqueGroup, waitFor, type Cluster } from "./worker-harness.js";

const handler: TaskHandler = async () => ({ type: "success", result: null });

/**
 * A client of a dev server that has shut down. Without retries each poll fails quickly; with the
 * default 8 retries, their backoff and the reconnect backoff, one LeaseTasks call would keep
 * trying for minutes (upstream's client retries LeaseTasks on connectivity errors too).
 */
async function clientOfStoppedServer(): Promise<SiloGRPCClient> {
  const { server } = await startCluster();
  await server.close();
  return new SiloGRPCClient({ servers: server.addresses, useTls: false, shardRouting: { maxRetries: 0 } });
}

describe("SiloWorker options (upstream typescript_client/src/worker.ts)", () => {
  let cluster: Cluster;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    cluster = await startCluster();
    client = cluster.client;
  });
  afterAll(async () => {
    await cluster.server.close();
  });

  it("reports upstream's defaults through its getters", () => {
    const worker = new SiloWorker({ client, workerId: "w-1", taskGroup: "g", handler });
    expect(worker.workerId).toBe("w-1");
    expect(worker.taskGroup).toBe("g");
    expect(worker.concurrentPollers).toBe(1);
    expect(worker.maxConcurrentTasks).toBe(10);
    expect(worker.tasksPerPoll).toBe(5);
    expect(worker.pollIntervalMs).toBe(1000);
    expect(worker.heartbeatIntervalMs).toBe(5000);
    expect(worker.isRunning).toBe(false);
    expect(worker.activeTasks).toBe(0);
    expect(worker.queuedTasks).toBe(0);
    expect(worker.availableTaskSlots).toBe(10);
    expect(worker.workerMetrics).toBeInstanceOf(WorkerMetrics);
    expect(worker.workerMetrics.defaultAttributes).toEqual({ task_group: "g" });
  });

  it("asks for half of maxConcurrentTasks per poll, rounded up, unless tasksPerPoll is given", () => {
    expect(new SiloWorker({ client, workerId: "w", taskGroup: "g", handler, maxConcurrentTasks: 7 }).tasksPerPoll).toBe(4);
    expect(new SiloWorker({ client, workerId: "w", taskGroup: "g", handler, maxConcurrentTasks: 1 }).tasksPerPoll).toBe(1);
    const worker = new SiloWorker({
      client,
      workerId: "w",
      taskGroup: "g",
      handler,
      concurrentPollers: 3,
      maxConcurrentTasks: 8,
      tasksPerPoll: 2,
      pollIntervalMs: 25,
      heartbeatIntervalMs: 700,
    });
    expect([worker.concurrentPollers, worker.maxConcurrentTasks, worker.tasksPerPoll, worker.pollIntervalMs, worker.heartbeatIntervalMs]).toEqual([3, 8, 2, 25, 700]);
    expect(worker.availableTaskSlots).toBe(8);
  });

  it("rejects bad options when it is constructed, naming the field", () => {
    const base = { client, workerId: "w", taskGroup: "g", handler };
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ client: undefined }, /client/],
      [{ client: {} }, /client/],
      [{ workerId: "" }, /workerId/],
      [{ workerId: undefined }, /workerId/],
      [{ taskGroup: "" }, /taskGroup/],
      [{ handler: "nope" }, /handler/],
      [{ refreshHandler: 1 }, /refreshHandler/],
      [{ tenant: 42 }, /tenant/],
      [{ concurrentPollers: 0 }, /concurrentPollers/],
      [{ maxConcurrentTasks: 1.5 }, /maxConcurrentTasks/],
      [{ tasksPerPoll: 0 }, /tasksPerPoll/],
      [{ pollIntervalMs: -1 }, /pollIntervalMs/],
      [{ heartbeatIntervalMs: 0 }, /heartbeatIntervalMs/],
      [{ onError: "log" }, /onError/],
      [{ meter: {} }, /meter/],
      [{ maxConcurentTasks: 3 }, /maxConcurentTasks/],
    ];
    for (const [patch, field] of bad) {
      expect(() => new SiloWorker({ ...base, ...patch } as never), JSON.stringify(Object.keys(patch))).toThrow(field);
    }
  });

  it("rejects a bad stop timeout, naming it", async () => {
    const worker = new SiloWorker({ client, workerId: "w", taskGroup: "g", handler });
    await expect(worker.stop(-5)).rejects.toThrow(/timeoutMs/);
  });

  it("starts once, stops once, and can start again", async () => {
    const taskGroup = uniqueGroup();
    const seen: number[] = [];
    const worker = new SiloWorker<{ n: number }>({
      client,
      workerId: "restart",
      taskGroup,
      pollIntervalMs: 10,
      handler: async ({ task }) => {
        seen.push(task.payload.n);
        return { type: "success", result: task.payload.n };
      },
    });
    await worker.stop(); // not running: nothing to do
    worker.start();
    worker.start(); // already running: no second set of pollers
    expect(worker.isRunning).toBe(true);
    await client.enqueue({ taskGroup, payload: { n: 1 } });
    await waitFor(() => seen.length === 1, "the first job");
    await worker.stop();
    expect(worker.isRunning).toBe(false);
    await client.enqueue({ taskGroup, payload: { n: 2 } });
    worker.start();
    await waitFor(() => seen.length === 2, "the second job after a restart");
    await worker.stop();
    expect(seen).toEqual([1, 2]);
  });

  it("sends poll errors to console.error when no onError is given", async () => {
    const lonely = await clientOfStoppedServer();
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const worker = new SiloWorker({ client: lonely, workerId: "w", taskGroup: "g", handler, pollIntervalMs: 10 });
      worker.start();
      await waitFor(() => spy.mock.calls.length > 0, "console.error");
      await worker.stop();
      expect(spy.mock.calls[0]!.some((arg) => arg instanceof Error)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it("passes poll errors to onError, and keeps polling", async () => {
    const lonely = await clientOfStoppedServer();
    const calls: unknown[][] = [];
    const worker = new SiloWorker({ client: lonely, workerId: "w", taskGroup: "g", handler, pollIntervalMs: 5, onError: (...args: unknown[]) => calls.push(args) });
    worker.start();
    await waitFor(() => calls.length >= 2, "two poll errors");
    await worker.stop();
    expect(calls[0]![0]).toBeInstanceOf(Error);
    // As upstream: a poll error comes alone, with no task context argument.
    expect(calls[0]).toHaveLength(1);
  });

  it("takes any object with leaseTasks, heartbeat and reportOutcome as its client, as upstream's SiloWorker does", async () => {
    const taskGroup = uniqueGroup("partial");
    // Only the three methods a worker cannot run without, delegating to a real client.
    const partial = {
      leaseTasks: vi.fn((...args: Parameters<SiloGRPCClient["leaseTasks"]>) => client.leaseTasks(...args)),
      heartbeat: vi.fn((...args: Parameters<SiloGRPCClient["heartbeat"]>) => client.heartbeat(...args)),
      reportOutcome: vi.fn((...args: Parameters<SiloGRPCClient["reportOutcome"]>) => client.reportOutcome(...args)),
    };
    const worker = new SiloWorker({ client: partial as unknown as SiloGRPCClient, workerId: "w-partial", taskGroup, handler, pollIntervalMs: 20 });
    worker.start();
    try {
      const handle = await client.enqueue({ taskGroup, payload: { n: 1 } });
      await waitFor(async () => String((await client.getJob(handle.id)).status) === "Succeeded", "the job to succeed");
      expect(partial.leaseTasks).toHaveBeenCalled();
      expect(partial.reportOutcome).toHaveBeenCalledWith(expect.objectContaining({ outcome: { type: "success", result: null } }));
    } finally {
      await worker.stop();
    }
  });

  it("still refuses a client without the worker methods, naming the field", () => {
    expect(() => new SiloWorker({ client: { leaseTasks() {} } as unknown as SiloGRPCClient, workerId: "w", taskGroup: "g", handler })).toThrow(
      expect.objectContaining({ code: "SILO_VALIDATION", field: "client" }),
    );
  });
});
