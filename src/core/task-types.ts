// Types only: the shapes the upstream client's worker-side methods (`leaseTask`, `leaseTasks`,
// `reportOutcome`, `heartbeat`) take and return, so code written for `@silo/client` compiles
// unchanged. Raw messages use protobuf-ts's oneof style (`{ oneofKind: "msgpack", msgpack }`),
// as upstream returns them.

/** MessagePack bytes as a raw task carries them. */
export interface SerializedBytes {
  encoding: { oneofKind: "msgpack"; msgpack: Uint8Array } | { oneofKind: undefined };
}

/** A job's retry policy as the server stores it (every field present). */
export interface WireRetryPolicy {
  retryCount: number;
  initialIntervalMs: bigint;
  maxIntervalMs: bigint;
  randomizeInterval: boolean;
  backoffFactor: number;
}

/** Concurrency limit as a raw task carries it. */
export interface ConcurrencyLimit {
  key: string;
  maxConcurrency: number;
}

/** Floating concurrency limit as a raw task carries it. */
export interface FloatingConcurrencyLimit {
  key: string;
  defaultMaxConcurrency: number;
  refreshIntervalMs: bigint;
  metadata: { [key: string]: string };
}

/** Gubernator rate limit as a raw task carries it. */
export interface GubernatorRateLimit {
  name: string;
  uniqueKey: string;
  limit: bigint;
  durationMs: bigint;
  hits: number;
  algorithm: number;
  behavior: number;
  retryPolicy?: { initialBackoffMs: bigint; maxBackoffMs: bigint; backoffMultiplier: number; maxRetries: number };
}

/** One limit of a raw task. */
export interface Limit {
  limit:
    | { oneofKind: "concurrency"; concurrency: ConcurrencyLimit }
    | { oneofKind: "rateLimit"; rateLimit: GubernatorRateLimit }
    | { oneofKind: "floatingConcurrency"; floatingConcurrency: FloatingConcurrencyLimit }
    | { oneofKind: undefined };
}

/** A leased task as `leaseTask` / `leaseTasks` return it: the payload still MessagePack bytes. */
export interface RawTask {
  id: string;
  jobId: string;
  /** Absent for the default tenant. */
  tenantId?: string;
  attemptNumber: number;
  relativeAttemptNumber: number;
  isLastAttempt: boolean;
  metadata: { [key: string]: string };
  limits: Limit[];
  payload?: SerializedBytes;
  priority: number;
  shard: string;
  taskGroup: string;
  leaseMs: bigint;
}

/** A floating-limit refresh task as `leaseTasks` returns it. */
export interface RefreshTask {
  /** The refresh task's id. */
  id: string;
  /** The floating limit's key. */
  queueKey: string;
  /** The limit's current maximum. */
  currentMaxConcurrency: number;
  /** When the maximum was last refreshed, epoch ms. */
  lastRefreshedAtMs: bigint;
  /** Metadata given with the limit at enqueue time. */
  metadata: Record<string, string>;
  /** Lease length in ms. */
  leaseMs: bigint;
  /** The shard the task came from. */
  shard: string;
  /** The task group it was leased from. */
  taskGroup: string;
  /** The tenant of the jobs the limit applies to; undefined for the default tenant. */
  tenant?: string;
}

/** Options of `leaseTask`: lease one named job directly (tests; skips the job's limits). */
export interface LeaseTaskOptions {
  id: string;
  workerId: string;
  tenant?: string;
}

/** Options of `leaseTasks`. */
export interface LeaseTasksOptions {
  workerId: string;
  /** Most tasks to return (refresh tasks come on top). */
  maxTasks: number;
  taskGroup: string;
  /** Lease only from this shard (routed to its owner). Default: every shard of one node. */
  shard?: string;
}

/** What `leaseTasks` returns. */
export interface LeaseTasksResult {
  tasks: RawTask[];
  refreshTasks: RefreshTask[];
}

/** The attempt succeeded; `result` is MessagePack-encoded. */
export interface SuccessOutcome<Result = unknown> {
  type: "success";
  result: Result;
}

/** The attempt failed; `data` is sent raw when a `Uint8Array`, else MessagePack-encoded. */
export interface FailureOutcome {
  type: "failure";
  code: string;
  data?: unknown;
}

/** The attempt stopped because its job was cancelled. */
export interface CancelledOutcome {
  type: "cancelled";
}

export type TaskOutcome<Result = unknown> = SuccessOutcome<Result> | FailureOutcome | CancelledOutcome;

/** Options of `reportOutcome`. */
export interface ReportOutcomeOptions<Result = unknown> {
  taskId: string;
  /** The task's `shard`. */
  shard: string;
  outcome: TaskOutcome<Result>;
  /** The task's `tenantId`. */
  tenant?: string;
}

export interface RefreshSuccessOutcome {
  type: "success";
  newMaxConcurrency: number;
}

export interface RefreshFailureOutcome {
  type: "failure";
  code: string;
  message: string;
}

export type RefreshOutcome = RefreshSuccessOutcome | RefreshFailureOutcome;

/** Options of `reportRefreshOutcome`. */
export interface ReportRefreshOutcomeOptions {
  taskId: string;
  shard: string;
  outcome: RefreshOutcome;
  tenant?: string;
}

/** What `heartbeat` returns. */
export interface HeartbeatResult {
  /** The job was cancelled: stop and report `{ type: "cancelled" }`. */
  cancelled: boolean;
  cancelledAtMs?: bigint;
}

/** One shard in `getTopology().shards`. */
export interface ShardInfoWithRange {
  shardId: string;
  /** Reachable address (after `addressMap`). */
  serverAddr: string;
  /** Inclusive lower bound of the tenant hash ("" = unbounded). */
  rangeStart: string;
  /** Exclusive upper bound ("" = unbounded). */
  rangeEnd: string;
}

/** Shard ownership as `GetClusterInfo` reports it. */
export interface ShardOwner {
  shardId: string;
  grpcAddr: string;
  nodeId: string;
  rangeStart: string;
  rangeEnd: string;
  placementRing?: string;
}
