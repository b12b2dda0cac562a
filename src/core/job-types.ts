/**
 * Public value types of jobs: status, limits, retry policy and what `getJob` / `awaitResult`
 * return. Integer fields that the wire carries as 64-bit accept `bigint` or `number`.
 */

/** Lifecycle state of a job; the upstream client's names and string values. */
export enum JobStatus {
  Scheduled = "Scheduled",
  Running = "Running",
  Succeeded = "Succeeded",
  Failed = "Failed",
  Cancelled = "Cancelled",
}

/** State of one attempt at running a job. */
export enum AttemptStatus {
  Running = "Running",
  Succeeded = "Succeeded",
  Failed = "Failed",
  Cancelled = "Cancelled",
}

/** Rate-limit algorithm, with the wire's numbering. */
export enum GubernatorAlgorithm {
  /** Allows bursts up to the limit. The default. */
  TOKEN_BUCKET = 0,
  /** Smooths hits evenly over the duration. */
  LEAKY_BUCKET = 1,
}

/** Gubernator behaviour flags of a rate limit; combine with `|`. Silo passes them to Gubernator unchanged. */
export enum GubernatorBehavior {
  /** Batch checks to peers (Gubernator's default). */
  BATCHING = 0,
  /** Check each hit at once. */
  NO_BATCHING = 1,
  /** Share the limit across all Gubernator peers. */
  GLOBAL = 2,
  /** Reset on calendar boundaries (minute, hour, day). */
  DURATION_IS_GREGORIAN = 4,
  /** Reset the remaining counter with this hit. */
  RESET_REMAINING = 8,
  /** Drop the remaining budget to zero on the first over-limit hit. */
  DRAIN_OVER_LIMIT = 16,
}

/** A 64-bit integer option: `bigint` or a safe-integer `number`. */
export type Int64Like = bigint | number;

/** How a failed attempt is retried. */
export interface RetryPolicy {
  /** Retries after the first failure. Default 0 (no retry). */
  retryCount?: number;
  /** Base delay, ms: the retry after failed attempt n waits initial × factor^n. Default 1000. */
  initialIntervalMs?: Int64Like;
  /**
   * Cap on any retry delay, ms. Default: no cap (sent as the largest int64, because the server
   * reads 0 as a cap of 0 ms, which would make every retry immediate).
   */
  maxIntervalMs?: Int64Like;
  /** Multiplier per failed attempt. Default 1 (every retry waits `initialIntervalMs`). */
  backoffFactor?: number;
  /** Multiply each delay by a random factor in [1, 2) before the cap. Default false. */
  randomizeInterval?: boolean;
}

/** At most `maxConcurrency` attempts of jobs sharing `key` run at once. */
export interface ConcurrencyLimitConfig {
  type: "concurrency";
  /** Jobs with the same key share the limit. */
  key: string;
  /** Maximum concurrent attempts. */
  maxConcurrency: number;
}

/** Backoff while a rate limit is over budget. */
export interface RateLimitRetryPolicyConfig {
  /** First backoff, ms. Default 100 (the server's default). */
  initialBackoffMs?: Int64Like;
  /** Cap on the backoff, ms. Default 30000 (the server's default). */
  maxBackoffMs?: Int64Like;
  /** Multiplier per re-check. Default 2 (the server's default). */
  backoffMultiplier?: number;
  /** Retries before giving up; 0 retries until the limit resets. Default 0. */
  maxRetries?: number;
}

/** A Gubernator rate limit: at most `limit` hits per `durationMs`. */
export interface RateLimitConfig {
  type: "rateLimit";
  /** Name for debugging and metrics. */
  name: string;
  /** Jobs with the same unique key share the budget. */
  uniqueKey: string;
  /** Hits allowed per duration. */
  limit: Int64Like;
  /** Window length, ms. */
  durationMs: Int64Like;
  /** Hits one job consumes. Default 1. */
  hits?: number;
  /** Default `GubernatorAlgorithm.TOKEN_BUCKET`. */
  algorithm?: GubernatorAlgorithm;
  /** `GubernatorBehavior` flags combined with `|`. Default 0 (`BATCHING`). */
  behavior?: number;
  /** Backoff while over the limit. Default: the server's. */
  retryPolicy?: RateLimitRetryPolicyConfig;
}

/** A concurrency limit whose maximum workers recompute every `refreshIntervalMs`. */
export interface FloatingConcurrencyLimitConfig {
  type: "floatingConcurrency";
  /** Jobs with the same key share the limit. */
  key: string;
  /** Maximum concurrent attempts until a worker reports a refresh. */
  defaultMaxConcurrency: number;
  /** How often workers are asked to refresh the maximum, ms. */
  refreshIntervalMs: Int64Like;
  /** Handed to the worker that refreshes the limit. Default `{}`. */
  metadata?: Record<string, string>;
}

/** One entry of a job's ordered limit list. */
export type JobLimit = ConcurrencyLimitConfig | RateLimitConfig | FloatingConcurrencyLimitConfig;

/** One attempt at running a job, as `getJob()` reports it with attempts. */
export interface JobAttempt<Result = unknown> {
  jobId: string;
  attemptNumber: number;
  taskId: string;
  status: AttemptStatus;
  startedAtMs: bigint;
  finishedAtMs?: bigint;
  /** Result of a successful attempt: decoded MessagePack, else the bytes as UTF-8 text. */
  result?: Result;
  errorCode?: string;
  /** Error data of a failed attempt: decoded MessagePack, else the bytes as UTF-8 text. */
  errorData?: unknown;
}

/** A job as the server describes it (the upstream client's `Job`, plus `tenant`). */
export interface Job<Payload = unknown, Result = unknown> {
  id: string;
  /** The tenant the job was addressed with (undefined for the default tenant). */
  tenant: string | undefined;
  taskGroup: string;
  priority: number;
  enqueueTimeMs: bigint;
  /** The decoded payload. */
  payload: Payload;
  retryPolicy?: RetryPolicy;
  limits: JobLimit[];
  metadata: Record<string, string>;
  status: JobStatus;
  statusChangedAtMs: bigint;
  /** Filled when asked for with `{ includeAttempts: true }`; undefined when there are none. */
  attempts?: JobAttempt<Result>[];
  /** When the next attempt may start, for scheduled jobs. */
  nextAttemptStartsAfterMs?: bigint;
  /** Result of a succeeded job (decoded leniently, like attempt results). */
  result?: Result;
}

/**
 * The outcome of a finished job, as `getJobResult()` and `awaitResult()` return it: the upstream
 * shape (`status`, `result`, `errorCode`, `errorData`) plus the guide's `outcome`, `id` and times.
 */
export type JobResult<T = unknown> =
  | {
      outcome: "succeeded";
      status: JobStatus.Succeeded;
      id: string;
      finishedAtMs: bigint;
      result: T;
      errorCode?: undefined;
      errorData?: undefined;
    }
  | {
      outcome: "failed";
      status: JobStatus.Failed;
      id: string;
      finishedAtMs: bigint;
      result?: undefined;
      errorCode: string;
      /** Error data the worker reported: decoded MessagePack, else the bytes as UTF-8 text. */
      errorData: unknown;
    }
  | {
      outcome: "cancelled";
      status: JobStatus.Cancelled;
      id: string;
      finishedAtMs: bigint;
      cancelledAtMs: bigint;
      result?: undefined;
      errorCode?: undefined;
      errorData?: undefined;
    };

/** Options of `getJob()`. */
export interface GetJobOptions {
  /** Include every attempt in `attempts`. Default false. */
  includeAttempts?: boolean;
}
