import { SiloValidationError, toSiloError } from "../core/errors.js";
import type { SiloGRPCClient } from "../core/silo-client.js";
import { checkInt, checkName } from "../core/validation.js";
import type { RefreshHandler, TaskHandler, WorkerErrorEvent, WorkerErrorHandler } from "./task-context.js";

/** Largest delay setTimeout accepts; larger ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options a worker and a drain share. */
export interface TaskProcessingOptions<P = unknown, R = unknown> {
  /** The client to lease and report through. Required. */
  client: SiloGRPCClient;
  /** The task group to lease from. Required. */
  taskGroup: string;
  /** Runs one attempt. Required. */
  handler: TaskHandler<P, R>;
  /** Attempts run at once; each LeaseTasks call asks for the free slots. Default 4. */
  concurrency?: number;
  /** Heartbeat interval, ms. Default: a third of each task's `lease_ms`, at most 5000. */
  heartbeatIntervalMs?: number;
  /** Identifies this worker's leases on the server. Default: a random UUID. */
  workerId?: string;
  /**
   * Returns the new maximum of a floating concurrency limit when the server asks for a refresh.
   * Default: report the current maximum unchanged.
   */
  onRefresh?: RefreshHandler;
  /** Receives errors the worker survives (lease, heartbeat, report). Default: `console.error`. */
  onError?: WorkerErrorHandler;
}

/** The checked shared options. */
export interface ResolvedProcessingOptions {
  client: SiloGRPCClient;
  taskGroup: string;
  handler: TaskHandler;
  concurrency: number;
  heartbeatIntervalMs: number | undefined;
  workerId: string;
  onRefresh: RefreshHandler | undefined;
  onError: WorkerErrorHandler;
}

export const SHARED_KEYS = ["client", "taskGroup", "handler", "concurrency", "heartbeatIntervalMs", "workerId", "onRefresh", "onError"] as const;

function logError({ error, phase, address }: WorkerErrorEvent): void {
  console.error(`silo-edge worker: ${phase}${address ? ` (${address})` : ""} failed: ${error.message}`);
}

/** Checks the shared options, naming the first bad field; runs before any network call. */
export function resolveProcessingOptions(o: Record<string, unknown>): ResolvedProcessingOptions {
  const client = o.client as Partial<SiloGRPCClient> | undefined;
  if (typeof client !== "object" || client === null || typeof client.callNode !== "function" || typeof client.callRouted !== "function") {
    throw new SiloValidationError("client", "must be a SiloGRPCClient (new SiloGRPCClient({ servers }))");
  }
  const taskGroup = checkName("taskGroup", o.taskGroup);
  if (typeof o.handler !== "function") throw new SiloValidationError("handler", "must be a function ({ payload, signal, ... }) => result");
  for (const field of ["onRefresh", "onError"] as const) {
    if (o[field] !== undefined && typeof o[field] !== "function") throw new SiloValidationError(field, "must be a function");
  }
  let workerId: string;
  if (o.workerId === undefined) workerId = crypto.randomUUID();
  else if (typeof o.workerId !== "string" || o.workerId === "") throw new SiloValidationError("workerId", "must be a non-empty string");
  else workerId = o.workerId;
  const userOnError = o.onError as WorkerErrorHandler | undefined;
  const onError: WorkerErrorHandler = userOnError
    ? (event) => {
        try {
          userOnError(event);
        } catch (err) {
          logError({ ...event, error: toSiloError(err, "onError") });
        }
      }
    : logError;
  return {
    client: client as SiloGRPCClient,
    taskGroup,
    handler: o.handler as TaskHandler,
    concurrency: o.concurrency === undefined ? 4 : checkInt("concurrency", o.concurrency, 1, 10_000),
    heartbeatIntervalMs: o.heartbeatIntervalMs === undefined ? undefined : checkInt("heartbeatIntervalMs", o.heartbeatIntervalMs, 1, MAX_TIMER_MS),
    workerId,
    onRefresh: o.onRefresh as RefreshHandler | undefined,
    onError,
  };
}
