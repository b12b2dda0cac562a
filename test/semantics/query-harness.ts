// Shared by the Query tests: a dev server seeded with jobs in every status the `jobs` table
// distinguishes, and a helper that runs SQL over the raw Connect client and decodes the rows.
import { decode, encode } from "@msgpack/msgpack";
import { expect } from "vitest";
import { startDevServer, type DevServer, type DevServerOptions } from "../../src/dev-server/index.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { QueryParameterSchema } from "../../src/gen/silo/v1/silo_pb.js";
import type { SiloClient, TransportCase } from "../dev-server/harness.js";

export { transports } from "../dev-server/harness.js";

export interface QueryRows {
  columns: { name: string; dataType: string }[];
  rows: Record<string, unknown>[];
  rowCount: number;
}

export type ParameterInit = MessageInitShape<typeof QueryParameterSchema>;

export const str = (value: string): ParameterInit => ({ value: { case: "stringValue", value } });
export const int = (value: bigint): ParameterInit => ({ value: { case: "int64Value", value } });

/** Run SQL on one shard and decode every row from MessagePack. */
export async function runSql(client: SiloClient, shard: string, sql: string, parameters: ParameterInit[] = [], tenant?: string): Promise<QueryRows> {
  const res = await client.query({ shard, sql, parameters, ...(tenant !== undefined ? { tenant } : {}) });
  const rows = res.rows.map((r) => {
    expect(r.encoding.case).toBe("msgpack");
    return decode(r.encoding.value as Uint8Array) as Record<string, unknown>;
  });
  expect(res.rowCount).toBe(rows.length);
  return { columns: res.columns.map((c) => ({ name: c.name, dataType: c.dataType })), rows, rowCount: res.rowCount };
}

/** Column name → Arrow type name. */
export function typesOf(result: QueryRows): Record<string, string> {
  return Object.fromEntries(result.columns.map((c) => [c.name, c.dataType]));
}

export const HOUR = 3_600_000;

/**
 * One shard, tenancy off (every job under tenant `-`), holding:
 * type_test_0..2 (priorities 0, 50, 99, past start times: Waiting, metadata env/region),
 * future (Scheduled), running (leased, Running), retrying (failed once, attempt 2 an hour away:
 * Scheduled with current_attempt 2), done (Succeeded).
 */
export async function seededServer(transport: TransportCase, options: DevServerOptions = {}): Promise<{ server: DevServer; client: SiloClient; shard: string }> {
  const server = await startDevServer({ port: 0, ...options });
  const client = transport.client(server.addresses[0]!);
  const shard = server.shards()[0]!.id;
  const enqueue = (id: string, priority: number, startAtMs: number, extra: { metadata?: Record<string, string>; taskGroup?: string; retry?: boolean } = {}) =>
    client.enqueue({
      shard,
      id,
      priority,
      startAtMs: BigInt(startAtMs),
      payload: { encoding: { case: "msgpack", value: encode({ value: id, nested: { field: "value" } }) } },
      taskGroup: extra.taskGroup ?? "default",
      metadata: extra.metadata ?? {},
      ...(extra.retry ? { retryPolicy: { retryCount: 3, initialIntervalMs: BigInt(HOUR), maxIntervalMs: BigInt(HOUR), backoffFactor: 1 } } : {}),
    });
  const regions = ["us-east", "eu-west", "us-west"];
  for (let i = 0; i < 3; i++) {
    await enqueue(`type_test_${i}`, [0, 50, 99][i]!, 1_000_000_000 + i * 1000, { metadata: { env: i === 1 ? "prod" : i === 2 ? "production" : "dev", region: regions[i]! } });
  }
  const now = Date.now();
  await enqueue("future", 10, now + HOUR);
  await enqueue("running", 20, 0, { taskGroup: "run" });
  await client.leaseTasks({ shard, workerId: "w", maxTasks: 1, taskGroup: "run" });
  await enqueue("retrying", 30, 0, { taskGroup: "retry", retry: true });
  const retrying = await client.leaseTasks({ shard, workerId: "w", maxTasks: 1, taskGroup: "retry" });
  await client.reportOutcome({
    shard,
    taskId: retrying.tasks[0]!.id,
    outcome: { case: "failure", value: { code: "BOOM", data: { encoding: { case: "msgpack", value: encode(null) } } } },
  });
  await enqueue("done", 40, 0, { taskGroup: "done" });
  const done = await client.leaseTasks({ shard, workerId: "w", maxTasks: 1, taskGroup: "done" });
  await client.reportOutcome({ shard, taskId: done.tasks[0]!.id, outcome: { case: "success", value: { encoding: { case: "msgpack", value: encode("ok") } } } });
  return { server, client, shard };
}
