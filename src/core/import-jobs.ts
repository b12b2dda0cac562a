import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ImportAttemptSchema, ImportJobRequestSchema, ImportJobResult as WireImportJobResult } from "../gen/silo/v1/silo_pb.js";
import type { CallOptions } from "./client-options.js";
import { DEFAULT_PRIORITY, limitToWire, retryPolicyToWire } from "./enqueue-options.js";
import { SiloValidationError } from "./errors.js";
import type { Int64Like, JobLimit, RetryPolicy } from "./job-types.js";
import { AttemptStatus, JobStatus } from "./job-types.js";
import { jobStatusFromWire } from "./job-view.js";
import { encodePayload } from "./payload-codec.js";
import type { SiloRpcClient } from "./silo-client.js";
import type { AttemptOptions } from "./silo-job-client.js";
import type { ShardRoute } from "./topology.js";
import { checkInt, checkInt64, checkJobId, checkKnownKeys, checkMetadata, checkName, checkObject, checkTenant } from "./validation.js";

/** A finished attempt from another system, attached to an imported job. */
export interface ImportAttemptOptions {
  /** How the attempt ended: `AttemptStatus.Succeeded`, `FAILED` or `CANCELLED`. */
  status: AttemptStatus;
  /** When the attempt started, Unix ms. */
  startedAtMs: Int64Like;
  /** When the attempt ended, Unix ms. */
  finishedAtMs: Int64Like;
  /** Result of a succeeded attempt (MessagePack-encoded). Default: none. */
  result?: unknown;
  /** Error code of a failed attempt. Default: none. */
  errorCode?: string;
  /** Error data of a failed attempt (MessagePack-encoded). Default: none. */
  errorData?: unknown;
}

/** One job to import with its history (the upstream client's `ImportJobOptions`). */
export interface ImportJobOptions<P = unknown> {
  /** The job's id in the source system; required, kept as is. */
  id: string;
  /** The job's data, any MessagePack-encodable value. */
  payload: P;
  /** Which workers process the job. Non-empty, at most 64 characters. */
  taskGroup: string;
  /** 0 (highest) to 99. Default 50. */
  priority?: number;
  /** Original enqueue time, Unix ms. Default 0, which the server replaces with its clock. */
  enqueueTimeMs?: Int64Like;
  /** When a job that is not finished runs next, Unix ms. Default 0: the server's now. */
  startAtMs?: Int64Like;
  /** Retries of failed attempts; also decides whether a last FAILED attempt ends the job. Default: none. */
  retryPolicy?: RetryPolicy;
  /** Limits walked before the next attempt. Default `[]`. */
  limits?: JobLimit[];
  /** Tenant; routes the job to its shard. Default: the server's default tenant. */
  tenant?: string;
  /** Up to 16 string pairs stored with the job. Default `{}`. */
  metadata?: Record<string, string>;
  /** Finished attempts in order; only the last may be other than FAILED. Default `[]`. */
  attempts?: ImportAttemptOptions[];
}

/** The server's verdict on one imported job. */
export interface ImportJobResult {
  /** The job's id. */
  id: string;
  /** Whether the job was imported. */
  success: boolean;
  /** Why it was not, as the server says it. */
  error?: string;
  /** The job's status after the import (FAILED for a refused job). */
  status: JobStatus;
}

/** What importJobs needs from the client: routed calls to the owner of a tenant's shard. */
export interface ImportJobsHost {
  callRouted<T>(
    op: string,
    route: { tenant?: string | undefined },
    fn: (rpc: SiloRpcClient, shard: ShardRoute, attempt: AttemptOptions) => Promise<T>,
    callOptions: CallOptions | undefined,
  ): Promise<T>;
}

type ImportJobInit = MessageInitShape<typeof ImportJobRequestSchema>;

const JOB_KEYS = ["id", "payload", "taskGroup", "priority", "enqueueTimeMs", "startAtMs", "retryPolicy", "limits", "tenant", "metadata", "attempts"] as const;
const ATTEMPT_KEYS = ["status", "startedAtMs", "finishedAtMs", "result", "errorCode", "errorData"] as const;

// silo.v1.AttemptStatus numbers of the terminal statuses an import may carry.
const WIRE_ATTEMPT_STATUS: Readonly<Record<string, 1 | 2 | 3>> = {
  [AttemptStatus.Succeeded]: 1,
  [AttemptStatus.Failed]: 2,
  [AttemptStatus.Cancelled]: 3,
};

