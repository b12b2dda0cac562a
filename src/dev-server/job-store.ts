import { randomUUID } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import type { GubernatorRateLimit, Limit, RetryPolicy } from "../gen/silo/v1/silo_pb.js";
import { AttemptStatus, JobStatus } from "../gen/silo/v1/silo_pb.js";
import type { Chain, ConcurrencyQueue, ConcurrencyRequest } from "./concurrency-queues.js";
import { compareStrings, insertRequest, queueKey } from "./concurrency-queues.js";
import { failedPrecondition, internal, notFound } from "./errors.js";
import type { RateLimitSource } from "./gubernator.js";
import { retryDelayMs } from "./retry-backoff.js";

/** Error code of an attempt whose lease ran out, as the stock server records it. */
export const WORKER_CRASHED = "WORKER_CRASHED";

/** One attempt of a job, as GetJob and the `jobs` SQL table describe it. */
export interface AttemptRecord {
  readonly attemptNumber: number;
  readonly relativeAttemptNumber: number;
  readonly taskId: string;
  readonly startedAtMs: number;
  status: AttemptStatus;
  finishedAtMs?: number;
  /** SUCCEEDED: MessagePack result bytes. */
  result?: Uint8Array;
  /** FAILED: error code and MessagePack error data. */
  errorCode?: string;
  errorData?: Uint8Array;
}

/**
 * A stored job. Everything a client can read back lives here; readers (GetJob, the SQL tables)
 * must not write to it.
 */
export interface JobRecord {
  readonly id: string;
  /** The tenant, `-` when tenancy is disabled. */
  readonly tenant: string;
  readonly shardId: string;
  priority: number;
  /** The request's raw `start_at_ms` (0 when the caller sent 0); ImportJobs: its value or now. */
  readonly enqueueTimeMs: number;
  readonly payload: Uint8Array;
  retryPolicy: RetryPolicy | undefined;
  /** Limits in walk order, rate limits with their retry policy filled in. */
  readonly limits: Limit[];
  readonly metadata: Record<string, string>;
  readonly taskGroup: string;
  status: JobStatus;
  statusChangedAtMs: number;
  /**
   * Scheduling fields of a SCHEDULED job: start time and attempt number of its pending attempt.
   * Kept when a SCHEDULED job is cancelled (as the server keeps them), cleared otherwise.
   */
  nextAttemptAtMs: number | undefined;
  currentAttempt: number | undefined;
  /** Attempts in attempt-number order. */
  attempts: AttemptRecord[];
  /** The cancellation record: set by CancelJob, cleared by RestartJob and reimport. */
  cancelledAtMs: number | undefined;
  /**
   * Where the pending attempt of a SCHEDULED job waits: a queued task, or a request for a
   * concurrency slot. Undefined while RUNNING or terminal, and for a job whose rate-limit
   * checks ran out of `max_retries` (it stays SCHEDULED with nothing pending, as on the server).
   */
  pending: PendingWork | undefined;
  /** The running attempt's lease. */
  lease: Lease | undefined;
}

export type PendingWork =
  | { readonly kind: "task"; readonly task: QueuedTask }
  | { readonly kind: "request"; readonly queue: ConcurrencyQueue<JobRecord>; readonly request: ConcurrencyRequest<JobRecord> };

/** Task kinds, named as the `tasks` SQL table's `variant_type` names them. */
export type TaskKind = "RunAttempt" | "RequestTicket" | "CheckRateLimit" | "RefreshFloatingLimit";

/** A task in the shard's queue, not yet leased ("tasks" SQL table). */
export interface QueuedTask {
  readonly kind: TaskKind;
  /** The chain's task id for job tasks; the refresh's own id for refresh tasks. */
  readonly taskId: string;
  readonly taskGroup: string;
  readonly tenant: string;
  startTimeMs: number;
  readonly priority: number;
  /** The job and its attempt chain; undefined for refresh tasks. */
  readonly job: JobRecord | undefined;
  readonly chain: Chain | undefined;
  /** RequestTicket / CheckRateLimit: index of the limit the task is about. */
  readonly limitIndex: number;
  /** CheckRateLimit: how many checks of this attempt came before (k). */
  readonly rateLimitChecks: number;
  /** RefreshFloatingLimit: the state as it was when the refresh was scheduled. */
  readonly refresh: RefreshSnapshot | undefined;
}

export interface RefreshSnapshot {
  readonly queueKey: string;
  readonly currentMaxConcurrency: number;
  readonly lastRefreshedAtMs: number;
  readonly metadata: Record<string, string>;
}

/** A leased job attempt. */
export interface Lease {
  readonly taskId: string;
  readonly job: JobRecord;
  readonly workerId: string;
  readonly attemptNumber: number;
  readonly relativeAttemptNumber: number;
  /** Limit keys whose slot the attempt holds; freed when the attempt ends. */
  readonly heldQueues: readonly string[];
  readonly startedAtMs: number;
  expiresAtMs: number;
}

