// Contract sections "Semantics … / Concurrency slot reservation" and "… / Floating concurrency
// limits", one test per bullet, over gRPC and gRPC-web.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SemanticsServer } from "./harness.js";
import { concurrency, expectError, floating, jobOps, startSemanticsServer, transports } from "./harness.js";

describe.each(transports)("Semantics: concurrency slot reservation over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport, { tenancy: true });
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());
  const enq = (g: string, init: Record<string, unknown>) => ops.enqueue(g, { tenant: "t-a", ...init });

  it("Semantics/Concurrency: the contract's example, A holds the only slot from enqueue, B waits and runs when A's attempt ends", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const a = await enq(g, { limits: [concurrency(key, 1)] });
    const b = await enq(g, { limits: [concurrency(key, 1)] });
    const [ta] = await ops.lease(g);
    expect(ta?.jobId).toBe(a);
    expect(await ops.lease(g)).toHaveLength(0);
    await s.client.reportOutcome({ shard: s.shard, taskId: ta!.id, tenantId: "t-a", outcome: { case: "success", value: {} } });
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([b]);
  });

  it("Semantics/Concurrency: a queue is per (tenant, key) and a slot counts as used from admission, before any worker leases it", async () => {
    const g = ops.group();
    const other = ops.group();
    const key = ops.group("k");
    // Admitted in another task group that no worker polls: it still holds the slot.
    await enq(other, { limits: [concurrency(key, 1)] });
    await enq(g, { limits: [concurrency(key, 1)] });
    expect(await ops.lease(g)).toHaveLength(0);
    // Same key under another tenant is another queue.
    const t2 = await ops.enqueue(g, { tenant: "t-b", limits: [concurrency(key, 1)] });
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([t2]);
  });

  it("Semantics/Concurrency: freed slots go to waiting requests in (start time, priority) order", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const holder = await enq(g, { limits: [concurrency(key, 1)] });
    s.clock.advance(1);
    const earlyLow = await enq(g, { priority: 90, limits: [concurrency(key, 1)] });
    s.clock.advance(1);
    const lateHigh = await enq(g, { priority: 0, limits: [concurrency(key, 1)] });
    const lateMid = await enq(g, { priority: 40, limits: [concurrency(key, 1)] });
    const order: string[] = [];
    let [t] = await ops.lease(g);
    expect(t?.jobId).toBe(holder);
    for (let i = 0; i < 3; i++) {
      await s.client.reportOutcome({ shard: s.shard, taskId: t!.id, tenantId: "t-a", outcome: { case: "success", value: {} } });
      [t] = await ops.lease(g);
      order.push(t!.jobId);
    }
    expect(order).toEqual([earlyLow, lateHigh, lateMid]);
  });

  it("Semantics/Concurrency: a job with a future start reserves nothing until its start time", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const future = await enq(g, { startAtMs: BigInt(s.clock.now() + 5000), limits: [concurrency(key, 1)] });
    const now = await enq(g, { limits: [concurrency(key, 1)] });
    const [t] = await ops.lease(g);
    expect(t?.jobId).toBe(now);
    s.clock.advance(5000);
    // The ticket fires at the start time, finds the queue full and waits.
    expect(await ops.lease(g)).toHaveLength(0);
    await s.client.reportOutcome({ shard: s.shard, taskId: t!.id, tenantId: "t-a", outcome: { case: "success", value: {} } });
    expect((await ops.lease(g)).map((x) => x.jobId)).toEqual([future]);
  });

  it("Semantics/Concurrency: slots are freed by lease expiry and by cancelling a SCHEDULED holder", async () => {
    const g = ops.group();
    const key = ops.group("k");
    await enq(g, { limits: [concurrency(key, 1)] });
    const second = await enq(g, { limits: [concurrency(key, 1)] });
    const third = await enq(g, { limits: [concurrency(key, 1)] });
    expect(await ops.lease(g)).toHaveLength(1);
    s.clock.advance(10_000);
    s.server.reap();
    // Second now holds the slot without having been leased; cancelling it passes the slot on.
    await s.client.cancelJob({ shard: s.shard, tenant: "t-a", id: second });
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([third]);
  });
});

