import { Code, ConnectError } from "./rpc-error.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { QueryParameterSchema, QueryRequestSchema, QueryResponse } from "../gen/silo/v1/silo_pb.js";
import { abortableSleep } from "./abortable-sleep.js";
import type { CallOptions } from "./client-options.js";
import { SiloError, SiloValidationError } from "./errors.js";
import type { SiloGRPCClient, SiloRpcClient } from "./silo-client.js";
import type { AttemptOptions } from "./silo-job-client.js";
import { checkTenant } from "./validation.js";
import { decodeMsgpack } from "./msgpack.js";

/**
 * A value bound to a `$1`, `$2`, ... placeholder, mapped as the upstream client maps it
 * (typescript_client/src/client.ts:737-776): null → NULL, boolean → Boolean, bigint and safe
 * integers → Int64, other finite numbers → Float64, string → Utf8, Uint8Array → Binary.
 */
export type QueryBindParameter = null | boolean | number | bigint | string | Uint8Array;

/** One result column: its name and the server's Arrow type name (`Utf8`, `Int64`, `Map(...`). */
export interface QueryColumnInfo {
  name: string;
  dataType: string;
}

/** A Query result: every row decoded from MessagePack into an object keyed by column name. */
export interface QueryResult<Row = Record<string, unknown>> {
  columns: QueryColumnInfo[];
  rows: Row[];
  rowCount: number;
}

type QueryParameterInit = MessageInitShape<typeof QueryParameterSchema>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The wire form of the bind values; a `SiloValidationError` naming `parameters[i]` for a bad one. */
export function toQueryParameters(parameters: unknown): QueryParameterInit[] {
  if (parameters === undefined) return [];
  if (!Array.isArray(parameters)) throw new SiloValidationError("parameters", "must be an array of bind values");
  return parameters.map((value: unknown, i) => toQueryParameter(value, `parameters[${i}]`));
}

function toQueryParameter(value: unknown, field: string): QueryParameterInit {
  if (value === null) return { value: { case: "nullValue", value: {} } };
  switch (typeof value) {
    case "boolean":
      return { value: { case: "boolValue", value } };
    case "bigint":
      if (value < INT64_MIN || value > INT64_MAX) throw new SiloValidationError(field, `must fit in a signed 64-bit integer, got ${value}n`);
      return { value: { case: "int64Value", value } };
    case "number":
      if (!Number.isFinite(value)) throw new SiloValidationError(field, `must be a finite number, got ${value}`);
      if (Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) throw new SiloValidationError(field, `is an integer beyond 2^53 (${value}), which a number cannot hold exactly; pass a bigint`);
        return { value: { case: "int64Value", value: BigInt(value) } };
      }
      return { value: { case: "float64Value", value } };
    case "string":
      return { value: { case: "stringValue", value } };
  }
  if (value instanceof Uint8Array) return { value: { case: "bytesValue", value } };
  const got = value === undefined ? "undefined" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
  throw new SiloValidationError(field, `must be null, a boolean, a number, a bigint, a string or a Uint8Array, got ${got}`);
}

/** Columns as sent; rows decoded from MessagePack. */
export function queryResultFromWire<Row>(res: QueryResponse): QueryResult<Row> {
  const rows = res.rows.map((row, i) => {
    if (row.encoding.case !== "msgpack") throw new SiloError("SILO_INTERNAL", `Query: row[${i}] has no MessagePack encoding`);
    try {
      return decodeMsgpack(row.encoding.value) as Row;
    } catch (err) {
      throw new SiloError("SILO_INTERNAL", `Query: row[${i}] is not valid MessagePack: ${(err as Error).message}`, { cause: err });
    }
  });
  return { columns: res.columns.map((c) => ({ name: c.name, dataType: c.dataType })), rows, rowCount: res.rowCount };
}

/**
 * Runs `sql` on the shard that owns `tenant` (the default tenant's shard without one). The
 * server does not scope the SQL by tenant: the statement sees every tenant on that shard, so
 * filter with `WHERE tenant = ...` (src/server.rs:466-527).
 */
export async function runQuery<Row>(
  client: SiloGRPCClient,
  sql: unknown,
  tenant: unknown,
  parameters: unknown,
  options: CallOptions | undefined,
): Promise<QueryResult<Row>> {
  if (typeof sql !== "string" || sql.trim() === "") throw new SiloValidationError("sql", "must be a non-empty SQL string");
  const t = checkTenant("tenant", tenant);
  const params = toQueryParameters(parameters);
  const res = await client.callRouted(
    "Query",
    { tenant: t },
    (rpc, shard, attempt) => queryAdmitted(rpc, { shard: shard.id, sql, ...(t !== undefined ? { tenant: t } : {}), parameters: params }, attempt),
    options,
  );
  return queryResultFromWire<Row>(res);
}

/** Retries after the first rejection; the upstream client's gRPC retry policy makes 5 attempts. */
const ADMISSION_RETRIES = 4;

/**
 * Sends the Query, backing off while the shard is at its limit of concurrent statements
 * (RESOURCE_EXHAUSTED "... statements already in flight"), as the upstream client's retry policy
 * does (typescript_client/src/client.ts:1436-1448): 100 ms doubling, within the call's deadline.
 * A result above the size cap is also RESOURCE_EXHAUSTED but would fail again: not retried.
 */
async function queryAdmitted(rpc: SiloRpcClient, request: MessageInitShape<typeof QueryRequestSchema>, attempt: AttemptOptions): Promise<QueryResponse> {
  const deadline = Date.now() + attempt.timeoutMs;
  for (let retry = 0; ; retry++) {
    const timeoutMs = Math.max(1, deadline - Date.now());
    try {
      return await rpc.query(request, { ...attempt, timeoutMs });
    } catch (err) {
      const busy = err instanceof ConnectError && err.code === Code.ResourceExhausted && err.rawMessage.includes("statements already in flight");
      const backoffMs = Math.min(5_000, 100 * 2 ** retry);
      if (!busy || retry >= ADMISSION_RETRIES || Date.now() + backoffMs >= deadline || attempt.signal?.aborted) throw err;
      await abortableSleep(backoffMs, attempt.signal);
    }
  }
}
