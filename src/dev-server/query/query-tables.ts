import { randomUUID } from "node:crypto";
import { decode } from "@msgpack/msgpack";
import type { Limit } from "../../gen/silo/v1/silo_pb.js";
import { JobStatus } from "../../gen/silo/v1/silo_pb.js";
import type { JobRecord, ShardStore } from "../job-store.js";
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
  /** Current max of a floating limit, by tenant and key, when the shard has state for it. */
  floatingMax(tenant: string, key: string): number | undefined;
}

function viewOf(store: ShardStore): ShardView {
  const floating = new Map<string, number>();
  for (const state of store.floatingStates()) floating.set(`${state.tenant}\u0000${state.key}`, state.currentMaxConcurrency);
  return {
    shardId: store.shardId,
    jobs: store.allJobs(),
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

/** The pending attempt of a scheduled job: its number and start time. */
function pendingAttempt(job: JobRecord): { attempt: number; startMs: number } | undefined {
  if (job.status !== JobStatus.SCHEDULED || job.nextAttemptAtMs === undefined) return undefined;
  return { attempt: job.attempts.length + 1, startMs: job.nextAttemptAtMs };
}

function jobRow(shardId: string, job: JobRecord, now: number): TableCell[] {
  const pending = pendingAttempt(job);
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
    pending?.attempt ?? null,
    pending?.startMs ?? null,
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

/** Pending tasks have no id in the dev store until leased; keep one stable id per pending attempt. */
const pendingTaskIds = new WeakMap<JobRecord, { attempt: number; id: string }>();

function pendingTaskId(job: JobRecord, attempt: number): string {
  const known = pendingTaskIds.get(job);
  if (known !== undefined && known.attempt === attempt) return known.id;
  const id = randomUUID();
  pendingTaskIds.set(job, { attempt, id });
  return id;
}

function taskRows(view: ShardView): TableCell[][] {
  const rows: TableCell[][] = [];
  for (const job of view.jobs) {
    const pending = pendingAttempt(job);
    if (pending === undefined) continue;
    rows.push([
      view.shardId,
      job.tenant,
      job.taskGroup,
      pending.startMs,
      job.priority,
      job.id,
      pending.attempt,
      "RunAttempt",
      pendingTaskId(job, pending.attempt),
      "",
    ]);
  }
  return rows;
}

interface QueueLimit {
  readonly name: string;
  readonly type: "fixed" | "floating";
  readonly max: number;
}

/** Concurrency and floating-concurrency queues a job's limits name, in declaration order. */
function queueLimits(view: ShardView, job: JobRecord): QueueLimit[] {
  const out: QueueLimit[] = [];
  for (const { limit } of job.limits) {
    if (limit.case === "concurrency") out.push({ name: limit.value.key, type: "fixed", max: limit.value.maxConcurrency });
    else if (limit.case === "floatingConcurrency") {
      const max = view.floatingMax(job.tenant, limit.value.key) ?? limit.value.defaultMaxConcurrency;
      out.push({ name: limit.value.key, type: "floating", max });
    }
  }
  return out;
}

/** Holders: the running attempts that hold a slot of each of their job's concurrency queues. */
function queueRows(view: ShardView): TableCell[][] {
  const rows: TableCell[][] = [];
  for (const job of view.jobs) {
    const lease = job.lease;
    if (lease === undefined) continue;
    const startedAtMs = job.attempts.find((a) => a.taskId === lease.taskId)?.startedAtMs ?? job.statusChangedAtMs;
    for (const q of queueLimits(view, job)) {
      rows.push([view.shardId, job.tenant, q.name, "holder", lease.taskId, null, null, startedAtMs]);
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

function queueCountRows(view: ShardView): TableCell[][] {
  const queues = new Map<string, { tenant: string; limit: QueueLimit; holders: number }>();
  for (const job of view.jobs) {
    if (job.lease === undefined) continue;
    for (const q of queueLimits(view, job)) {
      const key = `${job.tenant}\u0000${q.name}`;
      const entry = queues.get(key) ?? { tenant: job.tenant, limit: q, holders: 0 };
      entry.holders++;
      queues.set(key, entry);
    }
  }
  return [...queues.values()].map((q) => [view.shardId, q.tenant, q.limit.name, q.holders, 0, q.limit.max, q.limit.type]);
}
