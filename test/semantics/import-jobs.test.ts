// Contract section "Query and ImportJobs / ImportJobs": the dev server's ImportJobs (one test per
// bullet, over gRPC and gRPC-web) and the client's importJobs (upstream typescript_client's
// signature and behaviour), against src/job_store_shard/import.rs and src/server.rs upstream.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptStatus as ClientAttemptStatus, JobStatus as ClientJobStatus, SiloGRPCClient, SiloValidationError, type Protocol } from "silo-edge";
import type { ImportJobRequest, ImportJobRequestSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { AttemptStatus, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import type { SemanticsServer } from "./harness.js";
import { concurrency, expectError, jobOps, msgpack, shardForTenant, startSemanticsServer, transports, unpack } from "./harness.js";

/** The plain-object form of an ImportJobRequest. */
type ImportInit = Exclude<MessageInitShape<typeof ImportJobRequestSchema>, ImportJobRequest>;
const tonic = (code: string, message: string) => `status: ${code}, message: ${JSON.stringify(message)}, details: [], metadata: MetadataMap { headers: {} }`;

describe.each(transports)("ImportJobs over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  const job = (init: Partial<ImportInit> = {}): ImportInit => ({ shard: s.shard, id: ops.group("imp"), taskGroup: ops.group(), payload: msgpack({ i: 1 }), ...init });
  const imp = async (...jobs: ImportInit[]) => (await s.client.importJobs({ jobs })).results;
  const failed = (at: number, status: AttemptStatus = AttemptStatus.FAILED) => ({ status, startedAtMs: BigInt(at), finishedAtMs: BigInt(at + 10), errorCode: "E", errorData: msgpack("d") });

  it("ImportJobs: an empty list gives an empty response", async () => {
    expect(await imp()).toEqual([]);
  });

  it("ImportJobs: each job is validated on its own and answered in request order with the tonic status text", async () => {
    const ok = job();
    const results = await imp(
      job({ shard: "not-a-uuid" }),
      ok,
      job({ id: "" }),
      job({ taskGroup: "" }),
      job({ taskGroup: "t".repeat(100) }),
      job({ priority: 100 }),
      job({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }),
      job({ attempts: [{ status: AttemptStatus.RUNNING, startedAtMs: 1n, finishedAtMs: 2n }] }),
      job({ attempts: [{ status: 9 as AttemptStatus, startedAtMs: 1n, finishedAtMs: 2n }] }),
      job({ tenant: "t1" }),
    );
    expect(results.map((r) => [r.success, r.status])).toEqual([
      [false, JobStatus.FAILED],
      [true, JobStatus.SCHEDULED],
      [false, JobStatus.FAILED],
      [false, JobStatus.FAILED],
      [true, JobStatus.SCHEDULED],
      [false, JobStatus.FAILED],
      [false, JobStatus.FAILED],
      [false, JobStatus.FAILED],
      [false, JobStatus.FAILED],
      [false, JobStatus.FAILED],
    ]);
    expect(results[1]?.id).toBe(ok.id);
    expect(results.map((r) => r.error)).toEqual([
      tonic("InvalidArgument", "invalid shard ID: not-a-uuid"),
      undefined,
      tonic("InvalidArgument", "job id is required for import"),
      tonic("InvalidArgument", "task_group is required"),
      undefined,
      tonic("InvalidArgument", "priority must be between 0 and 99"),
      tonic("InvalidArgument", "metadata has too many entries (max 16)"),
      tonic("InvalidArgument", "import attempts must be terminal (not Running)"),
      tonic("InvalidArgument", "invalid attempt status"),
      tonic("FailedPrecondition", "tenant must not be provided when tenancy is disabled on the server"),
    ]);
  });

  it("ImportJobs: only the last attempt of a new job may be other than FAILED", async () => {
    const [r] = await imp(job({ attempts: [failed(1, AttemptStatus.SUCCEEDED), failed(2)] }));
    expect(r).toMatchObject({ success: false, status: JobStatus.FAILED, error: "invalid argument: import attempt 1 must be Failed (only the last attempt may be non-Failed)" });
  });

  it("ImportJobs: enqueue_time_ms and start_at_ms <= 0 become the server's now; attempts are numbered 1..n with their data", async () => {
    const j = job({ attempts: [failed(100), { status: AttemptStatus.SUCCEEDED, startedAtMs: 200n, finishedAtMs: 250n, result: msgpack({ ok: true }) }] });
    await imp(j);
    const got = await ops.job(j.id as string);
    expect(got.enqueueTimeMs).toBe(BigInt(s.clock.now()));
    expect(got.attempts.map((a) => [a.attemptNumber, a.status, a.startedAtMs, a.finishedAtMs, a.errorCode])).toEqual([
      [1, AttemptStatus.FAILED, 100n, 110n, "E"],
      [2, AttemptStatus.SUCCEEDED, 200n, 250n, undefined],
    ]);
    expect(unpack(got.attempts[0]?.errorData)).toBe("d");
    expect(unpack(got.result)).toEqual({ ok: true });
    const scheduled = job({ enqueueTimeMs: 5n, startAtMs: 0n });
    await imp(scheduled);
    const sj = await ops.job(scheduled.id as string);
    expect([sj.enqueueTimeMs, sj.nextAttemptStartsAfterMs]).toEqual([5n, BigInt(s.clock.now())]);
  });

  it("ImportJobs: the status follows the last attempt; FAILED retries while FAILED attempts are within retry_count, at start_at without backoff", async () => {
    const retry = { retryCount: 2, initialIntervalMs: 60_000n, maxIntervalMs: 60_000n, backoffFactor: 2 };
    const start = BigInt(s.clock.now() + 5000);
    const cases = [
      job(),
      job({ attempts: [{ status: AttemptStatus.SUCCEEDED, startedAtMs: 1n, finishedAtMs: 7n }] }),
      job({ attempts: [{ status: AttemptStatus.CANCELLED, startedAtMs: 1n, finishedAtMs: 8n }] }),
      job({ attempts: [failed(1)] }),
      job({ retryPolicy: retry, startAtMs: start, attempts: [failed(1), failed(20)] }),
      job({ retryPolicy: retry, attempts: [failed(1), failed(20), failed(40)] }),
    ];
    const results = await imp(...cases);
    expect(results.map((r) => r.status)).toEqual([JobStatus.SCHEDULED, JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.SCHEDULED, JobStatus.FAILED]);
    expect((await ops.job(cases[1]!.id as string)).statusChangedAtMs).toBe(7n);
    expect((await ops.job(cases[2]!.id as string)).statusChangedAtMs).toBe(8n);
    const retried = await ops.job(cases[4]!.id as string);
    expect(retried.nextAttemptStartsAfterMs).toBe(start);
    s.clock.advance(5000);
    const [t] = await ops.lease(cases[4]!.taskGroup as string);
    expect([t?.attemptNumber, t?.relativeAttemptNumber]).toEqual([3, 3]);
  });

  it("ImportJobs: a SCHEDULED import walks its limits like Enqueue", async () => {
    const key = ops.group("k");
    const g = ops.group();
    const first = job({ taskGroup: g, limits: [concurrency(key, 1)] });
    const second = job({ taskGroup: g, limits: [concurrency(key, 1)] });
    await imp(first, second);
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([first.id]);
  });

  it("ImportJobs: reimport refuses a succeeded job, fewer or mismatched attempts, and no new attempt (the prefix appears twice)", async () => {
    const base = job({ retryPolicy: { retryCount: 5, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 }, attempts: [failed(1)] });
    await imp(base);
    const refuse = (reason: string) => `cannot reimport job: cannot reimport job ${base.id}: ${reason} (status: Scheduled)`;
    const again = (attempts: ImportInit["attempts"]) => imp({ ...base, attempts });
    expect((await again([]))[0]?.error).toBe(refuse("reimport has 0 attempts but job has 1 existing attempts"));
    expect((await again([failed(2)]))[0]?.error).toBe(refuse("existing attempt 1 does not match reimport data"));
    expect((await again([failed(1)]))[0]?.error).toBe(refuse("reimport must include at least one new attempt"));
    const done = job({ attempts: [{ status: AttemptStatus.SUCCEEDED, startedAtMs: 1n, finishedAtMs: 2n }] });
    await imp(done);
    expect((await imp(done))[0]?.error).toBe(`cannot reimport job: cannot reimport job ${done.id}: job already succeeded (status: Succeeded)`);
  });

  it("ImportJobs: a successful reimport adds only the new attempts, replaces the retry policy, keeps the rest, frees the old slot and recomputes the status", async () => {
    const key = ops.group("k");
    const g = ops.group();
    const holder = job({ taskGroup: g, priority: 3, metadata: { m: "1" }, limits: [concurrency(key, 1)], retryPolicy: { retryCount: 5, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 } });
    const waiter = job({ taskGroup: g, limits: [concurrency(key, 1)] });
    await imp(holder, waiter);
    const [r] = await imp({ ...holder, priority: 9, metadata: {}, retryPolicy: undefined, attempts: [failed(50)] });
    expect(r).toMatchObject({ success: true, status: JobStatus.FAILED });
    const got = await ops.job(holder.id as string);
    expect([got.priority, got.metadata, got.retryPolicy, got.attempts.length]).toEqual([3, { m: "1" }, undefined, 1]);
    // The reimported job's slot went to the waiter.
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([waiter.id]);
  });

  it("ImportJobs: a RUNNING job in a group fails the whole call with FAILED_PRECONDITION", async () => {
    const running = job();
    await imp(running);
    await ops.lease(running.taskGroup as string);
    const fresh = job();
    await expectError(
      s.client.importJobs({ jobs: [fresh, { ...running, attempts: [failed(1)] }] }),
      Code.FailedPrecondition,
      `cannot reimport job ${running.id}: job is currently running (status: Running)`,
    );
    await expectError(s.client.getJob({ shard: s.shard, id: fresh.id as string }), Code.NotFound, "job not found");
  });
});

describe.each(transports)("ImportJobs across shards over $name", (transport) => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 2, tenancy: true });
  });
  afterAll(() => server.close());

  it("ImportJobs: a shard this node does not serve fails every job of its group with the NOT_FOUND text; the tenant must be in range", async () => {
    const client = transport.client(server.addresses[0] as string);
    const info = await client.getClusterInfo({});
    const remote = info.shardOwners.find((o) => o.grpcAddr !== server.addresses[0]) as (typeof info.shardOwners)[number];
    const tenants = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const remoteTenant = tenants.find((t) => shardForTenant(info, t).shardId === remote.shardId) as string;
    const localShard = info.shardOwners.find((o) => o !== remote)?.shardId as string;
    const { results } = await client.importJobs({
      jobs: [
        { shard: remote.shardId, tenant: remoteTenant, id: "x1", taskGroup: "g" },
        { shard: remote.shardId, tenant: remoteTenant, id: "x2", taskGroup: "g" },
        { shard: localShard, tenant: remoteTenant, id: "x3", taskGroup: "g" },
        { shard: localShard, id: "x4", taskGroup: "g" },
      ],
    });
    const owner = `metadata: MetadataMap { headers: {"x-silo-shard-owner-addr": "${remote.grpcAddr}", "x-silo-shard-owner-node": "${remote.nodeId}"} }`;
    expect(results[0]?.error).toBe(`status: NotFound, message: "shard not found", details: [], ${owner}`);
    expect(results[1]?.error).toBe(results[0]?.error);
    expect(results[2]?.error).toContain(`status: FailedPrecondition, message: "tenant '${remoteTenant}' is not within shard ${localShard} range`);
    expect(results[3]?.error).toBe(tonic("InvalidArgument", "tenant id required"));
    expect(results.map((r) => r.id)).toEqual(["x1", "x2", "x3", "x4"]);
  });
});

