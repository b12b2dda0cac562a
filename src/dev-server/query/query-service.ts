import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { QueryRequest, QueryResponseSchema } from "../../gen/silo/v1/silo_pb.js";
import type { ShardStore } from "../job-store.js";
import { snapshotTables } from "./query-tables.js";
import { runStatement } from "./sql-engine.js";

/** Limits of the dev server's Query RPC; the defaults are the stock server's settings. */
export interface QueryOptions {
  /** A statement running longer fails with DEADLINE_EXCEEDED; 0 disables. Default `5000` (`server.statement_timeout_ms`). */
  statementTimeoutMs?: number;
  /** Statements one shard runs at once; one more gets RESOURCE_EXHAUSTED. Default `8` (`server.max_concurrent_statements`). */
  maxConcurrentStatements?: number;
  /**
   * A result whose MessagePack rows exceed this many bytes fails with RESOURCE_EXHAUSTED.
   * Default 64 MiB (`server.max_result_bytes`, which the stock server measures in Arrow memory).
   */
  maxResultBytes?: number;
}

const DEFAULTS: Required<QueryOptions> = {
  statementTimeoutMs: 5_000,
  maxConcurrentStatements: 8,
  maxResultBytes: 64 * 1024 * 1024,
};

/** The options with defaults filled in; a RangeError naming every bad field. */
export function resolveQueryOptions(options: QueryOptions | undefined): Required<QueryOptions> {
  const o = { ...DEFAULTS, ...options };
  const problems: string[] = [];
  if (!Number.isInteger(o.statementTimeoutMs) || o.statementTimeoutMs < 0) problems.push(`query.statementTimeoutMs must be an integer >= 0 (got ${o.statementTimeoutMs})`);
  if (!Number.isInteger(o.maxConcurrentStatements) || o.maxConcurrentStatements < 1) {
    problems.push(`query.maxConcurrentStatements must be an integer >= 1 (got ${o.maxConcurrentStatements})`);
  }
  if (!Number.isInteger(o.maxResultBytes) || o.maxResultBytes < 1) problems.push(`query.maxResultBytes must be an integer >= 1 (got ${o.maxResultBytes})`);
  if (problems.length > 0) throw new RangeError(`invalid dev server options: ${problems.join("; ")}`);
  return o;
}

export interface QueryHandlerContext {
  /** The local store of a shard id, or the stock server's routing errors. */
  readonly localShard: (rawShard: string) => ShardStore;
  /** The clock, after failing expired leases. */
  readonly tick: () => number;
  readonly options: Required<QueryOptions>;
}

/**
 * The Query RPC of one node. It ignores the request's tenant, as the stock server does
 * (src/server.rs:466-527): the SQL sees every tenant on the shard and scopes itself with WHERE.
 */
export function createQueryHandler(ctx: QueryHandlerContext): (req: QueryRequest) => Promise<MessageInitShape<typeof QueryResponseSchema>> {
  const inFlight = new Map<string, number>();
  const { statementTimeoutMs, maxConcurrentStatements, maxResultBytes } = ctx.options;

  return async function query(req) {
    const now = ctx.tick();
    const store = ctx.localShard(req.shard);
    const running = inFlight.get(store.shardId) ?? 0;
    if (running >= maxConcurrentStatements) {
      throw new ConnectError(
        `shard ${store.shardId} has ${maxConcurrentStatements} statements already in flight (server.max_concurrent_statements)`,
        Code.ResourceExhausted,
      );
    }
    inFlight.set(store.shardId, running + 1);
    try {
      const result = await runStatement(req.sql, req.parameters, (wanted) => snapshotTables(store, now, wanted), {
        statementTimeoutMs,
        maxResultBytes,
      });
      return {
        columns: result.columns.map((c) => ({ name: c.name, dataType: c.dataType })),
        rows: result.rows.map((value) => ({ encoding: { case: "msgpack", value } })),
        rowCount: result.rows.length,
      };
    } finally {
      const left = (inFlight.get(store.shardId) ?? 1) - 1;
      if (left === 0) inFlight.delete(store.shardId);
      else inFlight.set(store.shardId, left);
    }
  };
}
