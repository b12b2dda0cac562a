import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LimitSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
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
    // A fast reaper keeps the expiry test short; the default sweep is every 1 s.
    server = await startDevServer({ port: 0, leaseMs: 300, reaperIntervalMs: 50 });
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
    // The first full queue asks for a refresh at once: the state starts never refreshed
    // (src/job_store_shard/floating.rs upstream).
    const first = await client.leaseTasks({ workerId: "w", maxTasks: 10, taskGroup });
    expect(first.tasks).toHaveLength(1);
    expect(first.refreshTasks).toHaveLength(1);
    const refresh = first.refreshTasks[0];
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
