import { SiloConfigurationError, SiloValidationError } from "../core/errors.js";
import { checkMeter, loadOpenTelemetry, resolveMeter } from "../core/otel.js";
import { abortableSleep } from "../core/abortable-sleep.js";
import { checkInt, checkKnownKeys, checkName, checkObject, checkTenant } from "../core/validation.js";
import { serializeError } from "./serialize-error.js";
import { decodeTask, TaskExecution, type WireTaskLike } from "./silo-task.js";
import { workerCalls, type RefreshOutcome, type WorkerCalls } from "./silo-worker-rpc.js";
import type { RefreshHandler, RefreshTask, RefreshTaskContext, SiloWorkerOptions, TaskContext, TaskHandler, TaskOutcome } from "./silo-worker-types.js";
import { createTaskSpan, type TaskSpan } from "./task-span.js";
import { TaskQueue } from "./task-queue.js";
import { HANDLER_ERROR, PAYLOAD_NOT_DECODABLE } from "./task-outcome.js";
import { DuplicateTaskDeliveryError, TaskLeaseLostError } from "../core/errors.js";
import { WorkerMetrics } from "./worker-metrics.js";
import { MAX_TIMER_MS } from "./worker-options.js";

/** Failure code of a refresh whose handler threw. */
export const REFRESH_HANDLER_ERROR = "REFRESH_HANDLER_ERROR";

const OPTION_KEYS = [
  "client",
  "workerId",
  "taskGroup",
  "handler",
  "refreshHandler",
  "tenant",
  "concurrentPollers",
  "maxConcurrentTasks",
  "tasksPerPoll",
  "pollIntervalMs",
  "heartbeatIntervalMs",
  "onError",
  "meter",
] as const;

type ErrorHandler = (error: Error, context?: { taskId?: string }) => void;

function logError(error: Error, context?: { taskId?: string }): void {
  console.error(`silo-edge SiloWorker error${context?.taskId ? ` (task ${context.taskId})` : ""}:`, error);
}

/**
 * True when a heartbeat failure says the lease is gone: NOT_FOUND "lease not found" or
 * FAILED_PRECONDITION "lease owner mismatch". Routing failures ("shard not found", a tenant out
 * of range) are not, and must not stop a running handler.
 */
function isLeaseGone(err: unknown): boolean {
  const e = err as { message?: unknown; grpcMessage?: unknown } | null;
  const text = `${typeof e?.grpcMessage === "string" ? e.grpcMessage : ""} ${typeof e?.message === "string" ? e.message : ""}`;
  return text.includes("lease not found") || text.includes("lease owner mismatch");
}

/**
 * The handler's return value as an outcome: an outcome object as it is, anything else as the
 * success result (upstream's client would report such a value as `cancelled`).
 */
function asOutcome(value: unknown): TaskOutcome<unknown> {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value === "object" && value !== null && (type === "success" || type === "cancelled")) return value as TaskOutcome<unknown>;
  if (type === "failure" && typeof (value as { code?: unknown }).code === "string") return value as TaskOutcome<unknown>;
  return { type: "success", result: value };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The upstream client's worker: `concurrentPollers` loops lease tasks of `taskGroup` from the
 * cluster's nodes in turn (every `pollIntervalMs`), run up to `maxConcurrentTasks` handlers at
 * once with as many more leased tasks queued, heartbeat every delivered task, and report each
 * handler's outcome. Cancellation reaches the handler through `ctx.cancellationSignal`.
 *
 * Behaviour follows upstream typescript_client/src/worker.ts and TaskExecution.ts.
 */
export class SiloWorker<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>, Result = unknown> {
  readonly #calls: WorkerCalls;
  readonly #workerId: string;
  readonly #taskGroup: string;
  readonly #handler: TaskHandler<Payload, Metadata, Result>;
  readonly #refreshHandler: RefreshHandler | undefined;
  readonly #concurrentPollers: number;
  readonly #maxConcurrentTasks: number;
  readonly #tasksPerPoll: number;
  readonly #pollIntervalMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #onError: ErrorHandler;
  /** Resolves once `@opentelemetry/api` was looked for and the metrics are final. */
  readonly #telemetryReady: Promise<void>;

  #metrics: WorkerMetrics;
  #running = false;
  #stopController: AbortController | null = null;
  #pollers: Promise<void>[] = [];
  #queue: TaskQueue;
  /** Delivered tasks not yet finished, by task id. */
  readonly #executions = new Map<string, TaskExecution<Payload, Metadata>>();
  /** Heartbeat timers of delivered tasks and refresh tasks, by task id. */
  readonly #heartbeats = new Map<string, ReturnType<typeof setInterval>>();
  /** Per-worker round robin over the nodes. */
  #pollCounter = 0;