/** A leased floating-limit refresh. */
export interface RefreshLease {
  readonly taskId: string;
  readonly workerId: string;
  readonly tenant: string;
  readonly taskGroup: string;
  readonly snapshot: RefreshSnapshot;
  expiresAtMs: number;
}

/** State of one floating concurrency limit, per (tenant, key) (src/job_store_shard/floating.rs). */
export interface FloatingState {
  readonly tenant: string;
  readonly key: string;
  currentMaxConcurrency: number;
  readonly defaultMaxConcurrency: number;
  readonly refreshIntervalMs: number;
  readonly metadata: Record<string, string>;
  lastRefreshedAtMs: number;
  refreshScheduled: boolean;
  /** Consecutive refresh failures. */
  failureCount: number;
  /** End of the failure backoff. */
  nextRetryAtMs: number | undefined;
}

export interface NewJob {
  id: string;
  tenant: string;
  priority: number;
  startAtMs: number;
  retryPolicy: RetryPolicy | undefined;
  payload: Uint8Array;
  limits: Limit[];
  metadata: Record<string, string>;
  taskGroup: string;
}

/** A terminal attempt of an ImportJobs request. */
export interface ImportedAttempt {
  readonly status: AttemptStatus.SUCCEEDED | AttemptStatus.FAILED | AttemptStatus.CANCELLED;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly result: Uint8Array;
  readonly errorCode: string;
  readonly errorData: Uint8Array;
}

export interface ImportJob {
  readonly id: string;
  readonly priority: number;
  readonly enqueueTimeMs: number;
  readonly startAtMs: number;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly payload: Uint8Array;
  readonly limits: Limit[];
  readonly metadata: Record<string, string>;
  readonly taskGroup: string;
  readonly attempts: readonly ImportedAttempt[];
}

/** A per-job import refusal: the server reports its text in `ImportJobResult.error`. */
export class ImportRefusal extends Error {
  override readonly name = "ImportRefusal";
}

export type Outcome =
  | { readonly kind: "success"; readonly result: Uint8Array }
  | { readonly kind: "failure"; readonly code: string; readonly data: Uint8Array }
  | { readonly kind: "cancelled" };

export interface ShardStoreOptions {
  /** Lease length of job attempts and refresh tasks. */
  readonly leaseMs: number;
  /** Whether the server runs with tenancy (changes how the reaper treats cancelled jobs). */
  readonly tenancy: boolean;
  /** Where rate-limit decisions come from. */
  readonly gubernator: RateLimitSource;
}

/** The tenant the server files jobs under when tenancy is disabled. */
export const DEFAULT_TENANT = "-";

/** Readable status names, as the stock server prints them (Rust `Debug` of its status kind). */
export function statusName(status: JobStatus): string {
  switch (status) {
    case JobStatus.SCHEDULED:
      return "Scheduled";
    case JobStatus.RUNNING:
      return "Running";
    case JobStatus.SUCCEEDED:
      return "Succeeded";
    case JobStatus.FAILED:
      return "Failed";
    case JobStatus.CANCELLED:
      return "Cancelled";
  }
}

export function isTerminal(status: JobStatus): boolean {
  return status === JobStatus.SUCCEEDED || status === JobStatus.FAILED || status === JobStatus.CANCELLED;
}

/** Refresh failure backoff: 1 s doubling per consecutive failure, capped at 60 s. */
const REFRESH_BACKOFF_INITIAL_MS = 1_000;
const REFRESH_BACKOFF_MAX_MS = 60_000;
/** LeaseTasks re-scans at most this often for tasks its own internal work made ready. */
const MAX_SCAN_PASSES = 16;

/** Task queue order: start time, priority (0 first), job id, attempt (src/keys.rs). */
function taskOrder(a: QueuedTask, b: QueuedTask): number {
  return (
    a.startTimeMs - b.startTimeMs ||
    a.priority - b.priority ||
    compareStrings(taskJobId(a), taskJobId(b)) ||
    (a.chain?.attemptNumber ?? 0) - (b.chain?.attemptNumber ?? 0)
  );
}

function taskJobId(task: QueuedTask): string {
  return task.job?.id ?? `floating_refresh:${task.refresh?.queueKey ?? ""}`;
}

/**
 * The jobs, task queue, concurrency queues, floating-limit states and leases of one shard.
 * Everything is synchronous: JavaScript runs one RPC handler at a time, which gives the
 * transactional behaviour the real server gets from its database. Read-only views for the SQL
 * tables: {@link allJobs}, {@link queuedTasks}, {@link concurrencyQueues}, {@link floatingStates}.
 */
