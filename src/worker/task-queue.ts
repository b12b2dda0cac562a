/**
 * A first-in first-out queue of async jobs run at most `concurrency` at a time: what the
 * upstream SiloWorker uses p-queue for (`pending` running, `size` waiting, `onIdle`, `clear`).
 */
export class TaskQueue {
  readonly #concurrency: number;
  readonly #waiting: Array<{ start: () => void; drop: () => void }> = [];
  #running = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
  }

  /** Jobs running now. */
  get pending(): number {
    return this.#running;
  }

  /** Jobs waiting for a free slot. */
  get size(): number {
    return this.#waiting.length;
  }

  /** Runs `job` when a slot is free; settles with its result. A job dropped by `clear()` resolves without running. */
  add(job: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#next();
          });
      };
      if (this.#running < this.#concurrency) start();
      else this.#waiting.push({ start, drop: () => resolve() });
    });
  }

  /** Resolves once nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops every job that has not started. */
  clear(): void {
    for (const dropped of this.#waiting.splice(0)) dropped.drop();
    this.#next();
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) this.#waiting.shift()!.start();
    if (this.#running === 0 && this.#waiting.length === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }
}
