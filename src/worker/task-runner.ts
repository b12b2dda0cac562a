import { toSiloError, type SiloError } from "../core/errors.js";
import { decodePayload } from "../core/payload-codec.js";
import type { SiloGRPCClient } from "../core/silo-client.js";
import type { Task } from "../gen/silo/v1/silo_pb.js";
import type { TaskContext, TaskHandler, WorkerErrorHandler } from "./task-context.js";
import {
  cancelledOutcome,
  errorOutcome,
  failureOutcome,
  PAYLOAD_NOT_DECODABLE,
  resultOutcome,
  type WireOutcome,
} from "./task-outcome.js";
import { DrainBudgetExceededError, LeaseLostError, TaskCancelledError } from "./worker-errors.js";

/** How one attempt ended, from the worker's side. */
export type TaskRunResult = "succeeded" | "failed" | "cancelled" | "lost" | "unreported";

/** Error code reported when a drain's budget ran out under a handler that then threw. */
export const DRAIN_BUDGET_EXCEEDED = "DRAIN_BUDGET_EXCEEDED";

/** Lease length assumed when a server sends none. */
const DEFAULT_LEASE_MS = 10_000;
/** Upper bound of the default heartbeat interval. */
const MAX_DEFAULT_HEARTBEAT_MS = 5_000;
/** Least time a report gets, even when a drain's budget is spent. */
const MIN_REPORT_TIMEOUT_MS = 500;
/** Largest delay setTimeout takes; larger ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TaskRunOptions {
  client: SiloGRPCClient;
  workerId: string;
  handler: TaskHandler;
  /** Heartbeat interval; undefined: a third of the task's lease, at most 5 s. */
  heartbeatIntervalMs: number | undefined;
  onError: WorkerErrorHandler;
  /** When the LeaseTasks request that returned the task was sent (the lease started after it). */
  leaseRequestedAtMs: number;
  /** Aborting it aborts the handler's signal with the signal's reason (a drain's budget). */
  stopSignal?: AbortSignal;
  /** Epoch ms by which the report should be done (a drain's budget); default: the client's timeout. */
  reportDeadlineMs?: number;
}

/** The heartbeat interval used for a task with lease `leaseMs` when none is configured. */
export function defaultHeartbeatIntervalMs(leaseMs: number): number {
  return Math.max(1, Math.min(MAX_DEFAULT_HEARTBEAT_MS, Math.floor(leaseMs / 3)));
}

/** True when the server says this worker no longer holds the lease. */
export function isLeaseLost(err: SiloError): boolean {
  return (
    (err.grpcCode === "NOT_FOUND" && err.message.includes("lease not found")) ||
    (err.grpcCode === "FAILED_PRECONDITION" && err.message.includes("lease owner mismatch"))
  );
}

/**
 * Runs one task: calls the handler, heartbeats the lease to the shard's owner while it runs,
 * aborts the handler's signal on cancellation or lease loss, and reports the outcome (except
 * after a lost lease, which the server settles itself).
 */
