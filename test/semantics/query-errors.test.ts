// Wire contract, "Query and ImportJobs": "Query errors", "Bind parameters", "Tenant scoping"
// and "QueryResponse encoding" against the dev server over gRPC and gRPC-web.
import { Code } from "@connectrpc/connect";
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashTenant } from "../../src/core/tenant-hash.js";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { expectError, type SiloClient } from "../dev-server/harness.js";
import { runSql, seededServer, str, transports, type ParameterInit } from "./query-harness.js";

/** A statement that scans long enough to hit any short statement timeout. */
const SLOW_SQL = "SELECT sum(x % 7) AS s FROM range(1000000000000) t(x)";

describe.each(transports)("Query errors over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    ({ server, client, shard } = await seededServer(transport));
  });
  afterAll(() => server.close());

  it("a syntax error is INVALID_ARGUMENT 'SQL error: ...' (src/server.rs:500-504; grpc_query_tests.rs:376-400)", async () => {
    const err = await expectError(client.query({ shard, sql: "SELECT FROM WHERE" }), Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^SQL error: .*syntax error/);
  });

  it("an unknown column or table is INVALID_ARGUMENT 'SQL error: ...' (grpc_query_tests.rs:400-415)", async () => {
    const column = await expectError(client.query({ shard, sql: "SELECT nonexistent_column FROM jobs" }), Code.InvalidArgument);
    expect(column.rawMessage).toMatch(/^SQL error: .*nonexistent_column/);
    const table = await expectError(client.query({ shard, sql: "SELECT * FROM nope" }), Code.InvalidArgument);
    expect(table.rawMessage).toMatch(/^SQL error: .*nope/);
  });

  it("the tables are read-only: a write or DDL statement is INVALID_ARGUMENT and changes nothing", async () => {
    for (const sql of ["DELETE FROM jobs", "CREATE TABLE t (a INT)", "SET threads = 1", "SELECT 1; DELETE FROM jobs"]) {
      const err = await expectError(client.query({ shard, sql }), Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^SQL error: /);
    }
    expect((await runSql(client, shard, "SELECT COUNT(*) AS n FROM jobs")).rows).toEqual([{ n: 7 }]);
  });

  it("SQL cannot read files on the dev server's machine", async () => {
    const err = await expectError(client.query({ shard, sql: "SELECT * FROM read_text('/etc/hostname')" }), Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^SQL error: /);
  });

  it("an error while running is INTERNAL 'Query execution failed: ...' (src/server.rs:513-517)", async () => {
    const err = await expectError(client.query({ shard, sql: "SELECT CAST(id AS INTEGER) AS n FROM jobs" }), Code.Internal);
    expect(err.rawMessage).toMatch(/^Query execution failed: /);
  });

  it("a parameter without a value is INVALID_ARGUMENT 'query parameter is missing a value' (grpc_query_tests.rs:505-522)", async () => {
    await expectError(client.query({ shard, sql: "SELECT id FROM jobs WHERE id = $1", parameters: [{}] }), Code.InvalidArgument, "query parameter is missing a value");
  });

  it("a placeholder without a value is INVALID_ARGUMENT 'SQL parameter error: ... $2' (grpc_query_tests.rs:524-540)", async () => {
    const err = await expectError(client.query({ shard, sql: "SELECT id FROM jobs WHERE id = $2", parameters: [str("job1")] }), Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^SQL parameter error: .*No value found for placeholder with id \$2/);
  });

  it("binds every value type with its Arrow type: Boolean, Int64, UInt64, Float64, Utf8, Binary, NULL (src/server.rs:426-441)", async () => {
    const parameters: ParameterInit[] = [
      { value: { case: "boolValue", value: true } },
      { value: { case: "int64Value", value: -5n } },
      { value: { case: "uint64Value", value: 18446744073709551615n } },
      { value: { case: "float64Value", value: 0.25 } },
      str("héllo"),
      { value: { case: "bytesValue", value: Uint8Array.of(1, 2, 255) } },
      { value: { case: "nullValue", value: {} } },
    ];
    const result = await runSql(client, shard, "SELECT $1 AS b, $2 AS i, $3 AS u, $4 AS f, $5 AS s, $6 AS bin, $7 IS NULL AS n", parameters);
    expect(result.columns).toEqual([
      { name: "b", dataType: "Boolean" },
      { name: "i", dataType: "Int64" },
      { name: "u", dataType: "UInt64" },
      { name: "f", dataType: "Float64" },
      { name: "s", dataType: "Utf8" },
      { name: "bin", dataType: "Binary" },
      { name: "n", dataType: "Boolean" },
    ]);
    const row = result.rows[0]!;
    expect(row).toMatchObject({ b: true, i: -5, f: 0.25, s: "héllo", bin: "0102ff", n: true });
    // Beyond 2^53 the integer stays exact on the wire (MessagePack uint64).
    expect(BigInt(row.u as number | bigint)).toBe(18446744073709551616n);
  });

  it("a float column is a MessagePack float even for whole values; integers are integers", async () => {
    const res = await client.query({ shard, sql: "SELECT CAST(2 AS DOUBLE) AS f, CAST(2 AS BIGINT) AS i" });
    const bytes = res.rows[0]!.encoding.value as Uint8Array;
    // fixmap(2), "f", float64 2.0, "i", positive fixint 2
    expect([...bytes]).toEqual([0x82, 0xa1, 0x66, 0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0x69, 0x02]);
  });

  it("Shard rules: a malformed shard id is INVALID_ARGUMENT, an unknown one NOT_FOUND 'shard not found' (src/server.rs:472-473)", async () => {
    await expectError(client.query({ shard: "not-a-uuid", sql: "SELECT 1" }), Code.InvalidArgument);
    await expectError(client.query({ shard: "99999999-9999-9999-9999-999999999999", sql: "SELECT * FROM jobs" }), Code.NotFound, "shard not found");
  });

  it("Tenant scoping: a request tenant is ignored with tenancy off too, where other RPCs refuse it (src/server.rs:466-527)", async () => {
    const result = await runSql(client, shard, "SELECT COUNT(*) AS n FROM jobs WHERE tenant = '-'", [], "some-tenant");
    expect(result.rows).toEqual([{ n: 7 }]);
    await expectError(client.getJob({ shard, id: "done", tenant: "some-tenant" }), Code.FailedPrecondition);
  });

  it("QueryArrow answers UNIMPLEMENTED on the dev server", async () => {
    const stream = client.queryArrow({ shard, sql: "SELECT 1" });
    const err = await expectError(
      (async () => {
        for await (const _ of stream) void _;
      })(),
      Code.Unimplemented,
    );
    expect(err.rawMessage).toMatch(/QueryArrow/);
  });
});

