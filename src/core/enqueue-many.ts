import type { CallOptions } from "./client-options.js";
import type { EnqueueJobOptions } from "./enqueue-options.js";
import { SiloError, SiloValidationError, toSiloError } from "./errors.js";
import type { JobHandle } from "./job-handle.js";
import { checkCallOptions, checkInt, checkJobId, checkKnownKeys, checkObject } from "./validation.js";

/** Options of `enqueueMany()`; the call options apply to each job's enqueue. */
export interface EnqueueManyOptions extends CallOptions {
  /** Enqueues in flight at once, over every shard together. Default 16; 1 to 1024. */
  concurrency?: number;
}

/** One job's outcome, at the job's index in the input. */
export type EnqueueManyResult =
  /** Stored: its handle (id and tenant). */
  | { status: "fulfilled"; id: string; handle: JobHandle }
  /** Not stored, or not known to be (see `SiloError.jobId` on ambiguous failures); the other jobs are unaffected. */
  | { status: "rejected"; id: string; error: SiloError };

/** The one method of the client `enqueueMany` needs. */
interface Enqueuer {
  enqueue(options: EnqueueJobOptions, callOptions?: CallOptions): Promise<JobHandle>;
}

export const DEFAULT_ENQUEUE_CONCURRENCY = 16;

/**
 * Enqueues every job, at most `concurrency` at a time, and resolves once each has settled, with
 * one result per job in input order. Each job is routed to its own tenant's shard and retried on
 * its own, with the id it was given or one generated here before the first attempt (so a retry
 * never creates a second job, and a failed job's result still names its id). A job that fails,
 * invalid options included, fails alone. Throws only for a bad `jobs` list or bad `options`,
 * before any network call.
 */
export async function enqueueMany(client: Enqueuer, jobs: readonly EnqueueJobOptions[], options: EnqueueManyOptions = {}): Promise<EnqueueManyResult[]> {
  if (!Array.isArray(jobs)) throw new SiloValidationError("jobs", "must be an array of enqueue options");
  const o = checkObject("options", options);
  checkKnownKeys("", o, ["concurrency", "timeoutMs", "signal", "headers"]);
  const { concurrency = DEFAULT_ENQUEUE_CONCURRENCY, ...callOptions } = options;
  checkInt("concurrency", concurrency, 1, 1024);
  checkCallOptions(callOptions);

  const results = new Array<EnqueueManyResult>(jobs.length);
  let next = 0;
  const runOne = async (index: number): Promise<void> => {
    const job = jobs[index] as EnqueueJobOptions;
    let id = "";
    try {
      const given = (job as { id?: unknown } | undefined)?.id;
      id = given === undefined ? crypto.randomUUID() : checkJobId("id", given);
      const handle = await client.enqueue({ ...job, id }, callOptions);
      results[index] = { status: "fulfilled", id: handle.id, handle };
    } catch (err) {
      // The result's index says which job; a validation error's field is the option's own name.
      results[index] = { status: "rejected", id, error: err instanceof SiloError ? err : toSiloError(err, "Enqueue") };
    }
  };
  const runner = async (): Promise<void> => {
    while (next < jobs.length) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, runner));
  return results;
}