export async function runTask(task: Task, options: TaskRunOptions): Promise<TaskRunResult> {
  const { client, workerId, handler, onError, stopSignal } = options;
  const leaseMs = Number(task.leaseMs) > 0 ? Number(task.leaseMs) : DEFAULT_LEASE_MS;
  const intervalMs = Math.min(MAX_TIMER_MS, options.heartbeatIntervalMs ?? defaultHeartbeatIntervalMs(leaseMs));
  const heartbeatTimeoutMs = Math.max(1_000, Math.min(leaseMs, 10_000));
  const tenantField = task.tenantId !== undefined ? { tenantId: task.tenantId } : {};
  const controller = new AbortController();

  let finished = false;
  let cancelled = false;
  let lost = false;
  let budgetExceeded = false;
  // The server started the lease after our request was sent, so this never outlives it.
  let leaseDeadline = options.leaseRequestedAtMs + leaseMs;
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  let leaseTimer: ReturnType<typeof setTimeout> | undefined;

  const markLost = (reason: LeaseLostError): void => {
    if (lost) return;
    lost = true;
    controller.abort(reason);
  };

  const armLeaseTimer = (): void => {
    clearTimeout(leaseTimer);
    if (finished || lost) return;
    leaseTimer = setTimeout(() => {
      if (Date.now() >= leaseDeadline) {
        markLost(new LeaseLostError(`task ${task.id} of job ${task.jobId}: no heartbeat renewed the ${leaseMs} ms lease in time`));
      } else {
        armLeaseTimer();
      }
    }, Math.min(MAX_TIMER_MS, Math.max(0, leaseDeadline - Date.now())));
  };

  const heartbeat = async (): Promise<void> => {
    const sentAt = Date.now();
    try {
      const res = await client.callRouted(
        "Heartbeat",
        { shardId: task.shard },
        (rpc, shard, attempt) => rpc.heartbeat({ shard: shard.id, workerId, taskId: task.id, ...tenantField }, attempt),
        { timeoutMs: heartbeatTimeoutMs },
      );
      if (finished || lost) return;
      leaseDeadline = Math.max(leaseDeadline, sentAt + leaseMs);
      armLeaseTimer();
      if (res.cancelled && !cancelled) {
        cancelled = true;
        controller.abort(new TaskCancelledError(`job ${task.jobId} was cancelled while attempt ${task.attemptNumber} ran`));
      }
    } catch (err) {
      const e = toSiloError(err, "Heartbeat");
      if (isLeaseLost(e)) markLost(new LeaseLostError(`task ${task.id} of job ${task.jobId}: ${e.message}`, { cause: e }));
      else if (!finished) onError({ error: e, phase: "heartbeat", task });
    }
  };

  const scheduleHeartbeat = (): void => {
    if (finished || lost) return;
    heartbeatTimer = setTimeout(() => {
      void heartbeat().then(scheduleHeartbeat);
    }, intervalMs);
  };

  const onStop = (): void => {
    budgetExceeded = true;
    controller.abort(stopSignal?.reason ?? new DrainBudgetExceededError("the drain's budget ran out"));
  };

  let outcome: WireOutcome;
  armLeaseTimer();
  scheduleHeartbeat();
  if (stopSignal?.aborted) onStop();
  else stopSignal?.addEventListener("abort", onStop, { once: true });
  try {
    let payload: unknown;
    let decodeError: unknown;
    try {
      payload = decodePayload(task.payload?.encoding.case === "msgpack" ? task.payload.encoding.value : undefined, "payload");
    } catch (err) {
      decodeError = err;
    }
    if (decodeError !== undefined) {
      outcome = failureOutcome(PAYLOAD_NOT_DECODABLE, { message: String((decodeError as Error)?.message ?? decodeError), name: (decodeError as Error)?.name ?? "PayloadDecodeError" });
    } else {
      const context: TaskContext = {
        task,
        payload,
        signal: controller.signal,
        jobId: task.jobId,
        taskId: task.id,
        attempt: task.attemptNumber,
        relativeAttempt: task.relativeAttemptNumber,
        isLastAttempt: task.isLastAttempt,
        tenant: task.tenantId,
        metadata: { ...task.metadata },
        taskGroup: task.taskGroup,
      };
      try {
        outcome = resultOutcome(await handler(context));
      } catch (err) {
        outcome =
          budgetExceeded && !cancelled
            ? failureOutcome(DRAIN_BUDGET_EXCEEDED, { message: (err as Error)?.message ?? String(err), name: (err as Error)?.name ?? typeof err })
            : errorOutcome(err);
      }
    }
  } finally {
    finished = true;
    clearTimeout(heartbeatTimer);
    clearTimeout(leaseTimer);
    stopSignal?.removeEventListener("abort", onStop);
  }

  if (lost) return "lost";
  if (cancelled) outcome = cancelledOutcome();
  return reportOutcome(task, outcome, options);
}

async function reportOutcome(task: Task, outcome: WireOutcome, options: TaskRunOptions): Promise<TaskRunResult> {
  try {
    await options.client.callRouted(
      "ReportOutcome",
      { shardId: task.shard },
      async (rpc, shard, attempt) => {
        await rpc.reportOutcome(
          { shard: shard.id, taskId: task.id, outcome, ...(task.tenantId !== undefined ? { tenantId: task.tenantId } : {}) },
          attempt,
        );
        return true;
      },
      options.reportDeadlineMs === undefined ? undefined : { timeoutMs: Math.max(MIN_REPORT_TIMEOUT_MS, options.reportDeadlineMs - Date.now()) },
      // After an attempt whose answer was lost, "lease not found" means that attempt reported it.
      (err) => (isLeaseLost(err) ? true : undefined),
    );
  } catch (err) {
    const e = toSiloError(err, "ReportOutcome");
    if (isLeaseLost(e)) return "lost";
    options.onError({ error: e, phase: "report", task });
    return "unreported";
  }
  return outcome.case === "success" ? "succeeded" : outcome.case === "failure" ? "failed" : "cancelled";
}
