// What a SiloWorker does with the tasks it leases: the handler's context, the outcomes it
// reports, concurrency and polling, as upstream typescript_client/src/worker.ts and
// TaskExecution.ts behave, against the dev server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloWorker, type SiloGRPCClient, type Task, type TaskContext } from "silo-edge";
import { deferred, sleep, startCluster, uniqueGroup, waitFor, waitForStatus, type Cluster } from "./worker-harness.js";

describe("SiloWorker running tasks (upstream typescript_client/src/worker.ts)", () => {
  let cluster: Cluster;
  let client: SiloGRPCClient;
  const workers: SiloWorker<any, any, any>[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ shards: 2, tenancy: true });
    client = cluster.client;
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop(1_000)));
    await cluster.server.close();
  });
  function track<W extends SiloWorker<any, any, any>>(worker: W): W {
    workers.push(worker);
    return worker;
  }

  it("hands the handler the task with its payload decoded, and reports a success result", async () => {
    const taskGroup = uniqueGroup();
    let seen: Task<{ user: string }, { origin: string }> | undefined;
    const worker = track(
      new SiloWorker<{ user: string }, { origin: string }, { greeting: string }>({
        client,
        workerId: "ctx-worker",
        taskGroup,
        pollIntervalMs: 10,
        handler: async (ctx) => {
          seen = ctx.task;
          expect(ctx.cancellationSignal.aborted).toBe(false);
          return { type: "success", result: { greeting: `hi ${ctx.task.payload.user}` } };
        },
      }),
    );
    worker.start();
    const handle = await client.enqueue({ taskGroup, tenant: "acme", payload: { user: "ada" }, priority: 7, metadata: { origin: "test" } });
    const job = await waitForStatus(client, handle.id, "Succeeded", "acme");
    expect(job.attempts?.[0]?.result).toEqual({ greeting: "hi ada" });
    expect(seen).toMatchObject({
      jobId: handle.id,
      attemptNumber: 1,
      relativeAttemptNumber: 1,
      payload: { user: "ada" },
      priority: 7,
      taskGroup,
      tenantId: "acme",
      isLastAttempt: true,
      metadata: { origin: "test" },
    });
    expect(typeof seen?.id).toBe("string");
    expect(seen?.id).not.toBe(handle.id);
    expect(typeof seen?.leaseMs).toBe("bigint");
    expect(cluster.server.shards().map((s) => s.id)).toContain(seen?.shard);
  });

  it("reports a returned failure with its code and data, and raw bytes as they are", async () => {
    const taskGroup = uniqueGroup();
    const worker = track(
      new SiloWorker<{ raw: boolean }>({
        client,
        workerId: "fail-worker",
        taskGroup,
        pollIntervalMs: 10,
        handler: async ({ task }) =>
          task.payload.raw
            ? { type: "failure", code: "RAW", data: new Uint8Array([0xa3, 0x61, 0x62, 0x63]) }
            : { type: "failure", code: "OUT_OF_STOCK", data: { sku: "x-1", left: 0 } },
      }),
    );
    worker.start();
    const structured = await client.enqueue({ taskGroup, tenant: "acme", payload: { raw: false } });
    const raw = await client.enqueue({ taskGroup, tenant: "acme", payload: { raw: true } });
    const a = await waitForStatus(client, structured.id, "Failed", "acme");
    const b = await waitForStatus(client, raw.id, "Failed", "acme");
    expect(a.attempts?.[0]).toMatchObject({ errorCode: "OUT_OF_STOCK", errorData: { sku: "x-1", left: 0 } });
    // The bytes were MessagePack already (the string "abc"), sent without a second encoding.
    expect(b.attempts?.[0]).toMatchObject({ errorCode: "RAW", errorData: "abc" });
  });

  it("reports a thrown error as HANDLER_ERROR with the error serialized (name, message, stack, own fields)", async () => {
    const taskGroup = uniqueGroup();
    const worker = track(
      new SiloWorker({
        client,
        workerId: "throw-worker",
        taskGroup,
        pollIntervalMs: 10,
        handler: async () => {
          throw Object.assign(new TypeError("card declined"), { code: "E_CARD", retryable: false });
        },
      }),
    );
    worker.start();
    const handle = await client.enqueue({ taskGroup, tenant: "acme", payload: {} });
    const job = await waitForStatus(client, handle.id, "Failed", "acme");
    const attempt = job.attempts?.[0];
    expect(attempt?.errorCode).toBe("HANDLER_ERROR");
    expect(attempt?.errorData).toMatchObject({ name: "TypeError", message: "card declined", code: "E_CARD", retryable: false });
    expect(String((attempt?.errorData as { stack?: string }).stack)).toContain("card declined");
  });

  it("reports a returned cancelled outcome", async () => {
    const taskGroup = uniqueGroup();
    const worker = track(new SiloWorker({ client, workerId: "c", taskGroup, pollIntervalMs: 10, handler: async () => ({ type: "cancelled" }) }));
    worker.start();
    const handle = await client.enqueue({ taskGroup, tenant: "acme", payload: {} });
    const job = await waitForStatus(client, handle.id, "Cancelled", "acme");
    expect(String(job.attempts?.[0]?.status).toLowerCase()).toBe("cancelled");
  });

  it("runs at most maxConcurrentTasks handlers and holds as many more leased tasks queued", async () => {
    const taskGroup = uniqueGroup();
    const release = deferred();
    let running = 0;
    let peak = 0;
    const worker = track(
      new SiloWorker({
        client,
        workerId: "conc",
        taskGroup,
        maxConcurrentTasks: 2,
        pollIntervalMs: 10,
        heartbeatIntervalMs: 1_000,
        handler: async () => {
          peak = Math.max(peak, ++running);
          await release.promise;
          running--;
          return { type: "success", result: "ok" };
        },
      }),
    );
    const handles = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => client.enqueue({ taskGroup, tenant: "acme", payload: { n } })));
    worker.start();
    await waitFor(() => worker.activeTasks === 2 && worker.queuedTasks === 2, "2 running and 2 queued");
    await sleep(100);
    // The queue is full: polls ask for nothing more.
    expect([worker.activeTasks, worker.queuedTasks]).toEqual([2, 2]);
    // Upstream's arithmetic: slots left = max - running - queued, below zero when the queue is full.
    expect(worker.availableTaskSlots).toBe(-2);
    release.resolve();
    for (const h of handles) await waitForStatus(client, h.id, "Succeeded", "acme");
    expect(peak).toBe(2);
    await waitFor(() => worker.activeTasks === 0 && worker.queuedTasks === 0, "an idle worker");
    expect(worker.availableTaskSlots).toBe(2);
  });

  it("asks each poll for at most tasksPerPoll tasks and sleeps pollIntervalMs after every poll", async () => {
    // A server of its own: the other tests' workers poll the shared one.
    const { server, client: own } = await startCluster();
    const taskGroup = uniqueGroup();
    const started: string[] = [];
    const release = deferred();
    const handles = await Promise.all([1, 2, 3].map((n) => own.enqueue({ taskGroup, payload: { n } })));
    const worker = track(
      new SiloWorker({
        client: own,
        workerId: "per-poll",
        taskGroup,
        tasksPerPoll: 1,
        pollIntervalMs: 60_000,
        concurrentPollers: 2,
        handler: async ({ task }) => {
          started.push(task.jobId);
          await release.promise;
          return { type: "success", result: null };
        },
      }),
    );
    worker.start();
    await waitFor(() => server.rpcCounts().LeaseTasks === 2 && started.length === 2, "one poll per poller");
    await sleep(200);
    // Two pollers, one poll each (the interval is a minute), one task per poll: the third job waits.
    expect(server.rpcCounts().LeaseTasks).toBe(2);
    expect(started).toHaveLength(2);
    expect(worker.activeTasks + worker.queuedTasks).toBe(2);
    release.resolve();
    await worker.stop(); // wakes the sleeping pollers
    expect(handles.filter((h) => started.includes(h.id))).toHaveLength(2);
    await server.close();
  });

  it("heartbeats every heartbeatIntervalMs while the handler runs and stops when it settles", async () => {
    const taskGroup = uniqueGroup();
    const release = deferred();
    cluster.server.resetRpcCounts();
    const worker = track(
      new SiloWorker({
        client,
        workerId: "hb",
        taskGroup,
        pollIntervalMs: 10,
        heartbeatIntervalMs: 40,
        handler: async () => {
          await release.promise;
          return { type: "success", result: null };
        },
      }),
    );
    worker.start();
    const handle = await client.enqueue({ taskGroup, tenant: "acme", payload: {} });
    await waitFor(() => (cluster.server.rpcCounts().Heartbeat ?? 0) >= 3, "three heartbeats");
    release.resolve();
    await waitForStatus(client, handle.id, "Succeeded", "acme");
    const after = cluster.server.rpcCounts().Heartbeat;
    await sleep(200);
    expect(cluster.server.rpcCounts().Heartbeat).toBe(after);
  });

  it("heartbeats a task while it waits in the queue, so a wait longer than the lease does not lose it", { timeout: 30_000 }, async () => {
    const { server, client: c } = await startCluster({ leaseMs: 1_500 });
    try {
      const taskGroup = uniqueGroup();
      const worker = new SiloWorker<{ n: number }>({
        client: c,
        workerId: "queued-hb",
        taskGroup,
        maxConcurrentTasks: 1,
        pollIntervalMs: 10,
        heartbeatIntervalMs: 100,
        handler: async ({ task }) => {
          if (task.payload.n === 1) await sleep(3_500);
          return { type: "success", result: task.payload.n };
        },
      });
      const first = await c.enqueue({ taskGroup, payload: { n: 1 } });
      const second = await c.enqueue({ taskGroup, payload: { n: 2 } });
      worker.start();
      const done = await waitForStatus(c, second.id, "Succeeded");
      await waitForStatus(c, first.id, "Succeeded");
      await worker.stop();
      // One attempt each: no lease ran out while the second task sat queued for over two leases.
      expect(done.attempts).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("ignores the tenant option: worker RPCs carry each task's own tenant", async () => {
    const taskGroup = uniqueGroup();
    const worker = track(
      new SiloWorker({ client, workerId: "t", taskGroup, tenant: "someone-else", pollIntervalMs: 10, heartbeatIntervalMs: 20, handler: async () => {
        await sleep(80);
        return { type: "success", result: "fine" };
      } }),
    );
    worker.start();
    const handles = await Promise.all(["acme", "globex", "initech"].map((tenant) => client.enqueue({ taskGroup, tenant, payload: {} })));
    for (const h of handles) await waitForStatus(client, h.id, "Succeeded", h.tenant);
  });
});

describe("SiloWorker cancellation (upstream typescript_client/src/TaskExecution.ts)", () => {
  let cluster: Cluster;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    cluster = await startCluster();
    client = cluster.client;
  });
  afterAll(async () => {
    await cluster.server.close();
  });

  it("aborts the signal when a heartbeat learns the job was cancelled, reports cancelled, and heartbeats no more", async () => {
    const taskGroup = uniqueGroup();
    const aborted = deferred();
    let ctxSeen: TaskContext | undefined;
    const worker = new SiloWorker({
      client,
      workerId: "srv-cancel",
      taskGroup,
      pollIntervalMs: 10,
      heartbeatIntervalMs: 30,
      handler: async (ctx) => {
        ctxSeen = ctx;
        await new Promise<void>((resolve) => ctx.cancellationSignal.addEventListener("abort", () => resolve(), { once: true }));
        aborted.resolve();
        await sleep(150); // heartbeats would go on here if the worker did not stop them
        return { type: "success", result: "ignored: the task was cancelled" };
      },
    });
    worker.start();
    try {
      const handle = await client.enqueue({ taskGroup, payload: {} });
      await waitFor(() => ctxSeen, "the handler to start");
      await client.cancelJob(handle.id);
      await aborted.promise;
      // A heartbeat the worker sent before it learned of the cancellation may still be on its way
      // (its 30 ms timer can fire while the answer that cancels is in flight). A call answered on
      // the same HTTP/2 connection after it was sent means the server has counted it.
      await client.getJob(handle.id);
      const beats = cluster.server.rpcCounts().Heartbeat;
      const job = await waitForStatus(client, handle.id, "Cancelled");
      expect(String(job.attempts?.[0]?.status).toLowerCase()).toBe("cancelled");
      expect(cluster.server.rpcCounts().Heartbeat).toBe(beats);
      expect(ctxSeen?.cancellationSignal.reason).toBeInstanceOf(DOMException);
    } finally {
      await worker.stop();
    }
  });

  it("ctx.cancel() aborts the signal at once, cancels the job on the server, and the worker reports cancelled", async () => {
    const taskGroup = uniqueGroup();
    const order: string[] = [];
    cluster.server.resetRpcCounts();
    const worker = new SiloWorker({
      client,
      workerId: "cli-cancel",
      taskGroup,
      pollIntervalMs: 10,
      handler: async (ctx) => {
        ctx.cancellationSignal.addEventListener("abort", () => order.push("aborted"));
        const done = ctx.cancel();
        order.push("cancel() returned");
        await done;
        order.push("CancelJob answered");
        await ctx.cancel(); // a second call does nothing
        return { type: "success", result: "ignored" };
      },
    });
    worker.start();
    try {
      const handle = await client.enqueue({ taskGroup, payload: {} });
      const job = await waitForStatus(client, handle.id, "Cancelled");
      expect(order).toEqual(["aborted", "cancel() returned", "CancelJob answered"]);
      expect(cluster.server.rpcCounts().CancelJob).toBe(1);
      expect(String(job.attempts?.[0]?.status).toLowerCase()).toBe("cancelled");
    } finally {
      await worker.stop();
    }
  });

  it("stop() does not abort running handlers' signals", async () => {
    const taskGroup = uniqueGroup();
    const started = deferred<AbortSignal>();
    const release = deferred();
    const worker = new SiloWorker({
      client,
      workerId: "stop-signal",
      taskGroup,
      pollIntervalMs: 10,
      handler: async (ctx) => {
        started.resolve(ctx.cancellationSignal);
        await release.promise;
        return { type: "success", result: "finished after stop" };
      },
    });
    worker.start();
    const handle = await client.enqueue({ taskGroup, payload: {} });
    const signal = await started.promise;
    const stopping = worker.stop();
    await sleep(50);
    expect(signal.aborted).toBe(false);
    release.resolve();
    await stopping;
    await waitForStatus(client, handle.id, "Succeeded");
  });
});
