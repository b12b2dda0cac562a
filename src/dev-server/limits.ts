import { randomUUID } from "node:crypto";
import type { GubernatorRateLimit, Limit } from "../gen/silo/v1/silo_pb.js";
import { GubernatorAlgorithm } from "../gen/silo/v1/silo_pb.js";

/** Outcome of checking a job's limits before leasing one attempt. */
export type LimitCheck =
  | { readonly ok: true; readonly heldKeys: string[] }
  /** A concurrency slot is full: the job stays ready and is looked at again on the next lease. */
  | { readonly ok: false; readonly deferUntilMs?: undefined }
  /** A rate limit is over: the attempt moves to `deferUntilMs` (its RateLimitRetryPolicy). */
  | { readonly ok: false; readonly deferUntilMs: number };

/** A floating-limit refresh a worker must compute, handed out by LeaseTasks. */
export interface RefreshLease {
  readonly taskId: string;
  readonly queueKey: string;
  readonly state: FloatingState;
  expiresAtMs: number;
}

export interface FloatingState {
  readonly key: string;
  readonly tenant: string;
  readonly taskGroup: string;
  readonly refreshIntervalMs: number;
  readonly metadata: Record<string, string>;
  maxConcurrency: number;
  lastRefreshedAtMs: number;
  refreshTaskId: string | undefined;
}

interface Bucket {
  remaining: number;
  /** Token bucket: when the bucket refills. Leaky bucket: when `remaining` was last computed. */
  stampMs: number;
}

/**
 * Gubernator-style rate limits. Gubernator is a cluster-wide service, so one limiter is shared
 * by every shard of the dev server; buckets are keyed by `name` + `unique_key`.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** Take `hits` from the bucket; returns 0 when allowed, else ms until enough is available. */
  hit(limit: GubernatorRateLimit, now: number): number {
    const hits = limit.hits === 0 ? 1 : limit.hits;
    const max = Number(limit.limit);
    const duration = Math.max(1, Number(limit.durationMs));
    const key = `${limit.name}\u0000${limit.uniqueKey}`;
    let bucket = this.buckets.get(key);
    if (limit.algorithm === GubernatorAlgorithm.LEAKY_BUCKET) {
      if (bucket === undefined) {
        bucket = { remaining: max, stampMs: now };
        this.buckets.set(key, bucket);
      }
      // Leaky bucket: capacity drains back at limit/duration per ms.
      bucket.remaining = Math.min(max, bucket.remaining + ((now - bucket.stampMs) * max) / duration);
      bucket.stampMs = now;
      if (bucket.remaining >= hits) {
        bucket.remaining -= hits;
        return 0;
      }
      return Math.max(1, Math.ceil(((hits - bucket.remaining) * duration) / Math.max(1, max)));
    }
    if (bucket === undefined || now >= bucket.stampMs) {
      bucket = { remaining: max, stampMs: now + duration };
      this.buckets.set(key, bucket);
    }
    if (bucket.remaining >= hits) {
      bucket.remaining -= hits;
      return 0;
    }
    return Math.max(1, bucket.stampMs - now);
  }

  reset(): void {
    this.buckets.clear();
  }
}

/** Delay before re-checking a rate-limited attempt, from the limit's RateLimitRetryPolicy. */
export function rateLimitBackoffMs(limit: GubernatorRateLimit, retries: number, untilFreeMs: number): number {
  const policy = limit.retryPolicy;
  if (policy === undefined || policy.initialBackoffMs <= 0n) return untilFreeMs;
  const multiplier = policy.backoffMultiplier > 0 ? policy.backoffMultiplier : 1;
  let delay = Math.round(Number(policy.initialBackoffMs) * multiplier ** retries);
  if (policy.maxBackoffMs > 0n) delay = Math.min(delay, Number(policy.maxBackoffMs));
  return Math.max(1, delay);
}

/**
 * Concurrency and floating-concurrency holders of one shard. Keys are per tenant, as in Silo,
 * so two tenants using the same key do not share slots.
 */
export class ShardLimits {
  private readonly holders = new Map<string, Set<string>>();
  readonly floating = new Map<string, FloatingState>();
  readonly refreshLeases = new Map<string, RefreshLease>();