  constructor(options: SiloWorkerOptions<Payload, Metadata, Result>) {
    const o = checkObject("options", options);
    checkKnownKeys("", o, OPTION_KEYS);
    this.#calls = workerCalls(o.client);
    this.#workerId = checkName("workerId", o.workerId);
    this.#taskGroup = checkName("taskGroup", o.taskGroup);
    if (typeof o.handler !== "function") throw new SiloValidationError("handler", "must be a function (ctx) => Promise<TaskOutcome>");
    this.#handler = o.handler as TaskHandler<Payload, Metadata, Result>;
    for (const field of ["refreshHandler", "onError"] as const) {
      if (o[field] !== undefined && typeof o[field] !== "function") throw new SiloValidationError(field, "must be a function");
    }
    this.#refreshHandler = o.refreshHandler as RefreshHandler | undefined;
    checkTenant("tenant", o.tenant);
    this.#concurrentPollers = o.concurrentPollers === undefined ? 1 : checkInt("concurrentPollers", o.concurrentPollers, 1, 1_000);
    this.#maxConcurrentTasks = o.maxConcurrentTasks === undefined ? 10 : checkInt("maxConcurrentTasks", o.maxConcurrentTasks, 1, 100_000);
    this.#tasksPerPoll =
      o.tasksPerPoll === undefined ? Math.ceil(this.#maxConcurrentTasks / 2) : checkInt("tasksPerPoll", o.tasksPerPoll, 1, 100_000);
    this.#pollIntervalMs = o.pollIntervalMs === undefined ? 1_000 : checkInt("pollIntervalMs", o.pollIntervalMs, 0, MAX_TIMER_MS);
    this.#heartbeatIntervalMs = o.heartbeatIntervalMs === undefined ? 5_000 : checkInt("heartbeatIntervalMs", o.heartbeatIntervalMs, 1, MAX_TIMER_MS);
    const userOnError = o.onError as ErrorHandler | undefined;
    this.#onError = userOnError
      ? (error, context) => {
          try {
            // Poll errors have no context, and upstream passes the error alone.
            if (context === undefined) userOnError(error);
            else userOnError(error, context);
          } catch (err) {
            logError(asError(err), context);
          }
        }
      : logError;
    const meter = checkMeter("meter", o.meter);
    this.#queue = new TaskQueue(this.#maxConcurrentTasks);
    const availableSlots = (): number => this.availableTaskSlots;
    this.#metrics = new WorkerMetrics(meter, this.#taskGroup, availableSlots);
    this.#telemetryReady = loadOpenTelemetry().then(() => {
      const global = meter ? undefined : resolveMeter(undefined, "silo-worker");
      if (global) this.#metrics = new WorkerMetrics(global, this.#taskGroup, availableSlots);
    });
  }

  /** The id this worker's leases carry. */
  get workerId(): string {
    return this.#workerId;
  }

  /** The task group it leases from. */
  get taskGroup(): string {
    return this.#taskGroup;
  }

  /** Poll loops it runs. */
  get concurrentPollers(): number {
    return this.#concurrentPollers;
  }

  /** Handlers it runs at once. */
  get maxConcurrentTasks(): number {
    return this.#maxConcurrentTasks;
  }

  /** Most tasks one poll asks for. */
  get tasksPerPoll(): number {
    return this.#tasksPerPoll;
  }

  /** Pause after each poll, ms. */
  get pollIntervalMs(): number {
    return this.#pollIntervalMs;
  }

  /** Heartbeat interval, ms. */
  get heartbeatIntervalMs(): number {
    return this.#heartbeatIntervalMs;
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#running;
  }

  /** Handlers running now. */
  get activeTasks(): number {
    return this.#queue.pending;
  }

  /** Leased tasks waiting for a free slot. */
  get queuedTasks(): number {
    return this.#queue.size;
  }

  /** `maxConcurrentTasks` minus running and queued tasks. */
  get availableTaskSlots(): number {
    return this.#maxConcurrentTasks - this.#queue.pending - this.#queue.size;
  }

  /** The worker's OpenTelemetry instruments. */
  get workerMetrics(): WorkerMetrics {
    return this.#metrics;
  }

  /** Starts the poll loops and returns at once; does nothing when running. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopController = new AbortController();
    this.#queue = new TaskQueue(this.#maxConcurrentTasks);
    for (let i = 0; i < this.#concurrentPollers; i++) this.#pollers.push(this.#pollLoop());
  }

  /**
   * Stops polling, waits for the poll loops, then up to `timeoutMs` for queued and running tasks
   * to finish and report. After that, tasks that never started are dropped (their leases
   * expire) and every heartbeat stops; handlers still running carry on without heartbeats.
   * Task signals are not aborted. Does nothing when not running.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    checkInt("timeoutMs", timeoutMs, 0, MAX_TIMER_MS);
    if (!this.#running) return;
    this.#running = false;
    this.#stopController?.abort();
    await Promise.all(this.#pollers);
    this.#pollers = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#queue.onIdle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#queue.clear();
    for (const interval of this.#heartbeats.values()) clearInterval(interval);
    this.#heartbeats.clear();
    this.#executions.clear();
    this.#stopController = null;
  }

  async #pollLoop(): Promise<void> {
    await this.#telemetryReady;
    while (this.#running) {
      try {
        await this.#poll();
      } catch (err) {
        if (this.#running) this.#onError(asError(err));
      }
      if (this.#running) await this.#sleep(this.#pollIntervalMs);
    }
  }

  #sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.#stopController?.signal);
  }

  async #poll(): Promise<void> {
    while (this.#running && this.#queue.size >= this.#maxConcurrentTasks) await this.#sleep(this.#pollIntervalMs / 2);
    if (!this.#running) return;
    const free = this.#maxConcurrentTasks - this.#queue.size;
    if (free <= 0) return;
    const res = await this.#calls.leaseTasks(
      { workerId: this.#workerId, maxTasks: Math.min(free, this.#tasksPerPoll), taskGroup: this.#taskGroup },
      this.#pollCounter++,
    );
    const m = this.#metrics;
    m.pollCounter.add(1, m.defaultAttributes);
    const returned = res.tasks.length + res.refreshTasks.length;
    if (returned === 0) m.emptyPollCounter.add(1, m.defaultAttributes);
    else m.pollTasksReturnedCounter.add(returned, m.defaultAttributes);
    for (const task of res.tasks) this.#deliver(task);
    if (res.refreshTasks.length > 0) {
      if (!this.#refreshHandler) {
        throw new SiloConfigurationError([
          `LeaseTasks returned ${res.refreshTasks.length} floating limit refresh task(s) but this SiloWorker has no refreshHandler; ` +
            "set refreshHandler in SiloWorkerOptions to recompute floating concurrency limits (their leases will expire)",
        ]);
      }
      for (const refresh of res.refreshTasks) this.#deliverRefresh(refresh);
    }
  }

  #deliver(wire: WireTaskLike): void {
    if (this.#executions.has(wire.id)) {
      this.#metrics.duplicateTaskDeliveriesCounter.add(1, this.#metrics.defaultAttributes);
      this.#onError(new DuplicateTaskDeliveryError(wire.id, wire.jobId), { taskId: wire.id });
      return;
    }
    let task;
    try {
      task = decodeTask<Payload, Metadata>(wire);
    } catch (err) {
      // Not a retryable condition: fail the attempt rather than let its lease expire.
      this.#onError(new Error(`task ${wire.id} of job ${wire.jobId}: the payload is not MessagePack: ${asError(err).message}`), { taskId: wire.id });
      const outcome: TaskOutcome = { type: "failure", code: PAYLOAD_NOT_DECODABLE, data: { message: asError(err).message, name: "DecodeError" } };
      this.#calls
        .reportOutcome({ taskId: wire.id, shard: wire.shard, tenant: wire.tenantId, outcome })
        .catch((e: unknown) => this.#onError(asError(e), { taskId: wire.id }));
      return;
    }
    const span: TaskSpan = createTaskSpan({
      "silo.task_id": task.id,
      "silo.shard": task.shard,
      "silo.tenant": task.tenantId ?? "",
      "silo.worker_id": this.#workerId,
      "silo.job_id": task.jobId,
      "silo.task_group": this.#taskGroup,
      "silo.attempt_number": task.attemptNumber,
    });
    const execution = new TaskExecution<Payload, Metadata>(task, () => this.#calls.cancelJob(task.jobId, task.tenantId));
    this.#executions.set(task.id, execution);

    // Heartbeats start at delivery, also while the task waits in the queue, and run inside the
    // task's span so their RPCs join its trace.
    const interval = setInterval(
      span.bind(() => {
        this.#heartbeat(execution, stopHeartbeat).catch((err: unknown) => this.#onError(asError(err), { taskId: task.id }));
      }),
      this.#heartbeatIntervalMs,
    );
    const stopHeartbeat = (): void => clearInterval(interval);
    this.#heartbeats.set(task.id, interval);

    this.#queue
      .add(span.bind(() => this.#execute(execution, stopHeartbeat)))
      .catch((err: unknown) => {
        span.fail(asError(err));
        this.#onError(asError(err), { taskId: task.id });
      })
      .finally(() => {
        // This delivery's own timer and entries only: a redelivery may have replaced them.
        clearInterval(interval);
        if (this.#heartbeats.get(task.id) === interval) this.#heartbeats.delete(task.id);
        if (this.#executions.get(task.id) === execution) this.#executions.delete(task.id);
        span.end();
      });
  }

  async #execute(execution: TaskExecution<Payload, Metadata>, stopHeartbeat: () => void): Promise<void> {
    // The lease may have been lost while the task was queued: never start it then.
    if (execution.isLeaseLost) return;
    const context: TaskContext<Payload, Metadata> = {
      task: execution.task,
      cancellationSignal: execution.signal,
      cancel: () => execution.cancelFromClient(),
    };
    let outcome: TaskOutcome<Result> | undefined;
    let thrown: unknown;
    let threw = false;
    try {
      outcome = await this.#handler(context);
    } catch (err) {
      threw = true;
      thrown = err;
    }
    // From here a heartbeat's "lease not found" is our own report racing it, not a lost lease.
    execution.markSettled();
    stopHeartbeat();
    if (execution.isLeaseLost) return;
    const { task } = execution;
    const report: TaskOutcome<unknown> = execution.isCancelled
      ? { type: "cancelled" }
      : threw
        ? { type: "failure", code: HANDLER_ERROR, data: serializeError(thrown) as Record<string, unknown> }
        : asOutcome(outcome);
    await this.#calls.reportOutcome({ taskId: task.id, shard: task.shard, tenant: task.tenantId, outcome: report });
  }

  async #heartbeat(execution: TaskExecution<Payload, Metadata>, stopHeartbeat: () => void): Promise<void> {
    // Once cancelled the worker only waits for the handler; the lease is not renewed.
    if (execution.isCancelled) return;
    const { task } = execution;
    let cancelled: boolean;
    try {
      cancelled = (await this.#calls.heartbeat(this.#workerId, task.id, task.shard, task.tenantId)).cancelled;
    } catch (err) {
      if (execution.isSettled) return;
      if (!isLeaseGone(err)) throw err;
      const e = asError(err);
      stopHeartbeat();
      if (!execution.markLeaseLost()) return;
      // Free the id at once, so a redelivery of the retried attempt is not taken for a duplicate.
      if (this.#executions.get(task.id) === execution) this.#executions.delete(task.id);
      this.#onError(new TaskLeaseLostError(task.id, task.jobId, e), { taskId: task.id });
      return;
    }
    if (cancelled) execution.markCancelledByServer();
  }

  #deliverRefresh(task: RefreshTask): void {
    if (this.#heartbeats.has(task.id)) {
      this.#metrics.duplicateTaskDeliveriesCounter.add(1, this.#metrics.defaultAttributes);
      this.#onError(new DuplicateTaskDeliveryError(task.id), { taskId: task.id });
      return;
    }
    const interval = setInterval(() => {
      this.#calls.heartbeat(this.#workerId, task.id, task.shard, task.tenant).catch((err: unknown) => this.#onError(asError(err), { taskId: task.id }));
    }, this.#heartbeatIntervalMs);
    this.#heartbeats.set(task.id, interval);
    this.#queue
      .add(() => this.#executeRefresh(task, () => clearInterval(interval)))
      .catch((err: unknown) => this.#onError(asError(err), { taskId: task.id }))
      .finally(() => {
        clearInterval(interval);
        if (this.#heartbeats.get(task.id) === interval) this.#heartbeats.delete(task.id);
      });
  }

  async #executeRefresh(task: RefreshTask, stopHeartbeat: () => void): Promise<void> {
    const context: RefreshTaskContext = {
      task,
      shard: task.shard,
      workerId: this.#workerId,
      signal: this.#stopController?.signal ?? new AbortController().signal,
    };
    let outcome: RefreshOutcome;
    try {
      const max = await this.#refreshHandler!(context);
      if (typeof max !== "number" || !Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
        throw new TypeError(`refreshHandler must return a whole number from 0 to 4294967295, got ${String(max)}`);
      }
      outcome = { type: "success", newMaxConcurrency: max };
    } catch (err) {
      outcome = { type: "failure", code: REFRESH_HANDLER_ERROR, message: asError(err).message };
    }
    stopHeartbeat();
    await this.#calls.reportRefreshOutcome({ taskId: task.id, shard: task.shard, tenant: task.tenant, outcome });
  }
}
