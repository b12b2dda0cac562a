// Wire contract, "Query and ImportJobs" / "Tables" with "Concurrency slot reservation": slots are
// taken at enqueue, so the `tasks`, `queues` and `queue_counts` tables show holders, requesters and
// held queues before any worker runs (src/query.rs:2052-2076, 2478-2491, 2661-2683).
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import type { SiloClient } from "../dev-server/harness.js";
import { runSql, transports } from "./query-harness.js";

describe.each(transports)("Query tables of concurrency queues over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
    client = transport.client(server.addresses[0]!);
    shard = server.shards()[0]!.id;
    for (const [id, priority] of [["first", 10], ["second", 20]] as const) {
      await client.enqueue({
        shard,
        id,
        priority,
        payload: { encoding: { case: "msgpack", value: encode(id) } },
        taskGroup: "q",
        limits: [{ limit: { case: "concurrency", value: { key: "one-at-a-time", maxConcurrency: 1 } } }],
      });
    }
  });
  afterAll(() => server.close());

  it("the first job holds the slot and its pending RunAttempt task names the held queue; the second waits as a requester", async () => {
    const tasks = await runSql(client, shard, "SELECT job_id, variant_type, held_queues, attempt FROM tasks WHERE task_group = 'q'");
    expect(tasks.rows).toEqual([{ job_id: "first", variant_type: "RunAttempt", held_queues: "one-at-a-time", attempt: 1 }]);
    const queues = await runSql(client, shard, "SELECT entry_type, job_id, priority FROM queues WHERE queue_name = 'one-at-a-time' ORDER BY entry_type");
    expect(queues.rows).toEqual([
      { entry_type: "holder", job_id: null, priority: null },
      { entry_type: "requester", job_id: "second", priority: 20 },
    ]);
    const counts = await runSql(client, shard, "SELECT tenant, queue_name, holders, requesters, max_concurrency, limit_type FROM queue_counts");
    expect(counts.rows).toEqual([{ tenant: "-", queue_name: "one-at-a-time", holders: 1, requesters: 1, max_concurrency: 1, limit_type: "fixed" }]);
  });
});
