import type { SiloError } from "../core/errors.js";
import type { RefreshFloatingLimitTask, Task } from "../gen/silo/v1/silo_pb.js";

/** What a task handler receives: one attempt at running a job. */
export interface TaskContext<P = unknown> {
  /** The task as the server sent it (ids, shard, limits, lease length...). */
  task: Task;
  /** The job's payload, decoded from MessagePack. */
  payload: P;
  /**
   * Aborts when the worker must stop working on this attempt: the job was cancelled
   * (`signal.reason` is a `TaskCancelledError`), its lease was lost (`LeaseLostError`), or a
   * drain's budget is about to run out (`DrainBudgetExceededError`). Pass it on to fetch and
   * friends.
   */
  signal: AbortSignal;
  /** The job's id. */
  jobId: string;
  /** This attempt's task id. */
  taskId: string;
  /** Attempt number since the job was enqueued, starting at 1. */
  attempt: number;
  /** Attempt number since the job was last restarted, starting at 1. */
  relativeAttempt: number;
  /** True when a failure of this attempt fails the job for good (no retries left). */
  isLastAttempt: boolean;
  /** The job's tenant; undefined for the default tenant or a server without tenancy. */
  tenant: string | undefined;
  /** The job's metadata. */
  metadata: Record<string, string>;
  /** The task group the job was enqueued in. */
  taskGroup: string;
}

/** An explicit outcome a handler may return instead of a plain result. */
export type TaskOutcome<R = unknown> =
  /** Succeed with `result` (use it when the result itself has a `type` field). */
  | { type: "success"; result: R }
  /** Fail the attempt: retried per the job's retry policy, like a thrown error. */
  | { type: "failure"; code: string; data?: unknown }
  /** Report the attempt as cancelled. */
  | { type: "cancelled" };

/**
 * Runs one attempt. The return value is the job's result (MessagePack-encoded), unless it is a
 * `TaskOutcome`. A thrown error fails the attempt with code `error.code` (when a string) or
 * `"HANDLER_ERROR"`, and data `{ message, name }`.
 */
export type TaskHandler<P = unknown, R = unknown> = (context: TaskContext<P>) => R | TaskOutcome<R> | Promise<R | TaskOutcome<R>>;

/** What a floating-limit refresh handler receives. */
export interface RefreshContext {
  /** The floating concurrency limit's key. */
  queueKey: string;
  /** The limit's current maximum. */
  currentMaxConcurrency: number;
  /** Metadata given with the limit at enqueue time. */
  metadata: Record<string, string>;
  /** The tenant of the jobs the limit applies to; undefined for the default tenant. */
  tenant: string | undefined;
  /** The refresh task as the server sent it. */
  task: RefreshFloatingLimitTask;
}

/** Returns the new maximum concurrency of a floating limit; a throw reports a refresh failure. */
export type RefreshHandler = (context: RefreshContext) => number | Promise<number>;

/** Where a worker error happened. */
export type WorkerErrorPhase = "lease" | "heartbeat" | "report" | "refresh" | "topology";

/** A problem the worker survived (it keeps running); handler errors are outcomes, not these. */
export interface WorkerErrorEvent {
  /** The error, normalised. */
  error: SiloError;
  /** What the worker was doing. */
  phase: WorkerErrorPhase;
  /** The node address involved, for `"lease"`. */
  address?: string;
  /** The task involved, for `"heartbeat"` and `"report"`. */
  task?: Task;
}

/** Receives errors the worker survived. */
export type WorkerErrorHandler = (event: WorkerErrorEvent) => void;

/** Counts of what a worker or a drain did. */
export interface TaskCounts {
  /** Tasks leased (refresh tasks not included). */
  leased: number;
  /** Attempts reported as succeeded. */
  succeeded: number;
  /** Attempts reported as failed. */
  failed: number;
  /** Attempts reported as cancelled. */
  cancelled: number;
  /** Attempts abandoned because their lease was lost; the server fails them with WORKER_CRASHED. */
  lostLeases: number;
  /** Attempts whose outcome could not be reported (the server reached no verdict; see `onError`). */
  unreported: number;
  /** Floating-limit refresh tasks handled. */
  refreshes: number;
}
