import type { SiloGRPCClient } from "../core/silo-client.js";
import type { OtelMeter } from "../core/otel-types.js";
import type { Task } from "./silo-task.js";
import type { RefreshTask } from "../core/task-types.js";

/** What a `SiloWorker` handler returns: the attempt's outcome. */
export type TaskOutcome<Result = unknown> =
  /** The attempt succeeded with `result` (MessagePack-encoded). */
  | { type: "success"; result: Result }
  /** The attempt failed with `code`; `data` is MessagePack-encoded, or sent as is when a Uint8Array. Retried per the job's policy. */
  | { type: "failure"; code: string; data?: Record<string, unknown> | Uint8Array }
  /** The attempt was cancelled. */
  | { type: "cancelled" };

/** What a `SiloWorker` handler receives. */
export interface TaskContext<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>> {
  /** The task, payload decoded. */
  task: Task<Payload, Metadata>;
  /**
   * Aborts when the job is cancelled (a heartbeat learnt it, or the handler called `cancel()`)
   * or the lease is lost. Not when the worker stops. The worker then reports `cancelled`
   * whatever the handler returns (nothing after a lost lease).
   */
  cancellationSignal: AbortSignal;
  /** Aborts `cancellationSignal` at once, then cancels the job on the server (errors ignored). */
  cancel(): Promise<void>;
}

/** Runs one attempt and returns its outcome; a throw reports failure `HANDLER_ERROR`. */
export type TaskHandler<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>, Result = unknown> = (
  context: TaskContext<Payload, Metadata>,
) => Promise<TaskOutcome<Result>>;

/** A floating-limit refresh task, as `leaseTasks` returns it (one type for client and worker). */
export type { RefreshTask } from "../core/task-types.js";

/** What a `refreshHandler` receives. */
export interface RefreshTaskContext {
  task: RefreshTask;
  /** The shard the task came from. */
  shard: string;
  /** The worker's id. */
  workerId: string;
  /** Aborts when the worker stops. */
  signal: AbortSignal;
}

/** Returns a floating limit's new maximum concurrency; a throw reports failure `REFRESH_HANDLER_ERROR`. */
export type RefreshHandler = (context: RefreshTaskContext) => Promise<number>;

/** Options of `new SiloWorker(options)`. */
export interface SiloWorkerOptions<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>, Result = unknown> {
  /** The client to lease, heartbeat and report through. Required. */
  client: SiloGRPCClient;
  /** Identifies this worker's leases on the server. Required. */
  workerId: string;
  /** The task group to lease from. Required. */
  taskGroup: string;
  /** Runs each attempt. Required. */
  handler: TaskHandler<Payload, Metadata, Result>;
  /**
   * Recomputes floating concurrency limits. Default: none; a poll that returns refresh tasks then
   * reports an error to `onError` and their leases expire (the server retries them later).
   */
  refreshHandler?: RefreshHandler;
  /**
   * Accepted for compatibility and not used, as upstream: worker RPCs carry each task's own
   * tenant. Default: none.
   */
  tenant?: string;
  /** Poll loops running at once. Default 1. */
  concurrentPollers?: number;
  /** Handlers running at once; as many leased tasks may wait queued besides. Default 10. */
  maxConcurrentTasks?: number;
  /** Most tasks one LeaseTasks poll asks for. Default `Math.ceil(maxConcurrentTasks / 2)`. */
  tasksPerPoll?: number;
  /** Pause after every poll, ms. Default 1000. */
  pollIntervalMs?: number;
  /** Heartbeat interval of each delivered task, ms; keep it well under the 10 s lease. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Receives errors the worker survives (polls, heartbeats, reports, lost leases, duplicates). Default: `console.error`. */
  onError?: (error: Error, context?: { taskId?: string }) => void;
  /** OpenTelemetry Meter for the worker's metrics. Default: meter `silo-worker` of the global MeterProvider, when `@opentelemetry/api` is installed. */
  meter?: OtelMeter;
}
