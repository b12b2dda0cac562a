// silo-edge/worker: job processing for long-running processes and for scheduled serverless runs.
// No `node:` imports here or below: the drain runs in workerd too.

export { createWorker } from "./worker.js";
export type { Worker, WorkerOptions, WorkerStats } from "./worker.js";
export { drainTasks } from "./drain-tasks.js";
export type { DrainOptions, DrainResult } from "./drain-tasks.js";
export type { TaskProcessingOptions } from "./worker-options.js";
export type {
  TaskContext,
  TaskHandler,
  TaskOutcome,
  RefreshContext,
  RefreshHandler,
  TaskCounts,
  WorkerErrorEvent,
  WorkerErrorHandler,
  WorkerErrorPhase,
} from "./task-context.js";
export { TaskCancelledError, LeaseLostError, DrainBudgetExceededError } from "./worker-errors.js";
export { WorkerProtocolError } from "./leased-task-check.js";
export { HANDLER_ERROR, RESULT_NOT_ENCODABLE, PAYLOAD_NOT_DECODABLE } from "./task-outcome.js";
export { DRAIN_BUDGET_EXCEEDED } from "./task-runner.js";
export { REFRESH_ERROR } from "./refresh-runner.js";
export type { Task, RefreshFloatingLimitTask } from "../gen/silo/v1/silo_pb.js";
