import { randomUUID } from "node:crypto";
import type { Limit, RetryPolicy } from "../gen/silo/v1/silo_pb.js";
import { AttemptStatus, JobStatus } from "../gen/silo/v1/silo_pb.js";
import { failedPrecondition, internal, notFound } from "./errors.js";
import type { RateLimiter } from "./limits.js";
import { ShardLimits } from "./limits.js";

/** Error code of an attempt whose lease ran out, as the stock server records it. */
export const WORKER_CRASHED = "WORKER_CRASHED";

export interface AttemptRecord {
  readonly attemptNumber: number;
  readonly relativeAttemptNumber: number;
  readonly taskId: string;
  readonly startedAtMs: number;
  status: AttemptStatus;
  finishedAtMs?: number;
  result?: Uint8Array;
  errorCode?: string;
  errorData?: Uint8Array;
}

export interface JobRecord {
  readonly id: string;
  readonly tenant: string;
  readonly shardId: string;
  readonly priority: number;
  readonly enqueueTimeMs: number;
  readonly payload: Uint8Array;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly limits: Limit[];
  readonly metadata: Record<string, string>;
  readonly taskGroup: string;
  /** Tie-breaker after priority and start time: enqueue order. */
  readonly seq: number;
  status: JobStatus;
  statusChangedAtMs: number;
  /** When the next attempt may start; set while SCHEDULED. */
  nextAttemptAtMs: number | undefined;
  attempts: AttemptRecord[];
  /** Failures since the last restart: the `n` of the retry formula. */
  failures: number;
  /** Attempt number relative to the last restart, for the next attempt. */
  nextRelativeAttempt: number;
  /** Times the pending attempt was pushed back by a rate limit. */
  rateLimitRetries: number;
  /** Set when a running job is cancelled; the worker sees it through Heartbeat. */
  cancelledAtMs: number | undefined;
  lease: Lease | undefined;
}

export interface Lease {
  readonly taskId: string;
  readonly job: JobRecord;
  readonly workerId: string;
  readonly heldKeys: string[];
  expiresAtMs: number;
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

export type Outcome =
  | { readonly kind: "success"; readonly result: Uint8Array }
  | { readonly kind: "failure"; readonly code: string; readonly data: Uint8Array }
  | { readonly kind: "cancelled" };

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

/**
 * Delay before the next attempt after `failuresSoFar` failures (0 for the first), or undefined
 * when retries are exhausted. Mirrors the server: `min(max, round(initial * factor^n))`, with
 * `randomize_interval` multiplying by a factor in [1, 2) before the cap.
 */
export function retryDelayMs(policy: RetryPolicy | undefined, failuresSoFar: number): number | undefined {
  if (policy === undefined || failuresSoFar >= policy.retryCount) return undefined;
  let delay = Math.round(Number(policy.initialIntervalMs) * policy.backoffFactor ** failuresSoFar);
  if (policy.randomizeInterval) delay = Math.round(delay * (1 + Math.random()));
  // A zero max_interval_ms means "no cap": proto3 cannot tell an unset field from 0.
  if (policy.maxIntervalMs > 0n) delay = Math.min(delay, Number(policy.maxIntervalMs));
  return Math.max(0, delay);
}

let seqCounter = 0;

/**
 * The jobs of one shard and their leases. Everything is synchronous: JavaScript runs one RPC
 * handler at a time, which gives the transactional behaviour the real server gets from SlateDB.
 */
export class ShardStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly leases = new Map<string, Lease>();
  /** SCHEDULED jobs only, so leasing does not walk every finished job. */
  private readonly scheduled = new Set<JobRecord>();
  readonly limits: ShardLimits;

  constructor(
    readonly shardId: string,
    private readonly leaseMs: number,
    rateLimiter: RateLimiter,
  ) {
    this.limits = new ShardLimits(rateLimiter);
  }

  get size(): number {
    return this.jobs.size;
  }

  allJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  enqueue(job: NewJob, now: number): string {
    const id = job.id === "" ? randomUUID() : job.id;
    const key = jobKey(job.tenant, id);
    if (this.jobs.has(key)) throw internal(`job already exists with id ${id}`);
    const record: JobRecord = {
      ...job,
      id,
      shardId: this.shardId,
      enqueueTimeMs: now,
      seq: seqCounter++,
      status: JobStatus.SCHEDULED,
      statusChangedAtMs: now,
      // A past start time is kept as given: it is ready now and orders before later jobs.
      nextAttemptAtMs: job.startAtMs > 0 ? job.startAtMs : now,
      attempts: [],
      failures: 0,
      nextRelativeAttempt: 1,
      rateLimitRetries: 0,
      cancelledAtMs: undefined,
      lease: undefined,
    };
    this.jobs.set(key, record);
    this.scheduled.add(record);
    return id;
  }

  get(tenant: string, id: string): JobRecord {
    const job = this.jobs.get(jobKey(tenant, id));
    if (job === undefined) throw notFound("job not found");
    return job;
  }

  cancel(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    if (job.status === JobStatus.CANCELLED || job.cancelledAtMs !== undefined) {
      throw failedPrecondition("job is already cancelled");
    }
    if (isTerminal(job.status)) throw failedPrecondition("job is already in terminal state");
    job.cancelledAtMs = now;
    if (job.status === JobStatus.SCHEDULED) {
      job.nextAttemptAtMs = undefined;
      this.setStatus(job, JobStatus.CANCELLED, now);
    }
    // A running job keeps RUNNING; its worker learns of the cancellation on its next Heartbeat.
  }

  delete(tenant: string, id: string): void {
    const job = this.get(tenant, id);
    if (!isTerminal(job.status)) {
      throw internal(`cannot delete job ${id}: job is currently running or has pending requests`);
    }
    this.jobs.delete(jobKey(tenant, id));
  }

  restart(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot restart job: ${reason} (job ${id}, status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.SUCCEEDED) refuse("job already succeeded");
    if (job.status === JobStatus.RUNNING || job.status === JobStatus.SCHEDULED) refuse("job is still in progress");
    job.cancelledAtMs = undefined;
    job.failures = 0;
    job.nextRelativeAttempt = 1;
    job.rateLimitRetries = 0;
    job.nextAttemptAtMs = now;
    this.setStatus(job, JobStatus.SCHEDULED, now);
  }

  expedite(tenant: string, id: string, now: number): void {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot expedite job: ${reason} (job ${id}, status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.SUCCEEDED || job.status === JobStatus.FAILED) refuse("job is already in terminal state");
    if (job.status === JobStatus.CANCELLED || job.cancelledAtMs !== undefined) refuse("job is cancelled");
    if (job.status === JobStatus.RUNNING) refuse("job is currently running");
    if (job.nextAttemptAtMs === undefined || job.nextAttemptAtMs <= now) {
      refuse("task is already ready to run (not future-scheduled)");
    }
    job.nextAttemptAtMs = now;
  }

  /** Lease one named job directly, bypassing limits (the stock server's test helper). */
  leaseJob(tenant: string, id: string, workerId: string, now: number): Lease {
    const job = this.get(tenant, id);
    const refuse = (reason: string): never => {
      throw failedPrecondition(`cannot lease job: ${reason} (job ${id}, status: ${statusName(job.status)})`);
    };
    if (job.status === JobStatus.RUNNING) refuse("job is currently running");
    if (job.status === JobStatus.SUCCEEDED || job.status === JobStatus.FAILED) refuse("job is already in terminal state");
    if (job.status === JobStatus.CANCELLED || job.cancelledAtMs !== undefined) refuse("job is cancelled");
    return this.startAttempt(job, workerId, [], now);
  }

  /**
   * Lease up to `max` ready attempts of `taskGroup`: priority first (0 is highest), then the
   * earliest start time, then enqueue order. Jobs whose limits do not pass are skipped.
   */
  leaseReady(taskGroup: string, workerId: string, max: number, now: number): Lease[] {
    const ready = [...this.scheduled]
      .filter(
        (j) =>
          j.status === JobStatus.SCHEDULED &&
          j.taskGroup === taskGroup &&
          j.nextAttemptAtMs !== undefined &&
          j.nextAttemptAtMs <= now,
      )
      .sort(
        (a, b) =>
          a.priority - b.priority || (a.nextAttemptAtMs ?? 0) - (b.nextAttemptAtMs ?? 0) || a.seq - b.seq,
      );
    const leased: Lease[] = [];
    for (const job of ready) {
      if (leased.length >= max) break;
      const check = this.limits.check(job.limits, job.tenant, job.taskGroup, job.rateLimitRetries, now);
      if (!check.ok) {
        if (check.deferUntilMs !== undefined) {
          job.rateLimitRetries++;
          job.nextAttemptAtMs = check.deferUntilMs;
        }
        continue;
      }
      leased.push(this.startAttempt(job, workerId, check.heldKeys, now));
    }
    return leased;
  }

