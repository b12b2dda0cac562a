import { decode } from "@msgpack/msgpack";
import type { Limit } from "../../gen/silo/v1/silo_pb.js";
import { JobStatus } from "../../gen/silo/v1/silo_pb.js";
import type { ConcurrencyQueue } from "../concurrency-queues.js";
import type { JobRecord, QueuedTask, ShardStore } from "../job-store.js";
import { statusName } from "../job-store.js";

// The five tables of the stock server's per-shard SQL engine (src/query.rs:141-191), as rows
// built from one shard's job store. This is the only file of the Query feature that reads the
// store's internals; everything else sees the plain rows and column lists below.

/** Column types the tables use, by the name DuckDB gives them. */
export type TableColumnType = "VARCHAR" | "UTINYINT" | "UINTEGER" | "BIGINT" | "MAP(VARCHAR, VARCHAR)";

export interface TableColumn {
  readonly name: string;
  readonly type: TableColumnType;
  readonly nullable: boolean;
}

/** A cell: strings, numbers, `Record<string, string>` for the map column, null for SQL NULL. */
export type TableCell = string | number | Readonly<Record<string, string>> | null;

export interface TableDefinition {
  readonly name: QueryTableName;
  readonly columns: readonly TableColumn[];
}

export type QueryTableName = "jobs" | "tasks" | "queues" | "tenant_counts" | "queue_counts";

const col = (name: string, type: TableColumnType, nullable = false): TableColumn => ({ name, type, nullable });

/** Column names, order, types and nullability as the stock server declares them. */
export const QUERY_TABLES: readonly TableDefinition[] = [
  {
    // src/query.rs:852-890
    name: "jobs",
    columns: [
      col("shard_id", "VARCHAR"),
      col("tenant", "VARCHAR"),
      col("id", "VARCHAR"),
      col("priority", "UTINYINT"),
      col("enqueue_time_ms", "BIGINT"),
      col("payload", "VARCHAR", true),
      col("status_kind", "VARCHAR", true),
      col("status_changed_at_ms", "BIGINT", true),
      col("task_group", "VARCHAR"),
      col("current_attempt", "UINTEGER", true),
      col("next_attempt_starts_after_ms", "BIGINT", true),
      col("metadata", "MAP(VARCHAR, VARCHAR)", true),
      col("limits", "VARCHAR", true),
    ],
  },
  {
    // src/query.rs:2661-2683
    name: "tasks",
    columns: [
      col("shard_id", "VARCHAR"),
      col("tenant", "VARCHAR"),
      col("task_group", "VARCHAR"),
      col("start_time_ms", "BIGINT"),
      col("priority", "UTINYINT"),
      col("job_id", "VARCHAR"),
      col("attempt", "UINTEGER"),
      col("variant_type", "VARCHAR"),
      col("task_id", "VARCHAR"),
      col("held_queues", "VARCHAR"),
    ],
  },
  {
    // src/query.rs:2052-2076
    name: "queues",
    columns: [
      col("shard_id", "VARCHAR"),
      col("tenant", "VARCHAR"),
      col("queue_name", "VARCHAR"),
      col("entry_type", "VARCHAR"),
      col("task_id", "VARCHAR"),
      col("job_id", "VARCHAR", true),
      col("priority", "UTINYINT", true),
      col("timestamp_ms", "BIGINT"),
    ],
  },
  {
    // src/query.rs:2394-2404
    name: "tenant_counts",
    columns: [col("shard_id", "VARCHAR"), col("tenant", "VARCHAR"), col("status_kind", "VARCHAR"), col("cnt", "BIGINT")],
  },
  {
    // src/query.rs:2478-2491
    name: "queue_counts",
    columns: [
      col("shard_id", "VARCHAR"),
      col("tenant", "VARCHAR"),
      col("queue_name", "VARCHAR"),
      col("holders", "BIGINT"),
      col("requesters", "BIGINT"),
      col("max_concurrency", "BIGINT", true),
      col("limit_type", "VARCHAR", true),
    ],
  },
];

/** Rows of each table, cells in the column order of {@link QUERY_TABLES}. */
export type QueryTableRows = Readonly<Record<QueryTableName, readonly (readonly TableCell[])[]>>;

/**
 * Everything the tables need from one shard, read through the store's public surface. When the
 * store's model changes, this accessor is the one place to adapt.
 */
interface ShardView {
  readonly shardId: string;
  readonly jobs: readonly JobRecord[];
  readonly tasks: readonly QueuedTask[];
  readonly queues: readonly ConcurrencyQueue<JobRecord>[];
  /** Current max of a floating limit, by tenant and key, when the shard has state for it. */
  floatingMax(tenant: string, key: string): number | undefined;
}

function viewOf(store: ShardStore): ShardView {
  const floating = new Map<string, number>();
  for (const state of store.floatingStates()) floating.set(`${state.tenant}\u0000${state.key}`, state.currentMaxConcurrency);
  return {
    shardId: store.shardId,
    jobs: store.allJobs(),
    tasks: store.queuedTasks(),
    queues: store.concurrencyQueues(),
    floatingMax: (tenant, key) => floating.get(`${tenant}\u0000${key}`),
  };
}

/**
 * A consistent snapshot of one shard's tables. Synchronous, so no RPC can change the store
 * half-way through: the stock server reads one SlateDB snapshot per statement in the same way.
 */
