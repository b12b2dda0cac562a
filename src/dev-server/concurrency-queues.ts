/**
 * Concurrency queues of one shard: who holds a slot and who waits for one. A queue is named by
 * (tenant, limit key), so two tenants using the same key never share slots
 * (src/keys.rs, src/concurrency.rs upstream).
 */

/** One attempt's way through its job's limits; its task id names every slot it holds. */
export interface Chain {
  /** Task id of the attempt: holder id in every queue, and the lease's task id once leased. */
  readonly taskId: string;
  readonly attemptNumber: number;
  readonly relativeAttemptNumber: number;
  /** When the attempt may start: orders it in the task queue and among waiting requests. */
  readonly startTimeMs: number;
  /** Limit keys (of the job's tenant) whose slot this chain already holds. */
  readonly heldQueues: readonly string[];
}

/** A waiting request for a slot ("requester" row of the `queues` table). */
export interface ConcurrencyRequest<J> {
  readonly job: J;
  readonly jobId: string;
  readonly chain: Chain;
  /** Index of the limit this request waits for; granted chains resume at the next one. */
  readonly limitIndex: number;
  readonly priority: number;
  readonly requestedAtMs: number;
}

/** A slot holder ("holder" row of the `queues` table). */
export interface ConcurrencyHolder {
  readonly jobId: string;
  readonly grantedAtMs: number;
}

export interface ConcurrencyQueue<J> {
  readonly tenant: string;
  /** The limit key. */
  readonly name: string;
  /** `fixed` for a ConcurrencyLimit, `floating` for a FloatingConcurrencyLimit. */
  limitType: "fixed" | "floating";
  /** Capacity used at the last admission (the admitted job's max, or the floating state's). */
  maxConcurrency: number;
  /** Holders by task id. */
  readonly holders: Map<string, ConcurrencyHolder>;
  /** Waiting requests in grant order: start time, priority, job id, attempt. */
  readonly requesters: ConcurrencyRequest<J>[];
}

export function queueKey(tenant: string, name: string): string {
  return `${tenant}\u0000${name}`;
}

/** Grant order of waiting requests (and of tasks): start time, priority, job id, attempt. */
export function requestOrder<J>(a: ConcurrencyRequest<J>, b: ConcurrencyRequest<J>): number {
  return (
    a.chain.startTimeMs - b.chain.startTimeMs ||
    a.priority - b.priority ||
    compareStrings(a.jobId, b.jobId) ||
    a.chain.attemptNumber - b.chain.attemptNumber
  );
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Insert keeping grant order. */
export function insertRequest<J>(queue: ConcurrencyQueue<J>, request: ConcurrencyRequest<J>): void {
  const at = queue.requesters.findIndex((r) => requestOrder(request, r) < 0);
  if (at === -1) queue.requesters.push(request);
  else queue.requesters.splice(at, 0, request);
}
