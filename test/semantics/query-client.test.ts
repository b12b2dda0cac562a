// Wire contract, "Public client methods": `query(sql, tenant?, parameters?)` returns
// `{columns: [{name, dataType}], rows, rowCount}` with every row decoded, maps bind values as the
// upstream client does (typescript_client/src/client.ts:737-776, 2547-2583), rejects bad values
// before any network call, and routes by the tenant's shard.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { hashTenant, SiloDeadlineExceededError, SiloGRPCClient, SiloInvalidArgumentError, SiloResourceExhaustedError, SiloValidationError, type Protocol, type QueryBindParameter, type QueryResult } from "silo-edge";

describe.each<Protocol>(["grpc", "grpc-web"])("client.query over %s", (protocol) => {
  let server: DevServer;
  let client: SiloGRPCClient;
  let tenants: string[];

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
    // Tenants until two land on different shards.
    tenants = [];
    const seen = new Set<string>();
    const topology = await client.loadTopology();
    for (let i = 0; tenants.length < 2; i++) {
      const tenant = `q-${protocol}-${i}`;
      const shard = topology.shardForHash(hashTenant(tenant))!.id;
      if (seen.has(shard)) continue;
      seen.add(shard);
      tenants.push(tenant);
    }
    for (const tenant of tenants) {
      await client.enqueue({ tenant, id: `${tenant}-a`, payload: { n: 1 }, taskGroup: "q", priority: 10, metadata: { env: "prod" } });
      await client.enqueue({ tenant, id: `${tenant}-b`, payload: { n: 2 }, taskGroup: "q", priority: 30 });
    }
  });
  afterAll(() => server.close());

  it("returns columns with their Arrow type names, decoded rows and the row count", async () => {
    const [tenant] = tenants as [string];
    const result: QueryResult<{ id: string; priority: number }> = await client.query("SELECT id, priority FROM jobs WHERE tenant = $1 ORDER BY id", tenant, [tenant]);
    expect(result).toEqual({
      columns: [
        { name: "id", dataType: "Utf8" },
        { name: "priority", dataType: "UInt8" },
      ],
      rows: [
        { id: `${tenant}-a`, priority: 10 },
        { id: `${tenant}-b`, priority: 30 },
      ],
      rowCount: 2,
    });
  });

  it("routes to the tenant's shard, whose SQL sees only that shard's jobs", async () => {
    const [a, b] = tenants as [string, string];
    const onA = await client.query<{ tenant: string }>("SELECT DISTINCT tenant FROM jobs", a);
    expect(onA.rows).toEqual([{ tenant: a }]);
    const onB = await client.query<{ tenant: string }>("SELECT DISTINCT tenant FROM jobs", b);
    expect(onB.rows).toEqual([{ tenant: b }]);
  });

  it("maps every kind of bind value: null, boolean, bigint, safe integer, float, string, Uint8Array", async () => {
    const parameters: QueryBindParameter[] = [null, true, 2n ** 40n, 7, 1.5, "s", Uint8Array.of(0xab)];
    const result = await client.query("SELECT $1 IS NULL AS n, $2 AS b, $3 AS big, $4 AS i, $5 AS f, $6 AS s, $7 AS bin", tenants[0], parameters);
    expect(result.columns.map((c) => c.dataType)).toEqual(["Boolean", "Boolean", "Int64", "Int64", "Float64", "Utf8", "Binary"]);
    expect(result.rows).toEqual([{ n: true, b: true, big: 2 ** 40, i: 7, f: 1.5, s: "s", bin: "ab" }]);
  });

  it("runs on the default tenant's shard without a tenant, even under tenancy", async () => {
    const result = await client.query<{ one: number }>("SELECT 1 AS one");
    expect(result.rows).toEqual([{ one: 1 }]);
  });

  it("throws a SiloValidationError naming the bad bind value before any network call", async () => {
    server.resetRpcCounts();
    const bad: [unknown, RegExp][] = [
      [Number.NaN, /finite/],
      [Infinity, /finite/],
      [2 ** 53, /bigint/],
      [2n ** 63n, /64-bit/],
      [undefined, /undefined/],
      [{}, /an object/],
      [[1], /an array/],
      [Symbol("s"), /symbol/],
    ];
    for (const [value, problem] of bad) {
      const err = await client.query("SELECT $2", tenants[0], ["ok", value as QueryBindParameter]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloValidationError);
      expect((err as SiloValidationError).field).toBe("parameters[1]");
      expect((err as Error).message).toMatch(problem);
    }
    for (const [sql, tenant, parameters, field] of [
      ["", undefined, undefined, "sql"],
      [42, undefined, undefined, "sql"],
      ["SELECT 1", "", undefined, "tenant"],
      ["SELECT 1", undefined, "not an array", "parameters"],
    ] as const) {
      const err = await client.query(sql as string, tenant, parameters as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloValidationError);
      expect((err as SiloValidationError).field).toBe(field);
    }
    expect(server.rpcCounts().Query ?? 0).toBe(0);
  });

  it("surfaces the server's SQL errors as typed errors with the server's message", async () => {
    const err = await client.query("SELECT nonexistent_column FROM jobs", tenants[0]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloInvalidArgumentError);
    expect((err as Error).message).toMatch(/SQL error/);
  });
});

const SLOW_SQL = "SELECT sum(x % 7) AS s FROM range(1000000000000) t(x)";

describe("client.query limit errors", () => {
  let server: DevServer;
  let client: SiloGRPCClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, query: { statementTimeoutMs: 200, maxResultBytes: 1_000, maxConcurrentStatements: 1 } });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, shardRouting: { maxRetries: 0 } });
  });
  afterAll(() => server.close());

  it("throws SiloDeadlineExceededError for the statement timeout and SiloResourceExhaustedError for the result cap", async () => {
    const slow = await client.query(SLOW_SQL).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(SiloDeadlineExceededError);
    expect((slow as Error).message).toMatch(/Query exceeded statement timeout of 200 ms/);
    const big = await client.query("SELECT x FROM range(100000) t(x)").catch((e: unknown) => e);
    expect(big).toBeInstanceOf(SiloResourceExhaustedError);
    expect((big as Error).message).toMatch(/max_result_bytes \(1000 bytes\)/);
  });

  it("backs off and retries while the shard is at its statement limit, as the upstream client's retry policy does", async () => {
    const slow = client.query(SLOW_SQL).catch((e: unknown) => e);
    // The slow statement holds the shard's only slot until its 200 ms timeout.
    await new Promise((r) => setTimeout(r, 50));
    server.resetRpcCounts();
    const quick = await client.query<{ one: number }>("SELECT 1 AS one");
    expect(quick.rows).toEqual([{ one: 1 }]);
    expect(server.rpcCounts().Query).toBeGreaterThan(1);
    expect(await slow).toBeInstanceOf(SiloDeadlineExceededError);
  });

  it("does not retry a result over the size cap, which would fail again", async () => {
    server.resetRpcCounts();
    await expect(client.query("SELECT x FROM range(100000) t(x)")).rejects.toBeInstanceOf(SiloResourceExhaustedError);
    expect(server.rpcCounts().Query).toBe(1);
  });
});
