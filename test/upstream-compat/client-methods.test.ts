// Every public SiloGRPCClient and JobHandle method of the upstream client, called the way code
// written for `@silo/client` calls them, against the dev server over real sockets
// (typescript_client/src/client.ts:1737-2648, JobHandle.ts:40-167; contract "What the upstream
// TypeScript client sends and exposes").
import { createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import {
  AttemptStatus,
  GubernatorAlgorithm,
  GubernatorBehavior,
  JobAlreadyExistsError,
  JobNotFoundError,
  JobNotTerminalError,
  JobStatus,
  SiloCancelledError,
  SiloDeadlineExceededError,
  SiloFailedPreconditionError,
  SiloGRPCClient,
  SiloGrpcError,
  TaskNotFoundError,
  decodePayload,
  hashTenant,
  shardForTenant,
  type RawTask,
} from "silo-edge";

const TASK_GROUP = "compat-methods";
const I64_MAX = 0x7fff_ffff_ffff_ffffn;

let server: DevServer;
let client: SiloGRPCClient;

beforeAll(async () => {
  server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
  client = new SiloGRPCClient({ servers: server.addresses, useTls: false, shardRouting: { topologyRefreshIntervalMs: 0 } });
  await client.refreshTopology();
});

afterAll(async () => {
  client.close();
  await server.close();
});

/** Leases the job's task from its tenant's shard, as upstream's tests do. */
async function leaseFor(jobId: string, tenant: string, taskGroup = TASK_GROUP): Promise<RawTask> {
  const shard = client.getShardForTenant(tenant);
  for (let i = 0; i < 20; i++) {
    const { tasks } = await client.leaseTasks({ workerId: "compat-worker", maxTasks: 50, shard, taskGroup });
    const task = tasks.find((t) => t.jobId === jobId);
    if (task) return task;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no task for job ${jobId}`);
}

describe("topology", () => {
  it("getTopology returns the shard map synchronously, sorted by range start, with reachable addresses", () => {
    const { shardToServer, shards } = client.getTopology();
    expect(shards).toHaveLength(4);
    expect(shardToServer.size).toBe(4);
    expect(shards.map((s) => s.rangeStart)).toEqual([...shards.map((s) => s.rangeStart)].sort());
    for (const s of shards) {
      expect(server.addresses).toContain(s.serverAddr);
      expect(shardToServer.get(s.shardId)).toBe(s.serverAddr);
    }
  });

  it("getShardForTenant agrees with hashTenant + shardForTenant over getTopology().shards", () => {
    for (const tenant of ["acme", "globex", "initech", "-"]) {
      expect(client.getShardForTenant(tenant)).toBe(shardForTenant(hashTenant(tenant), client.getTopology().shards)?.shardId);
    }
  });

  it("refreshTopology resolves, and rejects naming the failure when no server answers", async () => {
    await expect(client.refreshTopology()).resolves.toBeDefined();
    const dead = new SiloGRPCClient({ servers: "127.0.0.1:1", useTls: false, timeoutMs: 2_000, shardRouting: { maxRetries: 0 } });
    await expect(dead.refreshTopology()).rejects.toThrow("Failed to refresh cluster topology from any server");
    dead.close();
  });

  it("addressMap rewrites the addresses the cluster advertises", async () => {
    const advertised = server.addresses[0]!;
    const mapped = new SiloGRPCClient({
      servers: server.addresses,
      useTls: false,
      addressMap: { [advertised]: advertised.replace("127.0.0.1", "localhost") },
      shardRouting: { topologyRefreshIntervalMs: 0 },
    });
    await mapped.refreshTopology();
    const addrs = new Set(mapped.getTopology().shards.map((s) => s.serverAddr));
    expect(addrs.has(advertised.replace("127.0.0.1", "localhost")) || !advertised.startsWith("127.0.0.1")).toBe(true);
    const handle = await mapped.enqueue({ tenant: "mapped", taskGroup: TASK_GROUP, payload: 1 });
    expect(await handle.getStatus()).toBe(JobStatus.Scheduled);
    mapped.close();
  });
});

describe("enqueue and reads", () => {
  it("enqueue returns a JobHandle; getJob returns upstream's Job shape with the client's defaults on the wire", async () => {
    const before = Date.now();
    const handle = await client.enqueue({ tenant: "acme", taskGroup: TASK_GROUP, payload: { n: 1 }, priority: 25, metadata: { source: "compat" } });
    expect(handle.tenant).toBe("acme");
    const job = await client.getJob(handle.id, "acme");
    expect(job).toMatchObject({
      id: handle.id,
      priority: 25,
      payload: { n: 1 },
      metadata: { source: "compat" },
      status: JobStatus.Scheduled,
      taskGroup: TASK_GROUP,
      limits: [],
    });
    // start_at_ms = Date.now() when omitted, stored as enqueue_time_ms (contract: enqueue_time_ms).
    expect(Number(job.enqueueTimeMs)).toBeGreaterThanOrEqual(before);
    expect(Number(job.enqueueTimeMs)).toBeLessThanOrEqual(Date.now());
    // No retry policy is sent when none is given; attempts are undefined when there are none.
    expect(job.retryPolicy).toBeUndefined();
    expect(job.attempts).toBeUndefined();
    expect(await client.getJobStatus(handle.id, "acme")).toBe(JobStatus.Scheduled);
  });

  it("fills omitted retry policy fields so no retry is immediate", async () => {
    const handle = await client.enqueue({ tenant: "acme", taskGroup: TASK_GROUP, payload: null, retryPolicy: { retryCount: 2 } });
    expect((await handle.getJob()).retryPolicy).toEqual({
      retryCount: 2,
      initialIntervalMs: 1000n,
      maxIntervalMs: I64_MAX,
      backoffFactor: 1,
      randomizeInterval: false,
    });
  });

  it("sends a full upstream retry policy as given", async () => {
    const retryPolicy = { retryCount: 3, initialIntervalMs: 1000n, maxIntervalMs: 30000n, randomizeInterval: true, backoffFactor: 2 };
    const handle = await client.enqueue({ tenant: "acme", taskGroup: TASK_GROUP, payload: null, retryPolicy });
    expect((await handle.getJob()).retryPolicy).toEqual(retryPolicy);
  });

  it("fills omitted rate-limit retry fields with the server's defaults, and sends limits in order", async () => {
    const handle = await client.enqueue({
      tenant: "acme",
      taskGroup: TASK_GROUP,
      payload: null,
      limits: [
        { type: "concurrency", key: "c", maxConcurrency: 5 },
        {
          type: "rateLimit",
          name: "api",
          uniqueKey: "u",
          limit: 10n,
          durationMs: 1000n,
          algorithm: GubernatorAlgorithm.LEAKY_BUCKET,
          behavior: GubernatorBehavior.GLOBAL,
          retryPolicy: { initialBackoffMs: 50n, maxBackoffMs: 500n },
        },
        { type: "rateLimit", name: "partial", uniqueKey: "p", limit: 1n, durationMs: 1000n, retryPolicy: { maxRetries: 3 } },
      ],
    });
    const [concurrency, full, partial] = (await handle.getJob()).limits;
    expect(concurrency).toEqual({ type: "concurrency", key: "c", maxConcurrency: 5 });
    expect(full).toMatchObject({ type: "rateLimit", hits: 1, algorithm: 1, behavior: 2, retryPolicy: { initialBackoffMs: 50n, maxBackoffMs: 500n, backoffMultiplier: 2, maxRetries: 0 } });
    expect(partial).toMatchObject({ retryPolicy: { initialBackoffMs: 100n, maxBackoffMs: 30000n, backoffMultiplier: 2, maxRetries: 3 } });
  });

  it("enqueue of an existing id rejects with JobAlreadyExistsError carrying the id and tenant", async () => {
    const handle = await client.enqueue({ tenant: "acme", taskGroup: TASK_GROUP, payload: 1 });
    const err = await client.enqueue({ id: handle.id, tenant: "acme", taskGroup: TASK_GROUP, payload: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobAlreadyExistsError);
    expect(err).toMatchObject({ code: "SILO_JOB_ALREADY_EXISTS", jobId: handle.id, tenant: "acme" });
  });

  it("job-addressed calls on an unknown id reject with JobNotFoundError", async () => {
    for (const call of [
      () => client.getJob("missing", "acme"),
      () => client.getJobStatus("missing", "acme"),
      () => client.getJobResult("missing", "acme"),
      () => client.cancelJob("missing", "acme"),
      () => client.restartJob("missing", "acme"),
      () => client.expediteJob("missing", "acme"),
      () => client.leaseTask({ id: "missing", workerId: "w", tenant: "acme" }),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobNotFoundError);
      expect(err).toMatchObject({ code: "SILO_JOB_NOT_FOUND", jobId: "missing", tenant: "acme" });
    }
  });
});

describe("results", () => {
  it("getJobResult rejects with JobNotTerminalError naming the current status while the job runs", async () => {
    const handle = await client.enqueue({ tenant: "globex", taskGroup: TASK_GROUP, payload: 1 });
    const err = await client.getJobResult(handle.id, "globex").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobNotTerminalError);
    expect(err).toMatchObject({ code: "SILO_JOB_NOT_TERMINAL", currentStatus: JobStatus.Scheduled });
  });

  it("a succeeded job's result has upstream's fields and the guide's outcome", async () => {
    const handle = await client.enqueue({ tenant: "globex", taskGroup: TASK_GROUP, payload: 1 });
    const task = await leaseFor(handle.id, "globex");
    expect(decodePayload(task.payload?.encoding.oneofKind === "msgpack" ? task.payload.encoding.msgpack : undefined)).toBe(1);
    await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: { ok: true } } });
    const result = await client.getJobResult(handle.id, "globex");
    expect(result).toMatchObject({ status: JobStatus.Succeeded, result: { ok: true }, outcome: "succeeded" });
    const job = await client.getJob(handle.id, "globex", { includeAttempts: true });
    expect(job.result).toEqual({ ok: true });
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts?.[0]).toMatchObject({ jobId: handle.id, attemptNumber: 1, taskId: task.id, status: AttemptStatus.Succeeded, result: { ok: true } });
  });

  it("failure data that is not MessagePack comes back as text or bytes, never thrown", async () => {
    const text = await client.enqueue({ tenant: "globex", taskGroup: TASK_GROUP, payload: 1 });
    const t1 = await leaseFor(text.id, "globex");
    const raw = new TextEncoder().encode("lease expired at 123 (now 456), worker=w1");
    await client.reportOutcome({ shard: t1.shard, taskId: t1.id, tenant: t1.tenantId, outcome: { type: "failure", code: "RAW", data: raw } });
    expect(await client.getJobResult(text.id, "globex")).toMatchObject({
      status: JobStatus.Failed,
      errorCode: "RAW",
      errorData: "lease expired at 123 (now 456), worker=w1",
    });

    const bytes = await client.enqueue({ tenant: "globex", taskGroup: TASK_GROUP, payload: 1 });
    const t2 = await leaseFor(bytes.id, "globex");
    const notUtf8 = new Uint8Array([0xc1, 0xff, 0xfe]);
    await client.reportOutcome({ shard: t2.shard, taskId: t2.id, tenant: t2.tenantId, outcome: { type: "failure", code: "BIN", data: notUtf8 } });
    const job = await client.getJob(bytes.id, "globex", { includeAttempts: true });
    expect(job.attempts?.[0]?.errorData).toEqual(notUtf8);
  });

  it("a cancelled job's result has status Cancelled", async () => {
    const handle = await client.enqueue({ tenant: "globex", taskGroup: TASK_GROUP, payload: 1 });
    await client.cancelJob(handle.id, "globex");
    expect(await client.getJobResult(handle.id, "globex")).toMatchObject({ status: JobStatus.Cancelled });
  });
});

describe("job lifecycle calls", () => {
  it("restartJob runs a cancelled job again; expediteJob starts a future job now", async () => {
    const handle = await client.enqueue({ tenant: "initech", taskGroup: TASK_GROUP, payload: 1, startAtMs: BigInt(Date.now() + 60_000) });
    await client.expediteJob(handle.id, "initech");
    const job = await handle.getJob();
    expect(Number(job.nextAttemptStartsAfterMs)).toBeLessThanOrEqual(Date.now());
    await handle.cancel();
    expect(await handle.getStatus()).toBe(JobStatus.Cancelled);
    await client.restartJob(handle.id, "initech");
    expect(await handle.getStatus()).toBe(JobStatus.Scheduled);
    await expect(handle.restart()).rejects.toBeInstanceOf(SiloFailedPreconditionError);
  });

  it("deleteJob removes a finished job", async () => {
    const handle = await client.enqueue({ tenant: "initech", taskGroup: TASK_GROUP, payload: 1 });
    await handle.cancel();
    await client.deleteJob(handle.id, "initech");
    await expect(handle.getJob()).rejects.toBeInstanceOf(JobNotFoundError);
  });
});

describe("worker-side calls", () => {
  it("leaseTask leases a named job; heartbeat reports its cancellation", async () => {
    const handle = await client.enqueue({ tenant: "umbrella", taskGroup: TASK_GROUP, payload: { x: 1 }, metadata: { m: "1" } });
    const task = await client.leaseTask({ id: handle.id, workerId: "w1", tenant: "umbrella" });
    expect(task).toMatchObject({ jobId: handle.id, tenantId: "umbrella", attemptNumber: 1, metadata: { m: "1" }, taskGroup: TASK_GROUP, leaseMs: 10_000n });
    expect(task.payload?.encoding.oneofKind).toBe("msgpack");
    expect(await client.heartbeat("w1", task.id, task.shard, task.tenantId)).toEqual({ cancelled: false });
    await handle.cancel();
    const beat = await client.heartbeat("w1", task.id, task.shard, task.tenantId);
    expect(beat.cancelled).toBe(true);
    expect(typeof beat.cancelledAtMs).toBe("bigint");
    await client.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "cancelled" } });
    expect(await handle.getStatus()).toBe(JobStatus.Cancelled);
  });

  it("reportOutcome and heartbeat on an unknown task reject with TaskNotFoundError", async () => {
    const shard = client.getShardForTenant("umbrella");
    const err = await client.reportOutcome({ shard, taskId: "no-such-task", tenant: "umbrella", outcome: { type: "success", result: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskNotFoundError);
    expect(err).toMatchObject({ code: "SILO_TASK_NOT_FOUND", taskId: "no-such-task", grpcMessage: "lease not found" });
    await expect(client.heartbeat("w", "no-such-task", shard, "umbrella")).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(
      client.reportRefreshOutcome({ shard, taskId: "no-such-task", tenant: "umbrella", outcome: { type: "success", newMaxConcurrency: 2 } }),
    ).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it("leaseTasks without a shard asks one node round-robin, or the node at serverIndex", async () => {
    const group = "compat-round-robin";
    const handles = await Promise.all(["a", "b", "c", "d", "e", "f"].map((tenant) => client.enqueue({ tenant, taskGroup: group, payload: tenant })));
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < handles.length; i++) {
      const { tasks, refreshTasks } = await client.leaseTasks({ workerId: "rr", maxTasks: 10, taskGroup: group }, i % 2);
      expect(refreshTasks).toEqual([]);
      for (const t of tasks) {
        seen.add(t.jobId);
        await client.reportOutcome({ shard: t.shard, taskId: t.id, tenant: t.tenantId, outcome: { type: "success", result: null } });
      }
    }
    expect(seen).toEqual(new Set(handles.map((h) => h.id)));
  });

  it("leaseTasks returns floating-limit refresh tasks mapped, and reportRefreshOutcome accepts a new maximum", async () => {
    const group = "compat-refresh";
    const limits = [{ type: "floatingConcurrency" as const, key: "fl", defaultMaxConcurrency: 1, refreshIntervalMs: 1n, metadata: { org: "o1" } }];
    await client.enqueue({ tenant: "hooli", taskGroup: group, payload: 1, limits });
    await client.enqueue({ tenant: "hooli", taskGroup: group, payload: 2, limits });
    const shard = client.getShardForTenant("hooli");
    let refresh;
    for (let i = 0; i < 20 && !refresh; i++) {
      const res = await client.leaseTasks({ workerId: "fl", maxTasks: 10, taskGroup: group, shard });
      refresh = res.refreshTasks[0];
      if (!refresh) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refresh).toMatchObject({ queueKey: expect.stringContaining("fl"), currentMaxConcurrency: 1, metadata: { org: "o1" }, shard, taskGroup: group, tenant: "hooli" });
    await client.reportRefreshOutcome({ taskId: refresh!.id, shard: refresh!.shard, tenant: refresh!.tenant, outcome: { type: "success", newMaxConcurrency: 4 } });
  });
});

describe("rpcOptions and administration", () => {
  it("sends rpcOptions.meta as request headers", async () => {
    const tokenServer = await startDevServer({ port: 0, token: "s3cret" });
    const plain = new SiloGRPCClient({ servers: tokenServer.addresses, useTls: false, rpcOptions: { meta: { authorization: "Bearer s3cret" } } });
    const handle = await plain.enqueue({ taskGroup: TASK_GROUP, payload: 1 });
    expect(await handle.getStatus()).toBe(JobStatus.Scheduled);
    plain.close();
    await tokenServer.close();
  });

  it("honours rpcOptions.abort and rpcOptions.timeout as the call's signal and deadline", async () => {
    const aborted = new SiloGRPCClient({ servers: server.addresses, useTls: false, rpcOptions: () => ({ abort: AbortSignal.abort() }) });
    await expect(aborted.getJobStatus("any", "acme")).rejects.toBeInstanceOf(SiloCancelledError);
    aborted.close();
    // A server that accepts connections and never answers: only the deadline ends the call.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const slow = new SiloGRPCClient({ servers: `127.0.0.1:${port}`, rpcOptions: { timeout: 300 } });
    await expect(slow.getJobStatus("any")).rejects.toBeInstanceOf(SiloDeadlineExceededError);
    slow.close();
    for (const socket of sockets) socket.destroy();
    silent.close();
  });

  it("resetShards wipes every node, and the next call learns the topology again", async () => {
    const dev = await startDevServer({ port: 0, nodes: 2, shards: 2, tenancy: true });
    const c = new SiloGRPCClient({ servers: dev.addresses, useTls: false });
    await c.enqueue({ tenant: "x", taskGroup: TASK_GROUP, payload: 1 });
    await c.enqueue({ tenant: "y", taskGroup: TASK_GROUP, payload: 1 });
    expect(dev.jobCount()).toBe(2);
    await c.resetShards();
    expect(dev.jobCount()).toBe(0);
    expect(c.getTopology().shards).toEqual([]);
    await c.enqueue({ tenant: "x", taskGroup: TASK_GROUP, payload: 1 });
    expect(c.getTopology().shards).toHaveLength(2);
    c.close();
    await dev.close();
  });

  it("errors the server answers with an unmapped code are SiloGrpcErrors with grpcCode and grpcMessage", async () => {
    const handle = await client.enqueue({ tenant: "acme", taskGroup: TASK_GROUP, payload: 1 });
    const err = await client.deleteJob(handle.id, "acme").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloGrpcError);
    expect(err).toMatchObject({ code: "SILO_GRPC_ERROR", grpcCode: "INTERNAL" });
    expect((err as SiloGrpcError).grpcMessage).toMatch(/cannot delete job/);
  });
});
