/**
 * Public value types of jobs: status, limits, retry policy and what `getJob` / `awaitResult`
 * return. Integer fields that the wire carries as 64-bit accept `bigint` or `number`.
 */

/** Lifecycle state of a job. */
export const JobStatus = {
  SCHEDULED: "SCHEDULED",
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  CANCELLED: "CANCELLED",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** State of one attempt at running a job. */
export const AttemptStatus = {
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  CANCELLED: "CANCELLED",
} as const;
export type AttemptStatus = (typeof AttemptStatus)[keyof typeof AttemptStatus];

/** Rate-limit algorithm, with the wire's numbering. */
export const GubernatorAlgorithm = {
  /** Allows bursts up to the limit. The default. */
  TOKEN_BUCKET: 0,
  /** Smooths hits evenly over the duration. */
  LEAKY_BUCKET: 1,
} as const;
export type GubernatorAlgorithm = (typeof GubernatorAlgorithm)[keyof typeof GubernatorAlgorithm];

/** A 64-bit integer option: `bigint` or a safe-integer `number`. */
export type Int64Like = bigint | number;

/** How a failed attempt is retried. */
export interface RetryPolicy {
  /** Retries after the first failure. Default 0 (no retry). */
  retryCount?: number;
  /** Delay before the first retry, ms. Default 0. */
  initialIntervalMs?: Int64Like;
  /** Cap on any retry delay, ms. Default 0, which the server treats as no cap. */
  maxIntervalMs?: Int64Like;
  /** Multiplier per failure: delay = initial * factor^failures. Default 1. */
  backoffFactor?: number;
  /** Multiply each delay by a random factor in [1, 2) before the cap. Default false. */
  randomizeInterval?: boolean;
}

/** At most `maxConcurrency` attempts of jobs sharing `key` run at once. */
export interface ConcurrencyLimit {
  type: "concurrency";
  /** Jobs with the same key share the limit. */
  key: string;
  /** Maximum concurrent attempts. */
  maxConcurrency: number;
}

/** Backoff while a rate limit is over budget. */
export interface RateLimitRetryPolicy {
  /** First backoff, ms. Default 0. */
  initialBackoffMs?: Int64Like;
  /** Cap on the backoff, ms. Default 0 (no cap). */
  maxBackoffMs?: Int64Like;
  /** Multiplier per retry. Default 0 (server default). */
  backoffMultiplier?: number;
  /** Retries before giving up; 0 retries until the limit resets. Default 0. */
  maxRetries?: number;
}

/** A Gubernator rate limit: at most `limit` hits per `durationMs`. */
export interface RateLimit {
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
  /** Gubernator behaviour flags as a bit set. Default 0 (batching). */
  behavior?: number;
  /** Backoff while over the limit. Default: the server's. */
  retryPolicy?: RateLimitRetryPolicy;
}

/** A concurrency limit whose maximum workers recompute every `refreshIntervalMs`. */
export interface FloatingConcurrencyLimit {
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
export type JobLimit = ConcurrencyLimit | RateLimit | FloatingConcurrencyLimit;

/** One attempt at running a job, as `getJob()` reports it with attempts. */
export interface JobAttempt {
  attemptNumber: number;
  taskId: string;
  status: AttemptStatus;
  startedAtMs: bigint;
  finishedAtMs?: bigint;
  /** Decoded result of a successful attempt. */
  result?: unknown;
  errorCode?: string;
  /** Decoded error data of a failed attempt. */
  errorData?: unknown;
}

/** A job as the server describes it. */
export interface Job {
  id: string;
  /** The tenant the job was addressed with (undefined for the default tenant). */
  tenant: string | undefined;
  taskGroup: string;
  priority: number;
  enqueueTimeMs: bigint;
  /** The decoded payload. */
  payload: unknown;
  retryPolicy?: RetryPolicy;
  limits: JobLimit[];
  metadata: Record<string, string>;
  status: JobStatus;
  statusChangedAtMs: bigint;
  /** Filled when asked for with `{ includeAttempts: true }`. */
  attempts: JobAttempt[];
  /** When the next attempt may start, for scheduled jobs. */
  nextAttemptStartsAfterMs?: bigint;
  /** Decoded result, for succeeded jobs. */
  result?: unknown;
}

/** The outcome of a finished job, as `getJobResult()` and `awaitResult()` return it. */
export type JobResult<T = unknown> =
  | { outcome: "succeeded"; id: string; status: "SUCCEEDED"; finishedAtMs: bigint; result: T }
  | {
      outcome: "failed";
      id: string;
      status: "FAILED";
      finishedAtMs: bigint;
      errorCode: string;
      /** Decoded error data the worker reported. */
      errorData: unknown;
    }
  | { outcome: "cancelled"; id: string; status: "CANCELLED"; finishedAtMs: bigint; cancelledAtMs: bigint };
