import { SiloError, type SiloErrorOptions } from "../core/errors.js";

/**
 * Reasons a handler's `signal` aborts with. Handlers branch with `instanceof` (or `name`); the
 * `code` stays one of the package's stable codes.
 */

/** The job was cancelled while its attempt ran; the worker reports the `cancelled` outcome. */
export class TaskCancelledError extends SiloError {
  override name = "TaskCancelledError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("cancelled", message, options);
  }
}

/**
 * The worker no longer holds the attempt's lease (expired or taken over). Nothing is reported:
 * the server fails the attempt with WORKER_CRASHED and retries it per the job's policy.
 */
export class LeaseLostError extends SiloError {
  override name = "LeaseLostError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("failed_precondition", message, options);
  }
}

/** A drain's time budget is about to run out; the attempt should stop and report quickly. */
export class DrainBudgetExceededError extends SiloError {
  override name = "DrainBudgetExceededError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("deadline_exceeded", message, options);
  }
}

/**
 * Passed to a `SiloWorker`'s `onError` when a heartbeat finds that the worker no longer holds a
 * task's lease ("lease not found", "lease owner mismatch"). The task's signal aborts with reason
 * "lease-lost" and no outcome is reported: the server settles the attempt (upstream
 * typescript_client/src/worker.ts `TaskLeaseLostError`).
 */
export class TaskLeaseLostError extends Error {
  override name = "TaskLeaseLostError";
  /** Stable code, as the upstream client's. */
  readonly code = "SILO_TASK_LEASE_LOST";
  /** The task whose lease was lost. */
  readonly taskId: string;
  /** The job the task belongs to. */
  readonly jobId: string;

  constructor(taskId: string, jobId: string, cause: Error) {
    super(`task "${taskId}" of job "${jobId}" lost its lease: ${cause.message}`, { cause });
    this.taskId = taskId;
    this.jobId = jobId;
  }
}

/**
 * Passed to a `SiloWorker`'s `onError` when the server delivers a task the worker is already
 * running; the second delivery is dropped and the first carries on.
 */
export class DuplicateTaskDeliveryError extends Error {
  override name = "DuplicateTaskDeliveryError";
  /** Stable code, as the upstream client's. */
  readonly code = "SILO_DUPLICATE_TASK_DELIVERY";
  /** The task delivered twice. */
  readonly taskId: string;
  /** The job the task belongs to; undefined for a floating-limit refresh task. */
  readonly jobId: string | undefined;

  constructor(taskId: string, jobId?: string) {
    super(`task "${taskId}"${jobId ? ` of job "${jobId}"` : ""} was delivered again while it still runs on this worker; the new delivery was dropped`);
    this.taskId = taskId;
    this.jobId = jobId;
  }
}