export function snapshotTables(store: ShardStore, now: number, wanted: ReadonlySet<QueryTableName>): QueryTableRows {
  const view = viewOf(store);
  const empty: readonly (readonly TableCell[])[] = [];
  return {
    jobs: wanted.has("jobs") ? view.jobs.map((job) => jobRow(view.shardId, job, now)) : empty,
    tasks: wanted.has("tasks") ? taskRows(view) : empty,
    queues: wanted.has("queues") ? queueRows(view) : empty,
    tenant_counts: wanted.has("tenant_counts") ? tenantCountRows(view) : empty,
    queue_counts: wanted.has("queue_counts") ? queueCountRows(view) : empty,
  };
}

/** `Waiting` (ready now) and `Scheduled` (future start) split SCHEDULED, as src/query.rs:3432-3446 does. */
function statusKind(job: JobRecord, now: number): string {
  if (job.status === JobStatus.SCHEDULED) {
    return job.nextAttemptAtMs !== undefined && job.nextAttemptAtMs > now ? "Scheduled" : "Waiting";
  }
  return statusName(job.status);
}

function jobRow(shardId: string, job: JobRecord, now: number): TableCell[] {
  // The store keeps the pending attempt's number and start for SCHEDULED jobs and for jobs
  // cancelled while scheduled, and clears them otherwise: the columns' rule exactly.
  return [
    shardId,
    job.tenant,
    job.id,
    job.priority,
    job.enqueueTimeMs,
    payloadJson(job.payload),
    statusKind(job, now),
    job.statusChangedAtMs,
    job.taskGroup,
    job.currentAttempt ?? null,
    job.nextAttemptAtMs ?? null,
    job.metadata,
    limitsJson(job.limits),
  ];
}

/** The payload as JSON text, or null when it is not MessagePack (src/query.rs:1822-1831). */
function payloadJson(payload: Uint8Array): string | null {
  if (payload.length === 0) return null;
  try {
    return JSON.stringify(decode(payload, { useBigInt64: true }), (_key, value: unknown) => {
      if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
      if (value instanceof Uint8Array) return [...value];
      return value;
    });
  } catch {
    return null;
  }
}

/** `[{limit_type, key, value}]` as src/query.rs:1891-1916 renders a job's limits. */
function limitsJson(limits: readonly Limit[]): string | null {
  if (limits.length === 0) return null;
  const out: { limit_type: string; key: string; value: string }[] = [];
  for (const { limit } of limits) {
    if (limit.case === "concurrency") {
      out.push({ limit_type: "Concurrency", key: limit.value.key, value: String(limit.value.maxConcurrency) });
    } else if (limit.case === "rateLimit") {
      out.push({ limit_type: "Rate", key: limit.value.uniqueKey, value: `${limit.value.limit} per ${limit.value.durationMs}ms` });
    } else if (limit.case === "floatingConcurrency") {
      out.push({ limit_type: "Floating Concurrency", key: limit.value.key, value: String(limit.value.defaultMaxConcurrency) });
    }
  }
  return JSON.stringify(out);
}

/** Pending (not leased) tasks of every kind, in queue order (src/query.rs:2661-2683, 2801-2810). */
function taskRows(view: ShardView): TableCell[][] {
  return view.tasks.map((task) => [
    view.shardId,
    task.tenant,
    task.taskGroup,
    task.startTimeMs,
    task.priority,
    task.job?.id ?? "",
    task.chain?.attemptNumber ?? 0,
    task.kind,
    task.taskId,
    (task.chain?.heldQueues ?? []).join(","),
  ]);
}

/** Holders (grant time) and requesters (request time) of every concurrency queue. */
function queueRows(view: ShardView): TableCell[][] {
  const rows: TableCell[][] = [];
  for (const queue of view.queues) {
    for (const [taskId, holder] of queue.holders) {
      rows.push([view.shardId, queue.tenant, queue.name, "holder", taskId, null, null, holder.grantedAtMs]);
    }
    for (const request of queue.requesters) {
      rows.push([view.shardId, queue.tenant, queue.name, "requester", request.chain.taskId, request.jobId, request.priority, request.requestedAtMs]);
    }
  }
  return rows;
}

/** Stored status kinds (no `Waiting`), positive counts only. */
function tenantCountRows(view: ShardView): TableCell[][] {
  const counts = new Map<string, Map<string, number>>();
  for (const job of view.jobs) {
    let byKind = counts.get(job.tenant);
    if (byKind === undefined) counts.set(job.tenant, (byKind = new Map()));
    const kind = statusName(job.status);
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  const rows: TableCell[][] = [];
  for (const [tenant, byKind] of counts) for (const [kind, n] of byKind) rows.push([view.shardId, tenant, kind, n]);
  return rows;
}

/** One row per queue with a holder or a requester (src/query.rs:2478-2491, 2590-2597). */
function queueCountRows(view: ShardView): TableCell[][] {
  const rows: TableCell[][] = [];
  for (const queue of view.queues) {
    if (queue.holders.size === 0 && queue.requesters.length === 0) continue;
    const max = queue.limitType === "floating" ? (view.floatingMax(queue.tenant, queue.name) ?? queue.maxConcurrency) : queue.maxConcurrency;
    rows.push([view.shardId, queue.tenant, queue.name, queue.holders.size, queue.requesters.length, max, queue.limitType]);
  }
  return rows;
}
