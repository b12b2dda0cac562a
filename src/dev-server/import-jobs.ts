import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ImportJobRequest, ImportJobResultSchema, ImportJobsRequest, ImportJobsResponseSchema } from "../gen/silo/v1/silo_pb.js";
import { AttemptStatus, JobStatus } from "../gen/silo/v1/silo_pb.js";
import { DEV_SERVER_HINT_HEADER, failedPrecondition, invalidArgument } from "./errors.js";
import type { ImportJob, ImportedAttempt, ShardStore } from "./job-store.js";
import { ImportRefusal } from "./job-store.js";
import { storedLimits } from "./limit-defaults.js";
import { parseShardId } from "./shard-id.js";
import { msgpackBytes, validateMetadata } from "./request-values.js";

/** What ImportJobs needs from the node's RPC handlers. */
export interface ImportJobsContext {
  readonly now: number;
  /** The local store of a shard, or the routing error the server answers with. */
  readonly localShard: (rawShard: string) => ShardStore;
  readonly validateTenant: (tenant: string | undefined) => string;
  readonly checkTenantInRange: (shardId: string, tenant: string) => void;
}

type ImportJobResultInit = MessageInitShape<typeof ImportJobResultSchema>;

/**
 * ImportJobs (src/server.rs, src/job_store_shard/import.rs upstream): each job is validated on
 * its own, valid jobs are grouped by (shard, tenant) and imported group by group, and the
 * answer has one result per job in request order. A refused job gets `success` false, status
 * FAILED and the refusal as text. The whole call fails only when a job of a group exists and is
 * RUNNING; groups imported before it stay imported.
 */
export function importJobs(req: ImportJobsRequest, ctx: ImportJobsContext): MessageInitShape<typeof ImportJobsResponseSchema> {
  const results: (ImportJobResultInit | undefined)[] = new Array(req.jobs.length).fill(undefined);
  const groups = new Map<string, { shard: string; tenant: string; jobs: { index: number; job: ImportJob }[] }>();
  req.jobs.forEach((jobReq, index) => {
    try {
      const { shard, tenant, job } = validateImportJob(jobReq, ctx);
      const key = `${shard}\u0000${tenant}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { shard, tenant, jobs: [] };
        groups.set(key, group);
      }
      group.jobs.push({ index, job });
    } catch (err) {
      results[index] = failure(jobReq.id, statusText(err));
    }
  });

  for (const group of groups.values()) {
    let store: ShardStore;
    try {
      store = ctx.localShard(group.shard);
    } catch (err) {
      for (const { index, job } of group.jobs) results[index] = failure(job.id, statusText(err));
      continue;
    }
    for (const { job } of group.jobs) {
      if (store.isRunning(group.tenant, job.id)) {
        throw failedPrecondition(`cannot reimport job ${job.id}: job is currently running (status: Running)`);
      }
    }
    for (const { index, job } of group.jobs) {
      try {
        const status = store.importJob(group.tenant, job, ctx.now);
        results[index] = { id: job.id, success: true, status };
      } catch (err) {
        if (!(err instanceof ImportRefusal)) throw err;
        results[index] = failure(job.id, err.message);
      }
    }
  }
  return { results: results.map((r, i) => r ?? failure(req.jobs[i]?.id ?? "", "no result")) };
}

function failure(id: string, error: string): ImportJobResultInit {
  return { id, success: false, error, status: JobStatus.FAILED };
}

/** The server's per-job checks, in its order; failures are the gRPC statuses it would return. */
function validateImportJob(req: ImportJobRequest, ctx: ImportJobsContext): { shard: string; tenant: string; job: ImportJob } {
  const shard = parseShardId(req.shard);
  const tenant = ctx.validateTenant(req.tenant);
  ctx.checkTenantInRange(shard, tenant);
  if (req.id === "") throw invalidArgument("job id is required for import");
  // Unlike Enqueue, the length of the task group is not checked.
  if (req.taskGroup === "") throw invalidArgument("task_group is required");
  if (req.priority > 99) throw invalidArgument("priority must be between 0 and 99");
  validateMetadata(req.metadata);
  const attempts = req.attempts.map((a): ImportedAttempt => {
    if (a.status === AttemptStatus.RUNNING) throw invalidArgument("import attempts must be terminal (not Running)");
    if (a.status !== AttemptStatus.SUCCEEDED && a.status !== AttemptStatus.FAILED && a.status !== AttemptStatus.CANCELLED) {
      throw invalidArgument("invalid attempt status");
    }
    return {
      status: a.status,
      startedAtMs: Number(a.startedAtMs),
      finishedAtMs: Number(a.finishedAtMs),
      result: msgpackBytes(a.result),
      errorCode: a.errorCode ?? "",
      errorData: msgpackBytes(a.errorData),
    };
  });
  return {
    shard,
    tenant,
    job: {
      id: req.id,
      priority: req.priority,
      enqueueTimeMs: Number(req.enqueueTimeMs),
      startAtMs: Number(req.startAtMs),
      retryPolicy: req.retryPolicy,
      payload: msgpackBytes(req.payload),
      limits: storedLimits(req.limits),
      metadata: { ...req.metadata },
      taskGroup: req.taskGroup,
      attempts,
    },
  };
}

/** tonic's names of gRPC codes (its `Code` Debug form); connect spells one differently. */
const TONIC_CODE_NAMES: Partial<Record<Code, string>> = { [Code.Canceled]: "Cancelled" };

/**
 * A gRPC status as the server's per-job `error` text: tonic 0.12's `Display` of a `Status`,
 * `status: <Code>, message: "<text>", details: [], metadata: MetadataMap { headers: {…} }`.
 */
export function statusText(err: unknown): string {
  const ce = ConnectError.from(err);
  const code = TONIC_CODE_NAMES[ce.code] ?? Code[ce.code];
  // The dev server's own hint header is not something the stock server would have put there.
  const headers = [...ce.metadata.entries()]
    .filter(([k]) => k !== DEV_SERVER_HINT_HEADER)
    .map(([k, v]) => `${rustDebugString(k)}: ${rustDebugString(v)}`).join(", ");
  return `status: ${code}, message: ${rustDebugString(ce.rawMessage)}, details: [], metadata: MetadataMap { headers: {${headers}} }`;
}

/** Rust's `{:?}` of a string: quoted, with quotes, backslashes and control characters escaped. */
function rustDebugString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}
