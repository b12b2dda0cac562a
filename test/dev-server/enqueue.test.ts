import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import type { SiloClient } from "./harness.js";
import { expectError, msgpack, transports, unpack, uniqueGroup } from "./harness.js";

describe.each(transports)("enqueue over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
    client = transport.client(server.addresses[0] as string);
    shard = server.shards()[0]?.id as string;
  });
  afterAll(() => server.close());

  it("generates a UUID when the id is empty", async () => {
    const { id } = await client.enqueue({ shard, taskGroup: "g" });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(server.jobIds()).toContain(id);
  });

  it("keeps a caller-chosen id and returns the job as stored", async () => {
    const before = Date.now();
    const id = `job-${uniqueGroup()}`;
    await client.enqueue({
      shard,
      id,
      taskGroup: "emails",
      priority: 7,
      payload: msgpack({ to: "a@example.com", n: [1, 2] }),
      metadata: { source: "test" },
      retryPolicy: { retryCount: 2, initialIntervalMs: 10n, maxIntervalMs: 100n, backoffFactor: 2 },
      limits: [{ limit: { case: "concurrency", value: { key: "k", maxConcurrency: 3 } } }],
    });
    const job = await client.getJob({ shard, id });
    expect(job).toMatchObject({ id, taskGroup: "emails", priority: 7, status: JobStatus.SCHEDULED, metadata: { source: "test" } });
    expect(unpack(job.payload)).toEqual({ to: "a@example.com", n: [1, 2] });
    expect(job.retryPolicy?.retryCount).toBe(2);
    expect(job.limits[0]?.limit).toMatchObject({ case: "concurrency", value: { key: "k", maxConcurrency: 3 } });
    // enqueue_time_ms is the request's raw start_at_ms: 0 here (src/job_store_shard/enqueue.rs upstream).
    expect(job.enqueueTimeMs).toBe(0n);
    expect(Number(job.nextAttemptStartsAfterMs)).toBeGreaterThanOrEqual(before);
  });

  it("reports a duplicate id as INTERNAL, exactly as the stock server does", async () => {
    await client.enqueue({ shard, id: "dup-1", taskGroup: "g" });
    await expectError(client.enqueue({ shard, id: "dup-1", taskGroup: "g" }), Code.Internal, "job already exists with id dup-1");
    expect(server.jobIds().filter((j) => j === "dup-1")).toHaveLength(1);
  });

  it("requires a task group", async () => {
    await expectError(client.enqueue({ shard }), Code.InvalidArgument, "task_group is required");
  });

  it("refuses a task group over 64 characters", async () => {
    await client.enqueue({ shard, taskGroup: "g".repeat(64) });
    await expectError(
      client.enqueue({ shard, taskGroup: "g".repeat(65) }),
      Code.InvalidArgument,
      "task_group too long (must be <= 64 chars)",
    );
  });

  it("refuses a priority over 99", async () => {
    await client.enqueue({ shard, taskGroup: "g", priority: 99 });
    await expectError(client.enqueue({ shard, taskGroup: "g", priority: 100 }), Code.InvalidArgument, "priority must be between 0 and 99");
  });

  it("refuses more than 16 metadata entries", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    await expectError(client.enqueue({ shard, taskGroup: "g", metadata }), Code.InvalidArgument, "metadata has too many entries (max 16)");
  });

  it("refuses a metadata key of 64 characters or more", async () => {
    await client.enqueue({ shard, taskGroup: "g", metadata: { ["k".repeat(63)]: "v" } });
    await expectError(
      client.enqueue({ shard, taskGroup: "g", metadata: { ["k".repeat(64)]: "v" } }),
      Code.InvalidArgument,
      "metadata key too long (must be < 64 chars)",
    );
  });

  it("refuses a metadata value of 65,535 bytes or more", async () => {
    await expectError(
      client.enqueue({ shard, taskGroup: "g", metadata: { k: "v".repeat(65_535) } }),
      Code.InvalidArgument,
      "metadata value too long (must be < u16::MAX bytes)",
    );
  });

  it("answers NOT_FOUND for an unknown job, except DeleteJob which succeeds", async () => {
    await expectError(client.getJob({ shard, id: "nope" }), Code.NotFound, "job not found");
    await expectError(client.getJobResult({ shard, id: "nope" }), Code.NotFound, "job not found");
    await expectError(client.cancelJob({ shard, id: "nope" }), Code.NotFound, "job not found");
    await expectError(client.restartJob({ shard, id: "nope" }), Code.NotFound, "job not found");
    await expectError(client.expediteJob({ shard, id: "nope" }), Code.NotFound, "job not found");
    // DeleteJob of an unknown id succeeds, as on the stock server (src/job_store_shard/mod.rs).
    await expect(client.deleteJob({ shard, id: "nope" })).resolves.toBeDefined();
  });

  it("answers every operator RPC with UNIMPLEMENTED naming it", async () => {
    await expectError(client.getNodeInfo({}), Code.Unimplemented, "GetNodeInfo is not implemented by the silo-edge dev server");
    await expectError(
      (async () => {
        for await (const _ of client.queryArrow({ shard, sql: "select 1" })) void _;
      })(),
      Code.Unimplemented,
      "QueryArrow is not implemented by the silo-edge dev server",
    );
  });

  it("clears every shard on ResetShards", async () => {
    await client.enqueue({ shard, taskGroup: "g" });
    const { shardsReset } = await client.resetShards({});
    expect(shardsReset).toBe(1);
    expect(server.jobCount()).toBe(0);
  });
});