export class ShardStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly tasks = new Set<QueuedTask>();
  private readonly queues = new Map<string, ConcurrencyQueue<JobRecord>>();
  private readonly floating = new Map<string, FloatingState>();
  private readonly leases = new Map<string, Lease>();
  private readonly refreshLeases = new Map<string, RefreshLease>();

  constructor(
    readonly shardId: string,
    private readonly options: ShardStoreOptions,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  allJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** Pending (not leased) tasks, in queue order. */
  queuedTasks(): QueuedTask[] {
    return [...this.tasks].sort(taskOrder);
  }

  concurrencyQueues(): ConcurrencyQueue<JobRecord>[] {
    return [...this.queues.values()];
  }

  floatingStates(): FloatingState[] {
    return [...this.floating.values()];
  }

  activeLeases(): Lease[] {
    return [...this.leases.values()];
  }

  enqueue(job: NewJob, now: number): string {
    const id = job.id === "" ? randomUUID() : job.id;
    if (this.jobs.has(jobKey(job.tenant, id))) throw internal(`job already exists with id ${id}`);
    // A start time <= 0 means "now"; any positive value, past included, is kept as given.
    const startTimeMs = job.startAtMs > 0 ? job.startAtMs : now;
    const record = this.newRecord(id, job, job.startAtMs, now);
    this.jobs.set(jobKey(job.tenant, id), record);
    this.schedule(record, startTimeMs, 1, now);
    this.walk(record, newChain(1, 1, startTimeMs), 0, now, false);
    return id;
  }

  find(tenant: string, id: string): JobRecord | undefined {
    return this.jobs.get(jobKey(tenant, id));
  }

  get(tenant: string, id: string): JobRecord {
    const job = this.find(tenant, id);
    if (job === undefined) throw notFound("job not found");
    return job;
  }

  cancel(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    if (job.cancelledAtMs !== undefined) throw failedPrecondition("job is already cancelled");
    if (isTerminal(job.status)) throw failedPrecondition("job is already in terminal state");
    job.cancelledAtMs = now;
    if (job.status === JobStatus.SCHEDULED) {
      this.dropPending(job, now);
      // The scheduling fields stay, as the server keeps them on a job cancelled while scheduled.
      job.status = JobStatus.CANCELLED;
      job.statusChangedAtMs = now;
    }
    // A RUNNING job stays RUNNING; its worker learns of the cancellation on its next Heartbeat.
  }

  /** DeleteJob: an unknown id succeeds; SCHEDULED or RUNNING jobs are refused. */
  delete(tenant: string, id: string): void {
    const job = this.find(tenant, id);
    if (job === undefined) return;
    if (!isTerminal(job.status)) {
      throw internal(`cannot delete job ${id}: job is currently running or has pending requests`);
    }
    this.jobs.delete(jobKey(tenant, id));
  }

  restart(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot restart job ${id}: ${reason} (status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.SUCCEEDED) refuse("job already succeeded");
    if (job.status === JobStatus.RUNNING || job.status === JobStatus.SCHEDULED) refuse("job is still in progress");
    job.cancelledAtMs = undefined;
    const attemptNumber = Math.max(0, ...job.attempts.map((a) => a.attemptNumber)) + 1;
    const startTimeMs = Math.max(job.enqueueTimeMs, now);
    this.schedule(job, startTimeMs, attemptNumber, now);
    // Written straight as a runnable task: the restarted attempt skips the job's limits.
    this.queueTask(job, "RunAttempt", newChain(attemptNumber, 1, startTimeMs), job.limits.length, 0, startTimeMs);
  }

  expedite(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot expedite job ${id}: ${reason} (status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.SUCCEEDED || job.status === JobStatus.FAILED) refuse("job is already in terminal state");
    if (job.cancelledAtMs !== undefined) refuse("job is cancelled");
    if (job.status === JobStatus.RUNNING) refuse("job is currently running");
    const task = this.pendingTaskAtScheduledTime(job);
    if (task === undefined) return refuse("job has no pending task to expedite");
    if (task.startTimeMs <= now) refuse("task is already ready to run (not future-scheduled)");
    task.startTimeMs = now;
    job.nextAttemptAtMs = now;
  }

  /**
   * LeaseTask: lease one named job directly, skipping its limits (the server's test helper).
   * Differs from the server in one way: slots the pending task already held are freed here,
   * where the server leaves them recorded.
   */
  leaseJob(tenant: string, id: string, workerId: string, now: number): Lease {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot lease job ${id}: ${reason} (status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.RUNNING) refuse("job is currently running");
    if (isTerminal(job.status)) refuse("job is already in terminal state");
    if (job.cancelledAtMs !== undefined) refuse("job is cancelled");
    if (job.currentAttempt === undefined || job.nextAttemptAtMs === undefined) refuse("job has no pending task");
    const task = this.pendingTaskAtScheduledTime(job);
    if (task === undefined || task.chain === undefined) return refuse("job has no pending task in queue");
    this.removeTask(task);
    job.pending = undefined;
    this.release(job.tenant, task.chain.taskId, task.chain.heldQueues, now);
    const attemptNumber = task.chain.attemptNumber;
    return this.startAttempt(job, { ...newChain(attemptNumber, attemptNumber, task.startTimeMs) }, workerId, now);
  }

  /**
   * LeaseTasks on this shard: walk the ready tasks of `taskGroup` in queue order, run the
   * internal ones (concurrency tickets, rate-limit checks) and lease up to `max` attempts plus
   * every ready refresh task.
   */
  leaseTasks(taskGroup: string, workerId: string, max: number, now: number): { leases: Lease[]; refreshes: RefreshLease[] } {
    const leases: Lease[] = [];
    const refreshes: RefreshLease[] = [];
    if (max <= 0) return { leases, refreshes };
    for (let pass = 0; pass < MAX_SCAN_PASSES; pass++) {
      const ready = [...this.tasks].filter((t) => t.taskGroup === taskGroup && t.startTimeMs <= now).sort(taskOrder);
      let internalWork = false;
      for (const task of ready) {
        if (!this.tasks.has(task)) continue;
        switch (task.kind) {
          case "RunAttempt":
            if (leases.length < max && task.job !== undefined && task.chain !== undefined) {
              this.removeTask(task);
              leases.push(this.startAttempt(task.job, task.chain, workerId, now));
            }
            break;
          case "RefreshFloatingLimit":
            refreshes.push(this.leaseRefresh(task, workerId, now));
            break;
          case "RequestTicket":
            if (task.job !== undefined && task.chain !== undefined) {
              this.removeTask(task);
              task.job.pending = undefined;
              this.walk(task.job, task.chain, task.limitIndex, now, false);
              internalWork = true;
            }
            break;
          case "CheckRateLimit":
            this.checkRateLimit(task, now);
            internalWork = true;
            break;
        }
      }
      if (!internalWork) break;
    }
    return { leases, refreshes };
  }

  heartbeat(workerId: string, taskId: string, now: number): { cancelled: boolean; cancelledAtMs?: number } {
    const lease = this.leases.get(taskId) ?? this.refreshLeases.get(taskId);
    if (lease === undefined) throw notFound("lease not found");
    if (lease.workerId !== workerId) throw failedPrecondition("lease owner mismatch");
    // From now, not from the old expiry; an expired lease the reaper has not seen is renewed too.
    lease.expiresAtMs = now + this.options.leaseMs;
    const cancelledAtMs = "job" in lease ? lease.job.cancelledAtMs : undefined;
    return cancelledAtMs === undefined ? { cancelled: false } : { cancelled: true, cancelledAtMs };
  }

  /**
   * ReportOutcome. Neither the worker nor the expiry is checked. For an unknown lease with a
   * `tenant_id` the server also frees any slot still recorded for the task id.
   */
  report(taskId: string, outcome: Outcome, now: number, tenantGiven: boolean): void {
    const lease = this.leases.get(taskId);
    if (lease === undefined) {
      if (tenantGiven) this.releaseEverywhere(taskId, now);
      throw notFound("lease not found");
    }
    this.finishAttempt(lease, outcome, now);
  }

  /** ReportRefreshOutcome: a new max on success, the 1 s … 60 s backoff on failure. */
  reportRefresh(taskId: string, newMax: number | undefined, now: number): void {
    const lease = this.refreshLeases.get(taskId);
    if (lease === undefined) throw notFound("lease not found");
    this.refreshLeases.delete(taskId);
    const state = this.floating.get(queueKey(lease.tenant, lease.snapshot.queueKey));
    if (state === undefined) return;
    const queue = this.queues.get(queueKey(lease.tenant, lease.snapshot.queueKey));
    if (newMax !== undefined) {
      state.currentMaxConcurrency = newMax;
      state.lastRefreshedAtMs = now;
      state.refreshScheduled = false;
      state.failureCount = 0;
      state.nextRetryAtMs = undefined;
      if (queue !== undefined) this.grantWaiting(queue, now);
      return;
    }
    const backoff = Math.min(REFRESH_BACKOFF_INITIAL_MS * 2 ** state.failureCount, REFRESH_BACKOFF_MAX_MS);
    state.failureCount++;
    state.nextRetryAtMs = now + backoff;
    const hasWaiters = queue !== undefined && queue.requesters.length > 0;
    state.refreshScheduled = hasWaiters;
    if (hasWaiters) this.queueRefresh(lease.tenant, lease.taskGroup, lease.snapshot, now + backoff);
  }

  /**
   * One reaper sweep: every lease whose expiry is at or before `now` ends. A job attempt fails
   * with WORKER_CRASHED, or becomes CANCELLED when the job has a cancellation record and tenancy
   * is off (the server looks the record up under the default tenant only). A refresh lease just
   * clears the state's pending flag.
   */
  expireLeases(now: number): void {
    for (const lease of [...this.leases.values()]) {
      if (lease.expiresAtMs > now) continue;
      const cancelled = lease.job.cancelledAtMs !== undefined && !this.options.tenancy;
      const text = `lease expired at ${lease.expiresAtMs} (now ${now}), worker=${lease.workerId}`;
      this.finishAttempt(lease, cancelled ? { kind: "cancelled" } : { kind: "failure", code: WORKER_CRASHED, data: encode(text) }, now);
    }
    for (const [id, lease] of [...this.refreshLeases]) {
      if (lease.expiresAtMs > now) continue;
      this.refreshLeases.delete(id);
      const state = this.floating.get(queueKey(lease.tenant, lease.snapshot.queueKey));
      if (state !== undefined) state.refreshScheduled = false;
    }
  }

  /**
   * ImportJobs for one job: a new id is created from its attempts, an existing one reimported.
   * Throws {@link ImportRefusal} with the server's per-job text; returns the resulting status.
   */
  importJob(tenant: string, params: ImportJob, now: number): JobStatus {
    const existing = this.find(tenant, params.id);
    if (existing !== undefined) return this.reimport(existing, params, now);
    checkAttemptOrder(params.attempts, (i) => `invalid argument: import attempt ${i} must be Failed (only the last attempt may be non-Failed)`);
    const enqueueTimeMs = params.enqueueTimeMs > 0 ? params.enqueueTimeMs : now;
    const startTimeMs = params.startAtMs > 0 ? params.startAtMs : now;
    const job = this.newRecord(params.id, { ...params, tenant }, enqueueTimeMs, now);
    job.attempts = params.attempts.map((a, i) => importedAttempt(a, i + 1));
    this.jobs.set(jobKey(tenant, params.id), job);
    this.applyImportedStatus(job, params.attempts, startTimeMs, now);
    return job.status;
  }

  /** Whether a job of this tenant and id exists and is RUNNING (ImportJobs' whole-call check). */
  isRunning(tenant: string, id: string): boolean {
    return this.find(tenant, id)?.status === JobStatus.RUNNING;
  }

  reset(): void {
    this.jobs.clear();
    this.tasks.clear();
    this.queues.clear();
    this.floating.clear();
    this.leases.clear();
    this.refreshLeases.clear();
  }

  private reimport(job: JobRecord, params: ImportJob, now: number): JobStatus {
    const refuse = (reason: string): never => {
      throw new ImportRefusal(`cannot reimport job: cannot reimport job ${job.id}: ${reason} (status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.RUNNING) refuse("job is currently running");
    if (job.status === JobStatus.SUCCEEDED) refuse("job already succeeded");
    job.attempts.forEach((a, i) => {
      if (a.status === AttemptStatus.RUNNING) refuse(`existing attempt ${i + 1} is still running`);
    });
    const existing = job.attempts.length;
    if (params.attempts.length < existing) {
      refuse(`reimport has ${params.attempts.length} attempts but job has ${existing} existing attempts`);
    }
    job.attempts.forEach((a, i) => {
      if (!sameAttempt(a, params.attempts[i] as ImportedAttempt)) refuse(`existing attempt ${i + 1} does not match reimport data`);
    });
    if (params.attempts.length <= existing) refuse("reimport must include at least one new attempt");
    checkAttemptOrder(params.attempts.slice(existing), (i) => `invalid argument: import attempt ${i} must be Failed (only the last attempt may be non-Failed)`);
    if (job.status === JobStatus.SCHEDULED) this.dropPending(job, now);
    job.cancelledAtMs = undefined;
    job.retryPolicy = params.retryPolicy;
    const base = Math.max(0, ...job.attempts.map((a) => a.attemptNumber));
    job.attempts.push(...params.attempts.slice(existing).map((a, i) => importedAttempt(a, base + i + 1)));
    const startTimeMs = params.startAtMs > 0 ? params.startAtMs : now;
    this.applyImportedStatus(job, params.attempts, startTimeMs, now);
    return job.status;
  }

  /** Status from imported attempts (src/job_store_shard/import.rs): terminal, or SCHEDULED and walked. */
  private applyImportedStatus(job: JobRecord, attempts: readonly ImportedAttempt[], startTimeMs: number, now: number): void {
    const last = attempts[attempts.length - 1];
    const setTerminal = (status: JobStatus, at: number): void => {
      job.status = status;
      job.statusChangedAtMs = at;
      job.nextAttemptAtMs = undefined;
      job.currentAttempt = undefined;
    };
    if (last?.status === AttemptStatus.SUCCEEDED) return setTerminal(JobStatus.SUCCEEDED, last.finishedAtMs);
    if (last?.status === AttemptStatus.CANCELLED) return setTerminal(JobStatus.CANCELLED, last.finishedAtMs);
    if (last !== undefined) {
      const failed = attempts.filter((a) => a.status === AttemptStatus.FAILED).length;
      if (job.retryPolicy === undefined || failed > job.retryPolicy.retryCount) return setTerminal(JobStatus.FAILED, last.finishedAtMs);
    }
    const attemptNumber = job.attempts.length + 1;
    this.schedule(job, startTimeMs, attemptNumber, now);
    this.walk(job, newChain(attemptNumber, attempts.length + 1, startTimeMs), 0, now, false);
  }

  private newRecord(
    id: string,
    job: Omit<NewJob, "id" | "startAtMs">,
    enqueueTimeMs: number,
    now: number,
  ): JobRecord {
    return {
      id,
      tenant: job.tenant,
      shardId: this.shardId,
      priority: job.priority,
      enqueueTimeMs,
      payload: job.payload,
      retryPolicy: job.retryPolicy,
      limits: job.limits,
      metadata: job.metadata,
      taskGroup: job.taskGroup,
      status: JobStatus.SCHEDULED,
      statusChangedAtMs: now,
      nextAttemptAtMs: undefined,
      currentAttempt: undefined,
      attempts: [],
      cancelledAtMs: undefined,
      pending: undefined,
      lease: undefined,
    };
  }

  private schedule(job: JobRecord, startTimeMs: number, attemptNumber: number, now: number): void {
    job.status = JobStatus.SCHEDULED;
    job.statusChangedAtMs = now;
    job.nextAttemptAtMs = startTimeMs;
    job.currentAttempt = attemptNumber;
  }

  /** The pending task the server finds by (start time, priority, job, attempt) of the status. */
  private pendingTaskAtScheduledTime(job: JobRecord): QueuedTask | undefined {
    if (job.pending?.kind !== "task" || job.currentAttempt === undefined) return undefined;
    const task = job.pending.task;
    return task.startTimeMs === job.nextAttemptAtMs ? task : undefined;
  }

  /**
   * Walk a chain through the job's limits from `fromIndex` (src/job_store_shard/enqueue.rs):
   * a concurrency limit reserves a slot at once when the start time has come and the queue has
   * room, otherwise it records a waiting request (start time reached) or queues a ticket task
   * for the start time; a rate limit queues a check task; past the last limit the run task is
   * queued. `skipFirstReserve` (retries) sends the first concurrency limit to the request queue.
   */
  private walk(job: JobRecord, chain: Chain, fromIndex: number, now: number, skipFirstReserve: boolean): void {
    let skip = skipFirstReserve;
    for (let i = fromIndex; i < job.limits.length; i++) {
      const limit = job.limits[i]?.limit;
      if (limit === undefined || limit.case === undefined) continue;
      if (limit.case === "rateLimit") {
        this.queueTask(job, "CheckRateLimit", chain, i, 0, chain.startTimeMs);
        return;
      }
      const queue = this.queue(job.tenant, limit.value.key, limit.case === "floatingConcurrency" ? "floating" : "fixed");
      const capacity = this.capacity(job, i);
      queue.maxConcurrency = capacity;
      const ready = chain.startTimeMs <= now;
      const reserve = !skip && ready && queue.holders.size < capacity;
      skip = false;
      if (reserve) {
        queue.holders.set(chain.taskId, { jobId: job.id, grantedAtMs: now });
        chain = { ...chain, heldQueues: [...chain.heldQueues, queue.name] };
      } else if (ready) {
        const request: ConcurrencyRequest<JobRecord> = { job, jobId: job.id, chain, limitIndex: i, priority: job.priority, requestedAtMs: now };
        insertRequest(queue, request);
        job.pending = { kind: "request", queue, request };
      } else {
        this.queueTask(job, "RequestTicket", chain, i, 0, chain.startTimeMs);
      }
      if (limit.case === "floatingConcurrency") {
        this.maybeScheduleRefresh(job, queue, (!reserve && ready) || queue.requesters.length > 0, now);
      }
      if (!reserve) return;
    }
    this.queueTask(job, "RunAttempt", chain, job.limits.length, 0, chain.startTimeMs);
  }

  /** Capacity of limit `index` of the job: its max, or the floating state's current max. */
  private capacity(job: JobRecord, index: number): number {
    const limit = job.limits[index]?.limit;
    if (limit?.case === "concurrency") return limit.value.maxConcurrency;
    if (limit?.case === "floatingConcurrency") {
      const key = queueKey(job.tenant, limit.value.key);
      let state = this.floating.get(key);
      if (state === undefined) {
        // Created on the first walk that reaches the limit; later jobs' settings are ignored.
        state = {
          tenant: job.tenant,
          key: limit.value.key,
          currentMaxConcurrency: limit.value.defaultMaxConcurrency,
          defaultMaxConcurrency: limit.value.defaultMaxConcurrency,
          refreshIntervalMs: Number(limit.value.refreshIntervalMs),
          metadata: { ...limit.value.metadata },
          lastRefreshedAtMs: 0,
          refreshScheduled: false,
          failureCount: 0,
          nextRetryAtMs: undefined,
        };
        this.floating.set(key, state);
      }
      return state.currentMaxConcurrency;
    }
    return 0;
  }

  /** Schedule a refresh when none is pending, the interval has passed, no backoff runs, and someone waits. */
  private maybeScheduleRefresh(job: JobRecord, queue: ConcurrencyQueue<JobRecord>, hasWaiters: boolean, now: number): void {
    const state = this.floating.get(queueKey(queue.tenant, queue.name));
    if (state === undefined || state.refreshScheduled || !hasWaiters) return;
    if (now < state.lastRefreshedAtMs + state.refreshIntervalMs) return;
    if (state.nextRetryAtMs !== undefined && now < state.nextRetryAtMs) return;
    state.refreshScheduled = true;
    const snapshot: RefreshSnapshot = {
      queueKey: state.key,
      currentMaxConcurrency: state.currentMaxConcurrency,
      lastRefreshedAtMs: state.lastRefreshedAtMs,
      metadata: state.metadata,
    };
    this.queueRefresh(job.tenant, job.taskGroup, snapshot, now);
  }

  private queueRefresh(tenant: string, taskGroup: string, snapshot: RefreshSnapshot, at: number): void {
    this.tasks.add({
      kind: "RefreshFloatingLimit",
      taskId: randomUUID(),
      taskGroup,
      tenant,
      startTimeMs: at,
      priority: 0,
      job: undefined,
      chain: undefined,
      limitIndex: 0,
      rateLimitChecks: 0,
      refresh: snapshot,
    });
  }

  private leaseRefresh(task: QueuedTask, workerId: string, now: number): RefreshLease {
    this.removeTask(task);
    const lease: RefreshLease = {
      taskId: task.taskId,
      workerId,
      tenant: task.tenant,
      taskGroup: task.taskGroup,
      snapshot: task.refresh as RefreshSnapshot,
      expiresAtMs: now + this.options.leaseMs,
    };
    this.refreshLeases.set(lease.taskId, lease);
    return lease;
  }

  /** Run one rate-limit check task (src/job_store_shard/dequeue.rs, rate_limit.rs). */
  private checkRateLimit(task: QueuedTask, now: number): void {
    const job = task.job;
    const chain = task.chain;
    this.removeTask(task);
    if (job === undefined || chain === undefined) return;
    job.pending = undefined;
    const limit = job.limits[task.limitIndex]?.limit;
    if (limit?.case !== "rateLimit") return;
    const rate: GubernatorRateLimit = limit.value;
    const policy = rate.retryPolicy;
    const initial = Number(policy?.initialBackoffMs ?? 0n);
    const maxBackoff = Number(policy?.maxBackoffMs ?? 0n);
    const k = task.rateLimitChecks;
    let decision;
    try {
      decision = this.options.gubernator.check(rate, now);
    } catch {
      // Unreachable, failing or absent Gubernator: check again after the initial backoff, forever.
      this.queueTask(job, "CheckRateLimit", chain, task.limitIndex, k + 1, now + initial);
      return;
    }
    if (decision.underLimit) {
      this.walk(job, { ...chain, startTimeMs: task.startTimeMs }, task.limitIndex + 1, now, false);
      return;
    }
    const maxRetries = policy?.maxRetries ?? 0;
    if (maxRetries > 0 && k >= maxRetries) {
      // Dropped: the job stays SCHEDULED with nothing pending; slots taken so far are freed.
      this.release(job.tenant, chain.taskId, chain.heldQueues, now);
      return;
    }
    const reset = decision.resetTimeMs;
    const next =
      now < reset && reset < now + maxBackoff
        ? reset
        : now + Math.min(Math.round(initial * (policy?.backoffMultiplier ?? 0) ** k), maxBackoff);
    this.queueTask(job, "CheckRateLimit", chain, task.limitIndex, k + 1, next);
  }

  private queueTask(job: JobRecord, kind: TaskKind, chain: Chain, limitIndex: number, checks: number, at: number): void {
    const task: QueuedTask = {
      kind,
      taskId: chain.taskId,
      taskGroup: job.taskGroup,
      tenant: job.tenant,
      startTimeMs: at,
      priority: job.priority,
      job,
      chain,
      limitIndex,
      rateLimitChecks: checks,
      refresh: undefined,
    };
    this.tasks.add(task);
    job.pending = { kind: "task", task };
  }

  private removeTask(task: QueuedTask): void {
    this.tasks.delete(task);
  }

  private queue(tenant: string, name: string, limitType: "fixed" | "floating"): ConcurrencyQueue<JobRecord> {
    const key = queueKey(tenant, name);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { tenant, name, limitType, maxConcurrency: 0, holders: new Map(), requesters: [] };
      this.queues.set(key, queue);
    }
    queue.limitType = limitType;
    return queue;
  }

  /** Remove a SCHEDULED job's pending task or request and free the slots its chain holds. */
  private dropPending(job: JobRecord, now: number): void {
    const pending = job.pending;
    job.pending = undefined;
    if (pending === undefined) return;
    let chain: Chain | undefined;
    if (pending.kind === "task") {
      this.removeTask(pending.task);
      chain = pending.task.chain;
    } else {
      const at = pending.queue.requesters.indexOf(pending.request);
      if (at >= 0) pending.queue.requesters.splice(at, 1);
      chain = pending.request.chain;
    }
    if (chain !== undefined) this.release(job.tenant, chain.taskId, chain.heldQueues, now);
  }

  /** Free the slots `taskId` holds in the named queues and hand them to waiting requests. */
  private release(tenant: string, taskId: string, names: readonly string[], now: number): void {
    for (const name of names) {
      const queue = this.queues.get(queueKey(tenant, name));
      if (queue === undefined) continue;
      queue.holders.delete(taskId);
      this.grantWaiting(queue, now);
    }
  }

  private releaseEverywhere(taskId: string, now: number): void {
    for (const queue of this.queues.values()) {
      if (queue.holders.delete(taskId)) this.grantWaiting(queue, now);
    }
  }

  /** Grant free slots to waiting requests in order; each granted chain walks on. */
  private grantWaiting(queue: ConcurrencyQueue<JobRecord>, now: number): void {
    for (;;) {
      const request = queue.requesters[0];
      if (request === undefined) return;
      if (queue.holders.size >= this.capacity(request.job, request.limitIndex)) return;
      queue.requesters.shift();
      request.job.pending = undefined;
      queue.holders.set(request.chain.taskId, { jobId: request.jobId, grantedAtMs: now });
      const chain = { ...request.chain, heldQueues: [...request.chain.heldQueues, queue.name] };
      this.walk(request.job, chain, request.limitIndex + 1, now, false);
    }
  }

  private startAttempt(job: JobRecord, chain: Chain, workerId: string, now: number): Lease {
    const lease: Lease = {
      taskId: chain.taskId,
      job,
      workerId,
      attemptNumber: chain.attemptNumber,
      relativeAttemptNumber: chain.relativeAttemptNumber,
      heldQueues: chain.heldQueues,
      startedAtMs: now,
      expiresAtMs: now + this.options.leaseMs,
    };
    job.attempts.push({
      attemptNumber: chain.attemptNumber,
      relativeAttemptNumber: chain.relativeAttemptNumber,
      taskId: chain.taskId,
      startedAtMs: now,
      status: AttemptStatus.RUNNING,
    });
    job.lease = lease;
    job.pending = undefined;
    job.status = JobStatus.RUNNING;
    job.statusChangedAtMs = now;
    job.nextAttemptAtMs = undefined;
    job.currentAttempt = undefined;
    this.leases.set(lease.taskId, lease);
    return lease;
  }

  /** Apply an attempt's outcome (src/job_store_shard/lease.rs): success, cancelled, or the retry rule. */
  private finishAttempt(lease: Lease, outcome: Outcome, now: number): void {
    const job = lease.job;
    this.leases.delete(lease.taskId);
    job.lease = undefined;
    const attempt = job.attempts.find((a) => a.taskId === lease.taskId);
    if (attempt !== undefined) {
      attempt.finishedAtMs = now;
      if (outcome.kind === "success") {
        attempt.status = AttemptStatus.SUCCEEDED;
        attempt.result = outcome.result;
      } else if (outcome.kind === "cancelled") {
        attempt.status = AttemptStatus.CANCELLED;
      } else {
        attempt.status = AttemptStatus.FAILED;
        attempt.errorCode = outcome.code;
        attempt.errorData = outcome.data;
      }
    }
    const end = (status: JobStatus): void => {
      job.status = status;
      job.statusChangedAtMs = now;
      job.nextAttemptAtMs = undefined;
      job.currentAttempt = undefined;
    };
    if (outcome.kind === "success") end(JobStatus.SUCCEEDED);
    else if (outcome.kind === "cancelled") end(JobStatus.CANCELLED);
    else {
      const delay = retryDelayMs(job.retryPolicy, lease.relativeAttemptNumber, now);
      if (delay === undefined) end(JobStatus.FAILED);
      else {
        const next = newChain(lease.attemptNumber + 1, lease.relativeAttemptNumber + 1, now + delay);
        this.schedule(job, next.startTimeMs, next.attemptNumber, now);
        // Before the old slots are freed, so the retry queues behind waiting requests.
        this.walk(job, next, 0, now, true);
      }
    }
    this.release(job.tenant, lease.taskId, lease.heldQueues, now);
  }
}

function newChain(attemptNumber: number, relativeAttemptNumber: number, startTimeMs: number): Chain {
  return { taskId: randomUUID(), attemptNumber, relativeAttemptNumber, startTimeMs, heldQueues: [] };
}

function importedAttempt(a: ImportedAttempt, attemptNumber: number): AttemptRecord {
  const record: AttemptRecord = {
    attemptNumber,
    relativeAttemptNumber: attemptNumber,
    taskId: randomUUID(),
    startedAtMs: a.startedAtMs,
    status: a.status,
    finishedAtMs: a.finishedAtMs,
  };
  if (a.status === AttemptStatus.SUCCEEDED) record.result = a.result;
  if (a.status === AttemptStatus.FAILED) {
    record.errorCode = a.errorCode;
    record.errorData = a.errorData;
  }
  return record;
}

function sameAttempt(stored: AttemptRecord, given: ImportedAttempt): boolean {
  if (stored.status !== given.status || stored.startedAtMs !== given.startedAtMs || (stored.finishedAtMs ?? 0) !== given.finishedAtMs) {
    return false;
  }
  if (given.status === AttemptStatus.SUCCEEDED) return sameBytes(stored.result, given.result);
  if (given.status === AttemptStatus.FAILED) return (stored.errorCode ?? "") === given.errorCode && sameBytes(stored.errorData, given.errorData);
  return true;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  const x = a ?? new Uint8Array();
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

/** Only the last imported attempt may be other than FAILED. */
function checkAttemptOrder(attempts: readonly ImportedAttempt[], message: (attempt: number) => string): void {
  attempts.forEach((a, i) => {
    if (i < attempts.length - 1 && a.status !== AttemptStatus.FAILED) throw new ImportRefusal(message(i + 1));
  });
}

function jobKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
