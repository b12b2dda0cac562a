import type { SiloGRPCClient } from "../core/silo-client.js";
import type { RefreshFloatingLimitTask, Task } from "../gen/silo/v1/silo_pb.js";
import { runRefresh } from "./refresh-runner.js";
import type { RefreshHandler, TaskCounts, TaskHandler, WorkerErrorHandler } from "./task-context.js";
import { runTask } from "./task-runner.js";

export interface TaskPoolOptions {
  client: SiloGRPCClient;
  workerId: string;
  handler: TaskHandler;
  concurrency: number;
  heartbeatIntervalMs: number | undefined;
  onRefresh: RefreshHandler | undefined;
  onError: WorkerErrorHandler;
  /** Aborts every running handler's signal with its reason (a drain's budget). */
  stopSignal?: AbortSignal;
  /** Epoch ms by which reports should be done (a drain's budget). */
  reportDeadlineMs?: number;
}

/** The attempts a worker or drain is running: concurrency slots, counts, and waiting for them. */
export class TaskPool {
  readonly counts: TaskCounts = { leased: 0, succeeded: 0, failed: 0, cancelled: 0, lostLeases: 0, unreported: 0, refreshes: 0 };
  /** Longest handler run so far, ms, report included. */
  longestTaskMs = 0;
  readonly #options: TaskPoolOptions;
  readonly #running = new Set<Promise<void>>();
  #tasks = 0;
  #waiters: Array<() => void> = [];

  constructor(options: TaskPoolOptions) {
    this.#options = options;
  }

  /** Attempts running now. */
  get inFlight(): number {
    return this.#tasks;
  }

  /** Slots free for more attempts. */
  get free(): number {
    return Math.max(0, this.#options.concurrency - this.#tasks);
  }

  /** Starts an attempt; `leaseRequestedAtMs` is when the LeaseTasks call that returned it was sent. */
  run(task: Task, leaseRequestedAtMs: number): void {
    this.counts.leased++;
    this.#tasks++;
    const startedAt = Date.now();
    const { client, workerId, handler, heartbeatIntervalMs, onError, stopSignal, reportDeadlineMs } = this.#options;
    this.#track(
      runTask(task, {
        client,
        workerId,
        handler,
        heartbeatIntervalMs,
        onError,
        leaseRequestedAtMs,
        ...(stopSignal ? { stopSignal } : {}),
        ...(reportDeadlineMs !== undefined ? { reportDeadlineMs } : {}),
      }).then(
        (result) => {
          const c = this.counts;
          if (result === "succeeded") c.succeeded++;
          else if (result === "failed") c.failed++;
          else if (result === "cancelled") c.cancelled++;
          else if (result === "lost") c.lostLeases++;
          else c.unreported++;
        },
      ),
      () => {
        this.#tasks--;
        this.longestTaskMs = Math.max(this.longestTaskMs, Date.now() - startedAt);
      },
    );
  }

  /** Handles a floating-limit refresh; it takes no concurrency slot. */
  refresh(task: RefreshFloatingLimitTask): void {
    const { client, onRefresh, onError } = this.#options;
    this.#track(
      runRefresh(task, { client, onRefresh, onError }).then((reported) => {
        if (reported) this.counts.refreshes++;
      }),
      () => undefined,
    );
  }

  #track(work: Promise<void>, done: () => void): void {
    const p: Promise<void> = work
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(p);
        done();
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const wake of waiters) wake();
      });
    this.#running.add(p);
  }

  /** Resolves when some attempt finishes, or at once if `signal` aborts. */
  waitForSlot(signal?: AbortSignal): Promise<void> {
    if (this.#running.size === 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  /** Resolves when everything started so far has finished and reported. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
