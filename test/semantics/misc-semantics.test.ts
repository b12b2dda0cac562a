// Contract sections "Semantics … / enqueue_time_ms", "/ Message size", "/ Worker tenant_id",
// "/ WORKER_CRASHED error data" and "/ Lease length, heartbeat renewal, reaper cadence", over
// gRPC and gRPC-web.
import { decode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import { startDevServer } from "../../src/dev-server/index.js";
import type { SemanticsServer } from "./harness.js";
import { jobOps, msgpack, startSemanticsServer, transports, unpack } from "./harness.js";

describe.each(transports)("Semantics: enqueue time, messages, worker tenant, leases over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  it("Semantics/enqueue_time_ms: stored as the raw start_at_ms, 0 for a caller that sent 0, the future time for a scheduled job", async () => {
    const g = ops.group();
    const zero = await ops.enqueue(g);
    expect((await ops.job(zero)).enqueueTimeMs).toBe(0n);
    const at = BigInt(s.clock.now() + 90_000);
    const future = await ops.enqueue(g, { startAtMs: at });
    expect((await ops.job(future)).enqueueTimeMs).toBe(at);
    const past = BigInt(s.clock.now() - 5);
    expect((await ops.job(await ops.enqueue(g, { startAtMs: past }))).enqueueTimeMs).toBe(past);
  });

  it("Semantics/enqueue_time_ms: RestartJob schedules at max(enqueue_time_ms, now)", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { startAtMs: BigInt(s.clock.now() - 60_000) });
    await ops.fail((await ops.lease(g))[0]!.id);
    await s.client.restartJob({ shard: s.shard, id });
    expect((await ops.job(id)).nextAttemptStartsAfterMs).toBe(BigInt(s.clock.now()));
  });

  it("Semantics/Message size: a multi-megabyte payload and result round-trip", async () => {
    const g = ops.group();
    const big = "x".repeat(6 * 1024 * 1024);
    const id = await ops.enqueue(g, { payload: msgpack(big) });
    const [t] = await ops.lease(g);
    expect((unpack(t?.payload) as string).length).toBe(big.length);
    await ops.succeed(t!.id, big);
    expect(((unpack((await ops.job(id)).result)) as string).length).toBe(big.length);
  });

  it("Semantics/Worker tenant_id: ignored when tenancy is disabled", async () => {
    const g = ops.group();
    await ops.enqueue(g);
    const [t] = await ops.lease(g);
    await expect(s.client.heartbeat({ shard: s.shard, workerId: "w", taskId: t!.id, tenantId: "anything" })).resolves.toMatchObject({ cancelled: false });
    await s.client.reportOutcome({ shard: s.shard, taskId: t!.id, tenantId: "whatever", outcome: { case: "success", value: msgpack(1) } });
  });

  it("Semantics/WORKER_CRASHED error data: a MessagePack string naming the expiry, the reaper's clock and the worker", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    await ops.lease(g, 1, "worker-7");
    const expiry = s.clock.now() + 10_000;
    s.clock.advance(10_250);
    s.server.reap();
    const job = await ops.job(id);
    expect(job.status).toBe(JobStatus.FAILED);
    const data = job.attempts[0]?.errorData;
    expect(data?.encoding.case).toBe("msgpack");
    expect(decode(data?.encoding.value as Uint8Array)).toBe(`lease expired at ${expiry} (now ${s.clock.now()}), worker=worker-7`);
  });

  it("Semantics/Lease length: 10,000 ms from the grant; heartbeat sets now + 10,000; the reaper expires a lease whose expiry is at or before its clock", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    const [t] = await ops.lease(g);
    expect(t?.leaseMs).toBe(10_000n);
    s.clock.advance(9_000);
    await s.client.heartbeat({ shard: s.shard, workerId: "w", taskId: t!.id });
    s.clock.advance(9_999);
    s.server.reap();
    expect((await ops.job(id)).status).toBe(JobStatus.RUNNING);
    s.clock.advance(1);
    s.server.reap();
    expect((await ops.job(id)).status).toBe(JobStatus.FAILED);
  });
});

describe("Semantics/Lease length: the reaper's real cadence", () => {
  it("sweeps once a second by default, so an expired lease is acted on within about a second", async () => {
    let now = 1_900_000_000_000;
    const server = await startDevServer({ port: 0, clock: () => now });
    try {
      const client = transports[0].client(server.addresses[0] as string);
      const shard = server.shards()[0]?.id as string;
      const { id } = await client.enqueue({ shard, taskGroup: "cadence" });
      await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "cadence" });
      now += 10_000;
      const deadline = Date.now() + 3_000;
      let status = JobStatus.RUNNING;
      while (status === JobStatus.RUNNING && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await client.getJob({ shard, id })).status;
      }
      expect(status).toBe(JobStatus.FAILED);
    } finally {
      await server.close();
    }
  });
});
