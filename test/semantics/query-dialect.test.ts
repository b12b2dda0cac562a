// Wire contract, "Query and ImportJobs": every example query of the section "Dialect used by
// upstream tests and docs" runs as written against the dev server and returns the documented
// columns and types ("Tables", "QueryResponse encoding"), over gRPC and gRPC-web.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import type { SiloClient } from "../dev-server/harness.js";
import { int, runSql, seededServer, str, transports, typesOf } from "./query-harness.js";

describe.each(transports)("Query dialect over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;
  const sql = (text: string, parameters: Parameters<typeof runSql>[3] = []) => runSql(client, shard, text, parameters);
  const ids = (rows: Record<string, unknown>[]) => rows.map((r) => r.id);

  beforeAll(async () => {
    ({ server, client, shard } = await seededServer(transport));
  });
  afterAll(() => server.close());

  it("Tables: SELECT * FROM jobs returns the 13 documented columns with their Arrow types (src/query.rs:852-890)", async () => {
    const result = await sql("SELECT * FROM jobs WHERE tenant = '-' ORDER BY id");
    expect(result.columns.map((c) => c.name)).toEqual([
      "shard_id",
      "tenant",
      "id",
      "priority",
      "enqueue_time_ms",
      "payload",
      "status_kind",
      "status_changed_at_ms",
      "task_group",
      "current_attempt",
      "next_attempt_starts_after_ms",
      "metadata",
      "limits",
    ]);
    const types = typesOf(result);
    expect(types).toMatchObject({
      shard_id: "Utf8",
      tenant: "Utf8",
      id: "Utf8",
      priority: "UInt8",
      enqueue_time_ms: "Int64",
      payload: "Utf8",
      status_kind: "Utf8",
      status_changed_at_ms: "Int64",
      task_group: "Utf8",
      current_attempt: "UInt32",
      next_attempt_starts_after_ms: "Int64",
      limits: "Utf8",
    });
    expect(types.metadata).toMatch(/^Map\(/);
    expect(result.rowCount).toBe(7);
    const first = result.rows.find((r) => r.id === "type_test_1")!;
    expect(first).toMatchObject({ shard_id: shard, tenant: "-", priority: 50, status_kind: "Waiting", task_group: "default", current_attempt: 1, limits: null });
    // The payload is the MessagePack payload as JSON text (src/query.rs:1822-1831).
    expect(JSON.parse(first.payload as string)).toEqual({ value: "type_test_1", nested: { field: "value" } });
    // A map column is sent as its display string (src/query.rs:3448-3590).
    expect(first.metadata).toBe("{env: prod, region: eu-west}");
    // Rows are MessagePack maps in column order.
    expect(Object.keys(first)).toEqual(result.columns.map((c) => c.name));
  });

  it("Tenant-scoped select and bound parameters: `tenant = $1 AND id = $2` (client-integration.test.ts:859-896)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant = $1 AND id = $2", [str("-"), str("type_test_2")]);
    expect(result.columns).toEqual([{ name: "id", dataType: "Utf8" }]);
    expect(result.rows).toEqual([{ id: "type_test_2" }]);
    const none = await sql("SELECT * FROM jobs WHERE tenant = 'query-tenant'");
    expect(none.rowCount).toBe(0);
    expect(none.columns).toHaveLength(13);
  });

  it("Comparison filter and projection: `SELECT id, priority FROM jobs WHERE priority < 20`", async () => {
    const result = await sql("SELECT id, priority FROM jobs WHERE priority < 20 ORDER BY id");
    expect(result.columns).toEqual([
      { name: "id", dataType: "Utf8" },
      { name: "priority", dataType: "UInt8" },
    ]);
    expect(result.rows).toEqual([
      { id: "future", priority: 10 },
      { id: "type_test_0", priority: 0 },
    ]);
  });

  it("Aggregate with alias: `SELECT COUNT(*) as count FROM jobs` is one Int64", async () => {
    const result = await sql("SELECT COUNT(*) as count FROM jobs");
    expect(result.columns).toEqual([{ name: "count", dataType: "Int64" }]);
    expect(result.rows).toEqual([{ count: 7 }]);
  });

  it("Computed columns: Boolean, CAST(... AS DOUBLE) / 100.0 as Float64, CASE with NULL (grpc_query_tests.rs:808-870)", async () => {
    const result = await sql(
      "SELECT id, priority > 25 as is_high_priority, CAST(priority AS DOUBLE) / 100.0 as priority_ratio, CASE WHEN priority = 0 THEN NULL ELSE enqueue_time_ms END as nullable_time FROM jobs WHERE id LIKE 'type_test_%' ORDER BY id",
    );
    expect(typesOf(result)).toEqual({ id: "Utf8", is_high_priority: "Boolean", priority_ratio: "Float64", nullable_time: "Int64" });
    expect(result.rows.map((r) => [r.id, r.is_high_priority, r.priority_ratio, r.nullable_time === null])).toEqual([
      ["type_test_0", false, 0, true],
      ["type_test_1", true, 0.5, false],
      ["type_test_2", true, 0.99, false],
    ]);
    expect(typeof result.rows[1]!.nullable_time).toBe("number");
  });

  it("Computed columns: COUNT(*), SUM, AVG, MIN, MAX in one row, AVG as Float64 (grpc_query_tests.rs:872-902)", async () => {
    const result = await sql("SELECT COUNT(*), SUM(priority), AVG(priority), MIN(priority), MAX(priority) FROM jobs WHERE id LIKE 'type_test_%'");
    expect(result.columns.map((c) => c.dataType)).toEqual(["Int64", "Int64", "Float64", "UInt8", "UInt8"]);
    const [count, sum, avg, min, max] = result.columns.map((c) => result.rows[0]![c.name]);
    expect([count, sum, min, max]).toEqual([3, 149, 0, 99]);
    expect(avg).toBeCloseTo(49.667, 2);
    expect(result.columns[0]!.name).toBe("count(*)");
  });

  it("Status filters with grouping and IN: Waiting, Scheduled, Running and Succeeded counted (query_tests.rs:3373)", async () => {
    const result = await sql(
      "SELECT status_kind, COUNT(*) as cnt FROM jobs WHERE tenant='-' AND status_kind IN ('Waiting','Scheduled','Running','Succeeded') GROUP BY status_kind ORDER BY status_kind",
    );
    expect(typesOf(result)).toEqual({ status_kind: "Utf8", cnt: "Int64" });
    expect(result.rows).toEqual([
      { status_kind: "Running", cnt: 1 },
      { status_kind: "Scheduled", cnt: 2 },
      { status_kind: "Succeeded", cnt: 1 },
      { status_kind: "Waiting", cnt: 3 },
    ]);
  });

  it("Status filters with OR: Waiting jobs and Scheduled retries past their first attempt (query_tests.rs:3003)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant='-' AND (status_kind='Waiting' OR (status_kind='Scheduled' AND current_attempt > 1)) ORDER BY id");
    expect(ids(result.rows)).toEqual(["retrying", "type_test_0", "type_test_1", "type_test_2"]);
  });

  it("Metadata map access: element_at returns a list, array_contains matches in it (query_tests.rs:291)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant='-' AND array_contains(element_at(metadata, 'env'), 'prod')");
    expect(ids(result.rows)).toEqual(["type_test_1"]);
    const list = await sql("SELECT element_at(metadata, 'env') AS env FROM jobs WHERE id = 'type_test_1'");
    expect(list.columns[0]!.dataType).toMatch(/^List\(/);
    expect(list.rows).toEqual([{ env: "[prod]" }]);
  });

  it("Metadata map access: starts_with(array_any_value(element_at(...))) (query_tests.rs:2020)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant='-' AND starts_with(array_any_value(element_at(metadata, 'env')), 'prod') ORDER BY id");
    expect(ids(result.rows)).toEqual(["type_test_1", "type_test_2"]);
  });

  it("Metadata map access: array_any_value(element_at(...)) LIKE 'us-%' (query_tests.rs:2061)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant='-' AND array_any_value(element_at(metadata, 'region')) LIKE 'us-%' ORDER BY id");
    expect(ids(result.rows)).toEqual(["type_test_0", "type_test_2"]);
  });

  it("Auxiliary tables: tenant_counts holds stored kinds (no Waiting), positive counts only (querying.mdx:138-151)", async () => {
    const result = await sql("SELECT status_kind, cnt FROM tenant_counts WHERE tenant = '-' ORDER BY status_kind");
    expect(typesOf(result)).toEqual({ status_kind: "Utf8", cnt: "Int64" });
    expect(result.rows).toEqual([
      { status_kind: "Running", cnt: 1 },
      { status_kind: "Scheduled", cnt: 5 },
      { status_kind: "Succeeded", cnt: 1 },
    ]);
    const all = await sql("SELECT * FROM tenant_counts");
    expect(all.columns.map((c) => `${c.name}:${c.dataType}`)).toEqual(["shard_id:Utf8", "tenant:Utf8", "status_kind:Utf8", "cnt:Int64"]);
  });

  it("Auxiliary tables: queues grouped by queue and entry type, with its documented columns (querying.mdx:262-359)", async () => {
    const result = await sql("SELECT queue_name, entry_type, COUNT(*) as count FROM queues WHERE tenant = $1 GROUP BY queue_name, entry_type", [str("-")]);
    expect(typesOf(result)).toEqual({ queue_name: "Utf8", entry_type: "Utf8", count: "Int64" });
    const all = await sql("SELECT * FROM queues");
    expect(all.columns.map((c) => `${c.name}:${c.dataType}`)).toEqual([
      "shard_id:Utf8",
      "tenant:Utf8",
      "queue_name:Utf8",
      "entry_type:Utf8",
      "task_id:Utf8",
      "job_id:Utf8",
      "priority:UInt8",
      "timestamp_ms:Int64",
    ]);
  });

  it("Auxiliary tables: pending tasks in start order, and the tasks and queue_counts columns (src/query.rs:2661-2683, 2478-2491)", async () => {
    const result = await sql("SELECT job_id, start_time_ms FROM tasks WHERE task_group = 'default' ORDER BY start_time_ms");
    expect(typesOf(result)).toEqual({ job_id: "Utf8", start_time_ms: "Int64" });
    expect(result.rows.map((r) => r.job_id)).toEqual(["type_test_0", "type_test_1", "type_test_2", "future"]);
    const tasks = await sql("SELECT * FROM tasks WHERE job_id = 'retrying'");
    expect(tasks.columns.map((c) => `${c.name}:${c.dataType}`)).toEqual([
      "shard_id:Utf8",
      "tenant:Utf8",
      "task_group:Utf8",
      "start_time_ms:Int64",
      "priority:UInt8",
      "job_id:Utf8",
      "attempt:UInt32",
      "variant_type:Utf8",
      "task_id:Utf8",
      "held_queues:Utf8",
    ]);
    expect(tasks.rows).toEqual([expect.objectContaining({ attempt: 2, variant_type: "RunAttempt", priority: 30 })]);
    // A leased attempt is no pending task.
    expect((await sql("SELECT * FROM tasks WHERE job_id = 'running'")).rowCount).toBe(0);
    const counts = await sql("SELECT * FROM queue_counts");
    expect(counts.columns.map((c) => `${c.name}:${c.dataType}`)).toEqual([
      "shard_id:Utf8",
      "tenant:Utf8",
      "queue_name:Utf8",
      "holders:Int64",
      "requesters:Int64",
      "max_concurrency:Int64",
      "limit_type:Utf8",
    ]);
  });

  it("Documented subset: ORDER BY, LIMIT and OFFSET, arithmetic", async () => {
    const result = await sql("SELECT id, priority * 2 + 1 AS p FROM jobs ORDER BY priority DESC LIMIT 2 OFFSET 1", []);
    expect(result.rows).toEqual([
      { id: "type_test_1", p: 101 },
      { id: "done", p: 81 },
    ]);
  });

  it("Bind parameters: Int64 compares with the UInt8 column (grpc_query_tests.rs:434-490)", async () => {
    const result = await sql("SELECT id FROM jobs WHERE tenant = $1 AND priority >= $2 ORDER BY id", [str("-"), int(50n)]);
    expect(ids(result.rows)).toEqual(["type_test_1", "type_test_2"]);
  });
});
