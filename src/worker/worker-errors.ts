import { SiloError, type SiloErrorOptions } from "../core/errors.js";

/**
 * Reasons a handler's `signal` aborts with. Handlers branch with `instanceof` (or `name`); the
 * `code` stays one of the package's stable codes.
 */

/** The job was cancelled while its attempt ran; the worker reports the `cancelled` outcome. */
export class TaskCancelledError extends SiloError {
  override name = "TaskCancelledError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("SILO_CANCELLED", message, options);
  }
}

/**
 * The worker no longer holds the attempt's lease (expired or taken over). Nothing is reported:
 * the server fails the attempt with WORKER_CRASHED and retries it per the job's policy.
 */
export class LeaseLostError extends SiloError {
  override name = "LeaseLostError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("SILO_TASK_LEASE_LOST", message, options);
  }
}

/** A drain's time budget is about to run out; the attempt should stop and report quickly. */
export class DrainBudgetExceededError extends SiloError {
  override name = "DrainBudgetExceededError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("SILO_DEADLINE_EXCEEDED", message, options);
  }
}