describe.each(transports)("Query limits over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, query: { statementTimeoutMs: 300, maxConcurrentStatements: 1, maxResultBytes: 10_000 } });
    client = transport.client(server.addresses[0]!);
    shard = server.shards()[0]!.id;
  });
  afterAll(() => server.close());

  it("a statement past the timeout is DEADLINE_EXCEEDED 'Query exceeded statement timeout of <n> ms' (src/query.rs:33-49)", async () => {
    await expectError(client.query({ shard, sql: SLOW_SQL }), Code.DeadlineExceeded, "Query exceeded statement timeout of 300 ms");
  });

  it("one statement more than max_concurrent_statements on a shard is RESOURCE_EXHAUSTED (src/server.rs:476-498)", async () => {
    const queries = server.rpcCounts().Query ?? 0;
    const first = client.query({ shard, sql: SLOW_SQL }).catch((e: unknown) => e);
    // The first statement holds the shard's only slot until its timeout, from the moment the
    // server took it (counted just before its handler runs, in this process).
    await expect.poll(() => server.rpcCounts().Query ?? 0, { interval: 5 }).toBe(queries + 1);
    await expectError(
      client.query({ shard, sql: "SELECT 1" }),
      Code.ResourceExhausted,
      `shard ${shard} has 1 statements already in flight (server.max_concurrent_statements)`,
    );
    await first;
    // The slot is free again once the statement ended.
    expect((await runSql(client, shard, "SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("a result above max_result_bytes is RESOURCE_EXHAUSTED and names LIMIT and QueryArrow (src/server.rs:1545-1560)", async () => {
    const err = await expectError(client.query({ shard, sql: "SELECT x FROM range(100000) t(x)" }), Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^query result exceeded max_result_bytes \(10000 bytes\) after \d+ rows; add a LIMIT, project fewer columns, or use QueryArrow$/);
    expect((await runSql(client, shard, "SELECT x FROM range(100000) t(x) LIMIT 10")).rowCount).toBe(10);
  });
});

describe.each(transports)("Query tenant scoping over $name", (transport) => {
  let server: DevServer;
  let client: SiloClient;
  let shard: string;
  let running: { taskId: string; tenant: string };

  beforeAll(async () => {
    server = await startDevServer({ port: 0, tenancy: true, shards: 2 });
    client = transport.client(server.addresses[0]!);
    // Two tenants on the same shard, so a query there sees both.
    const shards = server.shards();
    const tenants: string[] = [];
    for (let i = 0; tenants.length < 2; i++) {
      const t = `tenant-${i}`;
      const h = hashTenant(t);
      if ((shards[0]!.rangeStart === "" || h >= shards[0]!.rangeStart) && (shards[0]!.rangeEnd === "" || h < shards[0]!.rangeEnd)) tenants.push(t);
    }
    shard = shards[0]!.id;
    for (const [i, tenant] of tenants.entries()) {
      await client.enqueue({
        shard,
        tenant,
        id: `job-${i}`,
        payload: { encoding: { case: "msgpack", value: encode(i) } },
        taskGroup: "scoped",
        limits: [{ limit: { case: "concurrency", value: { key: "per-user", maxConcurrency: 3 } } }],
      });
    }
    const leased = await client.leaseTasks({ shard, workerId: "w", maxTasks: 1, taskGroup: "scoped" });
    running = { taskId: leased.tasks[0]!.id, tenant: leased.tasks[0]!.tenantId! };
  });
  afterAll(() => server.close());

  it("ignores the request's tenant: no tenant needed under tenancy, the SQL sees every tenant on the shard (src/server.rs:466-527)", async () => {
    const withoutTenant = await runSql(client, shard, "SELECT tenant, id FROM jobs ORDER BY id");
    expect(withoutTenant.rows.map((r) => r.id)).toEqual(["job-0", "job-1"]);
    expect(new Set(withoutTenant.rows.map((r) => r.tenant)).size).toBe(2);
    // A tenant outside the shard's range is not checked either.
    const otherTenant = await runSql(client, shard, "SELECT id FROM jobs ORDER BY id", [], "a-tenant-of-another-shard");
    expect(otherTenant.rowCount).toBe(2);
  });

  it("scopes with WHERE tenant = ... in the SQL (grpc_query_tests.rs:700-770)", async () => {
    const first = (await runSql(client, shard, "SELECT tenant FROM jobs WHERE id = 'job-0'")).rows[0]!.tenant as string;
    const scoped = await runSql(client, shard, "SELECT id FROM jobs WHERE tenant = $1", [str(first)]);
    expect(scoped.rows).toEqual([{ id: "job-0" }]);
  });

  it("queues and queue_counts show the running attempt holding its concurrency slot (src/query.rs:2052-2076, 2590-2597)", async () => {
    // Each tenant has its own queue per key; the running attempt holds a slot of its tenant's.
    const holders = await runSql(client, shard, "SELECT queue_name, entry_type, task_id, job_id, priority FROM queues WHERE tenant = $1 AND task_id = $2", [
      str(running.tenant),
      str(running.taskId),
    ]);
    expect(holders.rows).toEqual([{ queue_name: "per-user", entry_type: "holder", task_id: running.taskId, job_id: null, priority: null }]);
    const counts = await runSql(client, shard, "SELECT queue_name, holders, requesters, max_concurrency, limit_type FROM queue_counts WHERE tenant = $1", [str(running.tenant)]);
    expect(counts.rows).toEqual([{ queue_name: "per-user", holders: 1, requesters: 0, max_concurrency: 3, limit_type: "fixed" }]);
    const limits = await runSql(client, shard, "SELECT limits FROM jobs WHERE id = 'job-0'");
    expect(JSON.parse(limits.rows[0]!.limits as string)).toEqual([{ limit_type: "Concurrency", key: "per-user", value: "3" }]);
  });
});
