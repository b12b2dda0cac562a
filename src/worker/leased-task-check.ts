import { SiloError, type SiloErrorOptions } from "../core/errors.js";
import type { RefreshFloatingLimitTask, Task } from "../gen/silo/v1/silo_pb.js";

/**
 * A node broke the worker protocol: LeaseTasks returned more tasks than the worker asked for, or
 * tasks (or refreshes) of another task group. Reported through `onError` with phase `"lease"`;
 * the offending tasks are not run.
 */
export class WorkerProtocolError extends SiloError {
  override name = "WorkerProtocolError";
  /** The node that answered. */
  readonly address: string;
  /** Ids of the tasks that were not run. */
  readonly refusedTaskIds: readonly string[];

  constructor(address: string, message: string, refusedTaskIds: readonly string[], options?: SiloErrorOptions) {
    super("SILO_INTERNAL", `protocol error from ${address}: ${message}`, options);
    this.address = address;
    this.refusedTaskIds = refusedTaskIds;
  }
}

/** What to do with one LeaseTasks answer. */
export interface CheckedLease {
  /** Tasks to run: of the worker's group, at most as many as it asked for, in the order sent. */
  run: Task[];
  /** Refreshes to handle: of the worker's group. */
  refreshes: RefreshFloatingLimitTask[];
  /** Set when something was refused. */
  error: WorkerProtocolError | undefined;
}

/**
 * Keeps what the worker asked for and refuses the rest. A refused task is neither run nor
 * reported: the worker cannot give a lease back, and reporting an outcome for an attempt it never
 * ran (or one of another group) would be a lie. Its lease expires and the server fails the
 * attempt as WORKER_CRASHED, retrying it per the job's retry policy, as for a worker that died.
 */
export function checkLeasedTasks(
  address: string,
  taskGroup: string,
  asked: number,
  tasks: readonly Task[],
  refreshes: readonly RefreshFloatingLimitTask[],
): CheckedLease {
  const run: Task[] = [];
  const foreign: Task[] = [];
  const extra: Task[] = [];
  for (const task of tasks) {
    if (task.taskGroup !== taskGroup) foreign.push(task);
    else if (run.length < asked) run.push(task);
    else extra.push(task);
  }
  const keptRefreshes = refreshes.filter((r) => r.taskGroup === taskGroup);
  const foreignRefreshes = refreshes.length - keptRefreshes.length;
  const problems: string[] = [];
  if (extra.length > 0) problems.push(`LeaseTasks returned ${run.length + extra.length} tasks of "${taskGroup}" for ${asked} requested; the ${extra.length} extra were not run`);
  if (foreign.length > 0) {
    const groups = [...new Set(foreign.map((t) => JSON.stringify(t.taskGroup.slice(0, 64))))].slice(0, 5).join(", ");
    problems.push(`LeaseTasks for "${taskGroup}" returned ${foreign.length} tasks of other task groups (${groups}); they were not run`);
  }
  if (foreignRefreshes > 0) problems.push(`LeaseTasks for "${taskGroup}" returned ${foreignRefreshes} floating-limit refreshes of other task groups; they were ignored`);
  const refused = [...extra, ...foreign].map((t) => t.id);
  const error =
    problems.length === 0
      ? undefined
      : new WorkerProtocolError(address, `${problems.join("; ")}. Their leases are left to expire (the server then retries them per their retry policy)`, refused);
  return { run, refreshes: keptRefreshes, error };
}