  heartbeat(workerId: string, taskId: string, now: number): { cancelled: boolean; cancelledAtMs?: number } {
    const lease = this.leases.get(taskId);
    if (lease === undefined) throw notFound("lease not found");
    if (lease.workerId !== workerId) throw failedPrecondition("lease owner mismatch");
    lease.expiresAtMs = now + this.leaseMs;
    const cancelledAtMs = lease.job.cancelledAtMs;
    return cancelledAtMs === undefined ? { cancelled: false } : { cancelled: true, cancelledAtMs };
  }

  report(taskId: string, outcome: Outcome, now: number): void {
    const lease = this.leases.get(taskId);
    if (lease === undefined) throw notFound("lease not found");
    this.finishAttempt(lease, outcome, now);
  }

  /** Fail every attempt whose lease ran out: WORKER_CRASHED, or CANCELLED if the job was cancelled. */
  expireLeases(now: number): void {
    for (const lease of [...this.leases.values()]) {
      if (lease.expiresAtMs > now) continue;
      const outcome: Outcome =
        lease.job.cancelledAtMs !== undefined
          ? { kind: "cancelled" }
          : { kind: "failure", code: WORKER_CRASHED, data: new Uint8Array() };
      this.finishAttempt(lease, outcome, now);
    }
    this.limits.expireRefreshes(now);
  }

  reset(): void {
    this.jobs.clear();
    this.scheduled.clear();
    this.leases.clear();
    this.limits.clear();
  }

  private setStatus(job: JobRecord, status: JobStatus, now: number): void {
    job.status = status;
    job.statusChangedAtMs = now;
    if (status === JobStatus.SCHEDULED) this.scheduled.add(job);
    else this.scheduled.delete(job);
  }

  private startAttempt(job: JobRecord, workerId: string, heldKeys: string[], now: number): Lease {
    const taskId = randomUUID();
    const lease: Lease = { taskId, job, workerId, heldKeys, expiresAtMs: now + this.leaseMs };
    job.attempts.push({
      attemptNumber: job.attempts.length + 1,
      relativeAttemptNumber: job.nextRelativeAttempt,
      taskId,
      startedAtMs: now,
      status: AttemptStatus.RUNNING,
    });
    job.lease = lease;
    job.nextAttemptAtMs = undefined;
    job.rateLimitRetries = 0;
    this.setStatus(job, JobStatus.RUNNING, now);
    this.limits.hold(heldKeys, taskId);
    this.leases.set(taskId, lease);
    return lease;
  }

  private finishAttempt(lease: Lease, outcome: Outcome, now: number): void {
    const job = lease.job;
    this.leases.delete(lease.taskId);
    this.limits.release(lease.heldKeys, lease.taskId);
    job.lease = undefined;
    const attempt = job.attempts.find((a) => a.taskId === lease.taskId);
    if (attempt === undefined) return;
    attempt.finishedAtMs = now;
    if (outcome.kind === "success") {
      attempt.status = AttemptStatus.SUCCEEDED;
      attempt.result = outcome.result;
      this.setStatus(job, JobStatus.SUCCEEDED, now);
      return;
    }
    if (outcome.kind === "cancelled") {
      attempt.status = AttemptStatus.CANCELLED;
      job.cancelledAtMs ??= now;
      this.setStatus(job, JobStatus.CANCELLED, now);
      return;
    }
    attempt.status = AttemptStatus.FAILED;
    attempt.errorCode = outcome.code;
    attempt.errorData = outcome.data;
    if (job.cancelledAtMs !== undefined) {
      this.setStatus(job, JobStatus.CANCELLED, now);
      return;
    }
    const delay = retryDelayMs(job.retryPolicy, job.failures);
    job.failures++;
    if (delay === undefined) {
      this.setStatus(job, JobStatus.FAILED, now);
      return;
    }
    job.nextRelativeAttempt++;
    job.nextAttemptAtMs = now + delay;
    this.setStatus(job, JobStatus.SCHEDULED, now);
  }
}


function jobKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