describe.each<Protocol>(["grpc", "grpc-web"])("client.importJobs over %s", (protocol) => {
  let server: DevServer;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
  });
  afterAll(() => server.close());

  it("ImportJobs (upstream client importJobs): groups by tenant, answers in input order, defaults priority 50 and the server's clock", async () => {
    const now = BigInt(Date.now());
    const results = await client.importJobs([
      { id: "j1", tenant: "alpha", taskGroup: "imports", payload: { n: 1 } },
      { id: "j2", tenant: "beta", taskGroup: "imports", payload: null, attempts: [{ status: ClientAttemptStatus.Succeeded, startedAtMs: now - 50n, finishedAtMs: now - 40n, result: { ok: 1 } }] },
      { id: "j3", tenant: "alpha", taskGroup: "imports", payload: 3, attempts: [{ status: ClientAttemptStatus.Succeeded, startedAtMs: 1n, finishedAtMs: 2n }, { status: ClientAttemptStatus.Failed, startedAtMs: 3, finishedAtMs: 4 }] },
    ]);
    expect(results.map((r) => [r.id, r.success, r.status])).toEqual([
      ["j1", true, ClientJobStatus.Scheduled],
      ["j2", true, ClientJobStatus.Succeeded],
      ["j3", false, ClientJobStatus.Failed],
    ]);
    expect(results[2]?.error).toContain("import attempt 1 must be Failed");
    const j1 = await client.getJob("j1", "alpha");
    expect(j1.priority).toBe(50);
    expect(j1.enqueueTimeMs).toBeGreaterThanOrEqual(now);
    expect((await client.getJob("j2", "beta")).result).toEqual({ ok: 1 });
    expect(await client.importJobs([])).toEqual([]);
  });

  it("ImportJobs (client): refuses bad input naming the job and field before any call", async () => {
    const before = server.rpcCounts().ImportJobs ?? 0;
    await expect(client.importJobs([{ id: "", taskGroup: "g", payload: 1 }])).rejects.toThrow(SiloValidationError);
    await expect(client.importJobs([{ id: "a", taskGroup: "g", payload: 1, attempts: [{ status: ClientAttemptStatus.Running, startedAtMs: 1, finishedAtMs: 2 }] }])).rejects.toThrow(
      /jobs\[0\]\.attempts\[0\]\.status/,
    );
    await expect(client.importJobs([{ id: "a", taskGroup: "g", payload: 1, priority: 100 }])).rejects.toThrow(/jobs\[0\]\.priority/);
    expect(server.rpcCounts().ImportJobs ?? 0).toBe(before);
  });
});