describe.each(transports)("Semantics: floating concurrency limits over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  const refreshOf = async (g: string) => (await s.client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup: g })).refreshTasks;

  it("Semantics/Floating: state starts at the default max, the first job's settings win, and the first full queue asks for a refresh at once", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    await ops.enqueue(g, { limits: [floating(key, 1, 60_000n, { region: "eu" })] });
    // A later job's different default and metadata are ignored.
    await ops.enqueue(g, { limits: [floating(key, 5, 1n, { region: "us" })] });
    const res = await s.client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup: g });
    expect(res.tasks).toHaveLength(1);
    expect(res.refreshTasks).toHaveLength(1);
    expect(res.refreshTasks[0]).toMatchObject({ queueKey: key, currentMaxConcurrency: 1, lastRefreshedAtMs: 0n, metadata: { region: "eu" }, leaseMs: 10_000n, shard: s.shard, taskGroup: g });
  });

  it("Semantics/Floating: no refresh is scheduled without waiters, whatever the interval", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    await ops.enqueue(g, { limits: [floating(key, 3, 1n)] });
    s.clock.advance(1000);
    await ops.enqueue(g, { limits: [floating(key, 3, 1n)] });
    expect(await refreshOf(g)).toHaveLength(0);
  });

  it("Semantics/Floating: a refresh success sets the new max and grants waiting requests up to the increase", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    for (let i = 0; i < 3; i++) await ops.enqueue(g, { limits: [floating(key, 1, 60_000n)] });
    const res = await s.client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup: g });
    expect(res.tasks).toHaveLength(1);
    await s.client.reportRefreshOutcome({ shard: s.shard, taskId: res.refreshTasks[0]!.id, outcome: { case: "success", value: { newMaxConcurrency: 3 } } });
    expect(await ops.lease(g)).toHaveLength(2);
  });

  it("Semantics/Floating: a refresh failure backs off 1 s, 2 s, … and re-queues the refresh at that time while waiters remain", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    await ops.enqueue(g, { limits: [floating(key, 1, 60_000n)] });
    await ops.enqueue(g, { limits: [floating(key, 1, 60_000n)] });
    let [r] = await refreshOf(g);
    for (const backoff of [1000, 2000, 4000]) {
      await s.client.reportRefreshOutcome({ shard: s.shard, taskId: r!.id, outcome: { case: "failure", value: { code: "E", message: "m" } } });
      s.clock.advance(backoff - 1);
      expect(await refreshOf(g)).toHaveLength(0);
      s.clock.advance(1);
      [r] = await refreshOf(g);
      expect(r).toBeDefined();
    }
  });

  it("Semantics/Floating: an expired refresh lease clears the pending flag without a failure; the next walk schedules again", async () => {
    const g = ops.group();
    const key = ops.group("fk");
    await ops.enqueue(g, { limits: [floating(key, 1, 1000n)] });
    await ops.enqueue(g, { limits: [floating(key, 1, 1000n)] });
    const [r] = await refreshOf(g);
    expect(r).toBeDefined();
    s.clock.advance(10_000);
    s.server.reap();
    await expectError(
      s.client.reportRefreshOutcome({ shard: s.shard, taskId: r!.id, outcome: { case: "success", value: { newMaxConcurrency: 2 } } }),
      Code.NotFound,
      "lease not found",
    );
    expect(await refreshOf(g)).toHaveLength(0);
    // A new walk with waiters finds the state due and not in backoff: a refresh is queued now.
    await ops.enqueue(g, { limits: [floating(key, 1, 1000n)] });
    expect(await refreshOf(g)).toHaveLength(1);
  });

  it("Semantics/Floating: ReportRefreshOutcome needs an outcome and a known lease", async () => {
    await expectError(s.client.reportRefreshOutcome({ shard: s.shard, taskId: "x", outcome: { case: undefined } }), Code.InvalidArgument, "missing outcome");
    await expectError(
      s.client.reportRefreshOutcome({ shard: s.shard, taskId: "x", outcome: { case: "success", value: { newMaxConcurrency: 1 } } }),
      Code.NotFound,
      "lease not found",
    );
  });
});
