import type { CallOptions } from "./client-options.js";
import type { Job, JobResult, JobStatus } from "./job-types.js";

/** What a handle needs from its client. */
export interface JobOperations {
  getJob(id: string, tenant?: string, options?: CallOptions & { includeAttempts?: boolean }): Promise<Job>;
  getJobStatus(id: string, tenant?: string, options?: CallOptions): Promise<JobStatus>;
  getJobResult<T = unknown>(id: string, tenant?: string, options?: CallOptions): Promise<JobResult<T>>;
  awaitJobResult<T = unknown>(id: string, tenant: string | undefined, options?: AwaitJobOptions): Promise<JobResult<T>>;
  cancelJob(id: string, tenant?: string, options?: CallOptions): Promise<void>;
  deleteJob(id: string, tenant?: string, options?: CallOptions): Promise<void>;
  restartJob(id: string, tenant?: string, options?: CallOptions): Promise<void>;
  expediteJob(id: string, tenant?: string, options?: CallOptions): Promise<void>;
}

/** Options of `awaitResult()`. */
export interface AwaitJobOptions {
  /** Give up after this many ms with `SiloDeadlineExceededError`. Default: wait until `signal` aborts. */
  timeoutMs?: number;
  /** Pause between polls, ms. Default 500. */
  pollIntervalMs?: number;
  /** Stops waiting with `SiloCancelledError`. */
  signal?: AbortSignal;
}

/** A job by id and tenant, with the operations that address it. */
export class JobHandle {
  /** The job's id. */
  readonly id: string;
  /** The tenant the job was enqueued for; undefined for the default tenant. */
  readonly tenant: string | undefined;
  readonly #ops: JobOperations;

  constructor(ops: JobOperations, id: string, tenant: string | undefined) {
    this.#ops = ops;
    this.id = id;
    this.tenant = tenant;
  }

  /** Full job details, payload decoded. */
  getJob(options?: CallOptions & { includeAttempts?: boolean }): Promise<Job> {
    return this.#ops.getJob(this.id, this.tenant, options);
  }

  /** The job's status. */
  getStatus(options?: CallOptions): Promise<JobStatus> {
    return this.#ops.getJobStatus(this.id, this.tenant, options);
  }

  /** The outcome of a finished job; `JobNotTerminalError` while it is scheduled or running. */
  getResult<T = unknown>(options?: CallOptions): Promise<JobResult<T>> {
    return this.#ops.getJobResult<T>(this.id, this.tenant, options);
  }

  /** Cancels the job (a running job's worker sees it on its next heartbeat). */
  cancel(options?: CallOptions): Promise<void> {
    return this.#ops.cancelJob(this.id, this.tenant, options);
  }

  /** Deletes a finished job. */
  delete(options?: CallOptions): Promise<void> {
    return this.#ops.deleteJob(this.id, this.tenant, options);
  }

  /** Runs a failed or cancelled job again from its first attempt. */
  restart(options?: CallOptions): Promise<void> {
    return this.#ops.restartJob(this.id, this.tenant, options);
  }

  /** Starts a job scheduled for later (or waiting to retry) now. */
  expedite(options?: CallOptions): Promise<void> {
    return this.#ops.expediteJob(this.id, this.tenant, options);
  }

  /** Polls until the job finishes and resolves with its outcome. */
  awaitResult<T = unknown>(options?: AwaitJobOptions): Promise<JobResult<T>> {
    return this.#ops.awaitJobResult<T>(this.id, this.tenant, options);
  }

  toJSON(): { id: string; tenant: string | undefined } {
    return { id: this.id, tenant: this.tenant };
  }
}
