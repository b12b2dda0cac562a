import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LimitSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { GubernatorAlgorithm, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import type { SiloClient } from "./harness.js";
import { msgpack, sleep, transports, uniqueGroup } from "./harness.js";

type LimitInit = MessageInitShape<typeof LimitSchema>;

const concurrency = (key: string, maxConcurrency: number): LimitInit => ({
  limit: { case: "concurrency", value: { key, maxConcurrency } },
});

describe.each(transports)("limits over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, leaseMs: 300 });
    client = transport.client(server.addresses[0] as string);
    shard = server.shards()[0]?.id as string;
  });
  afterAll(() => server.close());

  const lease = async (taskGroup: string, maxTasks = 10) =>
    (await client.leaseTasks({ workerId: "w", maxTasks, taskGroup })).tasks;
  const succeed = (taskId: string) =>
    client.reportOutcome({ shard, taskId, outcome: { case: "success", value: msgpack(null) } });

  it("lets one of two jobs run under a concurrency limit of 1, and the other when the slot frees", async () => {
    const taskGroup = uniqueGroup();
    const key = uniqueGroup("key");
    const a = await client.enqueue({ shard, taskGroup, limits: [concurrency(key, 1)] });
    const b = await client.enqueue({ shard, taskGroup, limits: [concurrency(key, 1)] });
    const first = await lease(taskGroup);
    expect(first.map((t) => t.jobId)).toEqual([a.id]);
    expect(await lease(taskGroup)).toHaveLength(0);
    expect((await client.getJob({ shard, id: b.id })).status).toBe(JobStatus.SCHEDULED);
    await succeed(first[0]?.id as string);
    expect((await lease(taskGroup)).map((t) => t.jobId)).toEqual([b.id]);
  });

  it("frees a concurrency slot when its holder's lease expires", async () => {
    const taskGroup = uniqueGroup();
    const key = uniqueGroup("key");
    await client.enqueue({ shard, taskGroup, limits: [concurrency(key, 1)] });
    const b = await client.enqueue({ shard, taskGroup, limits: [concurrency(key, 1)] });
    expect(await lease(taskGroup)).toHaveLength(1);
    await sleep(400);
    expect((await lease(taskGroup)).map((t) => t.jobId)).toContain(b.id);
  });

  it("hands the job's limits to the worker on the task", async () => {
    const taskGroup = uniqueGroup();
    await client.enqueue({ shard, taskGroup, limits: [concurrency("shown", 5)] });
    const [task] = await lease(taskGroup);
    expect(task?.limits[0]?.limit).toMatchObject({ case: "concurrency", value: { key: "shown", maxConcurrency: 5 } });
  });

  it("lets `limit` jobs through a token bucket, then defers the rest by the retry policy", async () => {
    const taskGroup = uniqueGroup();
    const name = uniqueGroup("rl");
    const rateLimit: LimitInit = {
      limit: {
        case: "rateLimit",
        value: {
          name,
          uniqueKey: "u",
          limit: 2n,
          durationMs: 60_000n,
          algorithm: GubernatorAlgorithm.TOKEN_BUCKET,
          retryPolicy: { initialBackoffMs: 5_000n, maxBackoffMs: 20_000n, backoffMultiplier: 2 },
        },
      },
    };
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await client.enqueue({ shard, taskGroup, limits: [rateLimit] })).id);
    const before = Date.now();
    const leased = await lease(taskGroup);
    expect(leased.map((t) => t.jobId)).toEqual(ids.slice(0, 2));
    const deferred = await client.getJob({ shard, id: ids[2] as string });
    expect(deferred.status).toBe(JobStatus.SCHEDULED);
    const wait = Number(deferred.nextAttemptStartsAfterMs) - before;
    expect(wait).toBeGreaterThanOrEqual(5_000);
    expect(wait).toBeLessThan(5_000 + 1_000);
    expect(await lease(taskGroup)).toHaveLength(0);
  });

  it("refills a leaky bucket over duration_ms", async () => {
    const taskGroup = uniqueGroup();
    const rateLimit: LimitInit = {
      limit: {
        case: "rateLimit",
        value: { name: uniqueGroup("leaky"), uniqueKey: "u", limit: 2n, durationMs: 200n, algorithm: GubernatorAlgorithm.LEAKY_BUCKET },
      },
    };
    for (let i = 0; i < 3; i++) await client.enqueue({ shard, taskGroup, limits: [rateLimit] });
    expect(await lease(taskGroup)).toHaveLength(2);
    await sleep(250);
    expect(await lease(taskGroup)).toHaveLength(1);
  });

  it("leases only when every limit passes, holding no slot for a job another limit blocks", async () => {
    const taskGroup = uniqueGroup();
    const key = uniqueGroup("key");
    const exhausted: LimitInit = {
      limit: {
        case: "rateLimit",
        value: { name: uniqueGroup("zero"), uniqueKey: "u", limit: 0n, durationMs: 60_000n, retryPolicy: { initialBackoffMs: 60_000n } },
      },
    };
    const blocked = await client.enqueue({ shard, taskGroup, priority: 0, limits: [concurrency(key, 1), exhausted] });
    const free = await client.enqueue({ shard, taskGroup, priority: 1, limits: [concurrency(key, 1)] });
    expect((await lease(taskGroup)).map((t) => t.jobId)).toEqual([free.id]);
    expect((await client.getJob({ shard, id: blocked.id })).status).toBe(JobStatus.SCHEDULED);
  });

  it("runs floating concurrency at its default until a worker reports a refresh", async () => {
    const taskGroup = uniqueGroup();
    const key = uniqueGroup("float");
    const floating: LimitInit = {
      limit: {
        case: "floatingConcurrency",
        value: { key, defaultMaxConcurrency: 1, refreshIntervalMs: 100n, metadata: { region: "eu" } },
      },
    };
    for (let i = 0; i < 3; i++) await client.enqueue({ shard, taskGroup, limits: [floating] });
    const first = await client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup });
    expect(first.tasks).toHaveLength(1);
    expect(first.refreshTasks).toHaveLength(0);
    await sleep(150);
    const second = await client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup });
    expect(second.tasks).toHaveLength(0);
    expect(second.refreshTasks).toHaveLength(1);
    const refresh = second.refreshTasks[0];
    expect(refresh).toMatchObject({ queueKey: key, currentMaxConcurrency: 1, metadata: { region: "eu" }, shard, taskGroup });
    await client.reportRefreshOutcome({
      shard,
      taskId: refresh?.id as string,
      outcome: { case: "success", value: { newMaxConcurrency: 3 } },
    });
    // The first task still holds a slot; the new maximum of 3 lets both others run.
    expect(await lease(taskGroup)).toHaveLength(2);
  });
});