function attemptToWire(field: string, value: unknown): MessageInitShape<typeof ImportAttemptSchema> {
  const a = checkObject(field, value);
  checkKnownKeys(field, a, ATTEMPT_KEYS);
  const status = typeof a.status === "string" ? WIRE_ATTEMPT_STATUS[a.status] : undefined;
  if (status === undefined) {
    throw new SiloValidationError(`${field}.status`, "must be AttemptStatus.Succeeded, FAILED or CANCELLED (imported attempts are finished)");
  }
  if (a.errorCode !== undefined && typeof a.errorCode !== "string") throw new SiloValidationError(`${field}.errorCode`, "must be a string");
  return {
    status,
    startedAtMs: checkInt64(`${field}.startedAtMs`, a.startedAtMs),
    finishedAtMs: checkInt64(`${field}.finishedAtMs`, a.finishedAtMs),
    ...(a.result !== undefined ? { result: { encoding: { case: "msgpack", value: encodePayload(a.result, `${field}.result`) } } } : {}),
    ...(a.errorCode !== undefined ? { errorCode: a.errorCode } : {}),
    ...(a.errorData !== undefined ? { errorData: { encoding: { case: "msgpack", value: encodePayload(a.errorData, `${field}.errorData`) } } } : {}),
  };
}

/** Validates one job's options and builds its wire form (without `shard`, which routing fills). */
export function buildImportJob(field: string, value: unknown): { job: ImportJobInit; tenant: string | undefined } {
  const o = checkObject(field, value);
  checkKnownKeys(field, o, JOB_KEYS);
  const id = checkJobId(`${field}.id`, o.id);
  const taskGroup = checkName(`${field}.taskGroup`, o.taskGroup);
  const tenant = checkTenant(`${field}.tenant`, o.tenant);
  if (!("payload" in o)) throw new SiloValidationError(`${field}.payload`, "is required (use null for no data)");
  const attempts = o.attempts === undefined ? [] : o.attempts;
  if (!Array.isArray(attempts)) throw new SiloValidationError(`${field}.attempts`, "must be an array");
  const limits = o.limits === undefined ? [] : o.limits;
  if (!Array.isArray(limits)) throw new SiloValidationError(`${field}.limits`, "must be an array");
  const job: ImportJobInit = {
    shard: "",
    id,
    priority: o.priority === undefined ? DEFAULT_PRIORITY : checkInt(`${field}.priority`, o.priority, 0, 99),
    enqueueTimeMs: o.enqueueTimeMs === undefined ? 0n : checkInt64(`${field}.enqueueTimeMs`, o.enqueueTimeMs),
    startAtMs: o.startAtMs === undefined ? 0n : checkInt64(`${field}.startAtMs`, o.startAtMs),
    payload: { encoding: { case: "msgpack", value: encodePayload(o.payload, `${field}.payload`) } },
    limits: limits.map((l, i) => limitToWire(`${field}.limits[${i}]`, l)),
    metadata: o.metadata === undefined ? {} : checkMetadata(`${field}.metadata`, o.metadata),
    taskGroup,
    attempts: attempts.map((a, i) => attemptToWire(`${field}.attempts[${i}]`, a)),
    ...(o.retryPolicy !== undefined ? { retryPolicy: retryPolicyToWire(`${field}.retryPolicy`, o.retryPolicy) } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
  };
  return { job, tenant };
}

/**
 * Imports jobs with their history, as the upstream client's `importJobs`: every job is checked
 * here first (a bad one throws `SiloValidationError` naming it, before any call), jobs are
 * grouped by tenant with one ImportJobs call per tenant to its shard's owner, and the results come
 * back in input order, matched by tenant and id. A job the server returned no result for gets
 * `{success: false, error: "No result returned from server for job <id>", status: SCHEDULED}`.
 */
export async function importJobs(host: ImportJobsHost, jobs: readonly ImportJobOptions[], callOptions?: CallOptions): Promise<ImportJobResult[]> {
  if (!Array.isArray(jobs)) throw new SiloValidationError("jobs", "must be an array");
  const built = jobs.map((j, i) => buildImportJob(`jobs[${i}]`, j));
  if (built.length === 0) return [];
  const byTenant = new Map<string | undefined, ImportJobInit[]>();
  for (const { job, tenant } of built) {
    const group = byTenant.get(tenant);
    if (group === undefined) byTenant.set(tenant, [job]);
    else group.push(job);
  }
  const byKey = new Map<string, ImportJobResult>();
  for (const [tenant, group] of byTenant) {
    const results: WireImportJobResult[] = await host.callRouted(
      "ImportJobs",
      { tenant },
      async (rpc, shard, attempt) => {
        for (const job of group) job.shard = shard.id;
        return (await rpc.importJobs({ jobs: group }, attempt)).results;
      },
      callOptions,
    );
    for (const r of results) {
      byKey.set(resultKey(tenant, r.id), {
        id: r.id,
        success: r.success,
        ...(r.error !== undefined ? { error: r.error } : {}),
        status: jobStatusFromWire(r.status),
      });
    }
  }
  return built.map(({ job, tenant }) => {
    const id = job.id as string;
    return (
      byKey.get(resultKey(tenant, id)) ?? { id, success: false, error: `No result returned from server for job ${id}`, status: JobStatus.Scheduled }
    );
  });
}

function resultKey(tenant: string | undefined, id: string): string {
  return `${tenant ?? ""}\u0000${id}`;
}