  constructor(private readonly rateLimiter: RateLimiter) {}

  /**
   * Check the job's limits in order; all must pass. Slots are taken only when every limit
   * passes, so a job blocked by its second limit holds nothing.
   */
  check(
    limits: readonly Limit[],
    tenant: string,
    taskGroup: string,
    rateLimitRetries: number,
    now: number,
  ): LimitCheck {
    const keys: string[] = [];
    for (const limit of limits) {
      const l = limit.limit;
      if (l.case === "concurrency") {
        const key = queueKey(tenant, l.value.key);
        if (this.holderCount(key) >= l.value.maxConcurrency) return { ok: false };
        keys.push(key);
      } else if (l.case === "floatingConcurrency") {
        const key = queueKey(tenant, l.value.key);
        const state = this.floatingState(key, tenant, taskGroup, l.value, now);
        if (this.holderCount(key) >= state.maxConcurrency) return { ok: false };
        keys.push(key);
      } else if (l.case === "rateLimit") {
        const waitMs = this.rateLimiter.hit(l.value, now);
        if (waitMs > 0) {
          return { ok: false, deferUntilMs: now + rateLimitBackoffMs(l.value, rateLimitRetries, waitMs) };
        }
      }
    }
    return { ok: true, heldKeys: keys };
  }

  hold(keys: readonly string[], taskId: string): void {
    for (const key of keys) {
      let set = this.holders.get(key);
      if (set === undefined) {
        set = new Set();
        this.holders.set(key, set);
      }
      set.add(taskId);
    }
  }

  release(keys: readonly string[], taskId: string): void {
    for (const key of keys) this.holders.get(key)?.delete(taskId);
  }

  /** Refresh tasks due for `taskGroup`: one per floating key whose interval has passed. */
  dueRefreshes(taskGroup: string, now: number, leaseMs: number): RefreshLease[] {
    const due: RefreshLease[] = [];
    for (const [key, state] of this.floating) {
      if (state.taskGroup !== taskGroup || state.refreshTaskId !== undefined) continue;
      if (now - state.lastRefreshedAtMs < state.refreshIntervalMs) continue;
      const lease: RefreshLease = { taskId: randomUUID(), queueKey: key, state, expiresAtMs: now + leaseMs };
      state.refreshTaskId = lease.taskId;
      this.refreshLeases.set(lease.taskId, lease);
      due.push(lease);
    }
    return due;
  }

  /** Drop refresh leases nobody answered, so the refresh is offered again. */
  expireRefreshes(now: number): void {
    for (const [id, lease] of this.refreshLeases) {
      if (lease.expiresAtMs > now) continue;
      this.refreshLeases.delete(id);
      lease.state.refreshTaskId = undefined;
    }
  }

  finishRefresh(taskId: string, newMax: number | undefined, now: number): boolean {
    const lease = this.refreshLeases.get(taskId);
    if (lease === undefined) return false;
    this.refreshLeases.delete(taskId);
    lease.state.refreshTaskId = undefined;
    lease.state.lastRefreshedAtMs = now;
    if (newMax !== undefined) lease.state.maxConcurrency = newMax;
    return true;
  }

  clear(): void {
    this.holders.clear();
    this.floating.clear();
    this.refreshLeases.clear();
  }

  private holderCount(key: string): number {
    return this.holders.get(key)?.size ?? 0;
  }

  private floatingState(
    key: string,
    tenant: string,
    taskGroup: string,
    limit: { key: string; defaultMaxConcurrency: number; refreshIntervalMs: bigint; metadata: Record<string, string> },
    now: number,
  ): FloatingState {
    let state = this.floating.get(key);
    if (state === undefined) {
      state = {
        key: limit.key,
        tenant,
        taskGroup,
        refreshIntervalMs: Number(limit.refreshIntervalMs),
        metadata: { ...limit.metadata },
        maxConcurrency: limit.defaultMaxConcurrency,
        lastRefreshedAtMs: now,
        refreshTaskId: undefined,
      };
      this.floating.set(key, state);
    }
    return state;
  }
}

function queueKey(tenant: string, key: string): string {
  return `${tenant}\u0000${key}`;
}
