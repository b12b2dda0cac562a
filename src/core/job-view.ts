// Types only: importing silo_pb.ts at runtime would boot its file descriptor (and pull protobuf-es
// reflection into Worker bundles), so the enum values are spelled out below.
import type {
  AttemptStatus as WireAttemptStatus,
  GetJobResponse,
  GetJobResultResponse,
  JobStatus as WireJobStatus,
  Limit as WireLimit,
  SerializedBytes,
} from "../gen/silo/v1/silo_pb.js";
import { SiloError } from "./errors.js";
import { AttemptStatus, type GubernatorAlgorithm, type Job, type JobAttempt, type JobLimit, type JobResult, JobStatus } from "./job-types.js";
import { decodeLenient, decodePayload } from "./payload-codec.js";

/** Converts wire messages into the public, decoded job shapes. */

// silo.v1.JobStatus: SCHEDULED = 0, RUNNING = 1, SUCCEEDED = 2, FAILED = 3, CANCELLED = 4.
const STATUS: Record<WireJobStatus, JobStatus> = [JobStatus.Scheduled, JobStatus.Running, JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled];

// silo.v1.AttemptStatus: RUNNING = 0, SUCCEEDED = 1, FAILED = 2, CANCELLED = 3.
const ATTEMPT_STATUS: Record<WireAttemptStatus, AttemptStatus> = [AttemptStatus.Running, AttemptStatus.Succeeded, AttemptStatus.Failed, AttemptStatus.Cancelled];

export function jobStatusFromWire(status: WireJobStatus): JobStatus {
  const s = STATUS[status];
  if (!s) throw new SiloError("SILO_INTERNAL", `server sent unknown job status ${status}`);
  return s;
}

function bytes(sb: SerializedBytes | undefined): unknown {
  return sb?.encoding.case === "msgpack" ? decodePayload(sb.encoding.value) : undefined;
}

/** Results and error data: never thrown on, see `decodeLenient`. */
function lenient(sb: SerializedBytes | undefined): unknown {
  return sb?.encoding.case === "msgpack" ? decodeLenient(sb.encoding.value) : undefined;
}

function limitFromWire(l: WireLimit): JobLimit | undefined {
  switch (l.limit.case) {
    case "concurrency":
      return { type: "concurrency", key: l.limit.value.key, maxConcurrency: l.limit.value.maxConcurrency };
    case "rateLimit": {
      const v = l.limit.value;
      return {
        type: "rateLimit",
        name: v.name,
        uniqueKey: v.uniqueKey,
        limit: v.limit,
        durationMs: v.durationMs,
        hits: v.hits,
        algorithm: v.algorithm as number as GubernatorAlgorithm,
        behavior: v.behavior,
        ...(v.retryPolicy
          ? {
              retryPolicy: {
                initialBackoffMs: v.retryPolicy.initialBackoffMs,
                maxBackoffMs: v.retryPolicy.maxBackoffMs,
                backoffMultiplier: v.retryPolicy.backoffMultiplier,
                maxRetries: v.retryPolicy.maxRetries,
              },
            }
          : {}),
      };
    }
    case "floatingConcurrency":
      return {
        type: "floatingConcurrency",
        key: l.limit.value.key,
        defaultMaxConcurrency: l.limit.value.defaultMaxConcurrency,
        refreshIntervalMs: l.limit.value.refreshIntervalMs,
        metadata: { ...l.limit.value.metadata },
      };
    default:
      return undefined;
  }
}

export function jobFromWire(r: GetJobResponse, tenant: string | undefined): Job {
  const attempts: JobAttempt[] = r.attempts.map((a) => ({
    jobId: a.jobId || r.id,
    attemptNumber: a.attemptNumber,
    taskId: a.taskId,
    status: ATTEMPT_STATUS[a.status] ?? AttemptStatus.Running,
    startedAtMs: a.startedAtMs,
    ...(a.finishedAtMs !== undefined ? { finishedAtMs: a.finishedAtMs } : {}),
    ...(a.result ? { result: lenient(a.result) } : {}),
    ...(a.errorCode !== undefined ? { errorCode: a.errorCode } : {}),
    ...(a.errorData ? { errorData: lenient(a.errorData) } : {}),
  }));
  return {
    id: r.id,
    tenant,
    taskGroup: r.taskGroup,
    priority: r.priority,
    enqueueTimeMs: r.enqueueTimeMs,
    payload: bytes(r.payload),
    ...(r.retryPolicy
      ? {
          retryPolicy: {
            retryCount: r.retryPolicy.retryCount,
            initialIntervalMs: r.retryPolicy.initialIntervalMs,
            maxIntervalMs: r.retryPolicy.maxIntervalMs,
            backoffFactor: r.retryPolicy.backoffFactor,
            randomizeInterval: r.retryPolicy.randomizeInterval,
          },
        }
      : {}),
    limits: r.limits.map(limitFromWire).filter((l): l is JobLimit => l !== undefined),
    metadata: { ...r.metadata },
    status: jobStatusFromWire(r.status),
    statusChangedAtMs: r.statusChangedAtMs,
    ...(attempts.length > 0 ? { attempts } : {}),
    ...(r.nextAttemptStartsAfterMs !== undefined ? { nextAttemptStartsAfterMs: r.nextAttemptStartsAfterMs } : {}),
    ...(r.result ? { result: lenient(r.result) } : {}),
  };
}

export function jobResultFromWire<T>(r: GetJobResultResponse): JobResult<T> {
  switch (r.result.case) {
    case "successData":
      return { outcome: "succeeded", status: JobStatus.Succeeded, id: r.id, finishedAtMs: r.finishedAtMs, result: lenient(r.result.value) as T };
    case "failure":
      return {
        outcome: "failed",
        status: JobStatus.Failed,
        id: r.id,
        finishedAtMs: r.finishedAtMs,
        errorCode: r.result.value.errorCode,
        errorData: lenient(r.result.value.errorData),
      };
    case "cancelled":
      return { outcome: "cancelled", status: JobStatus.Cancelled, id: r.id, finishedAtMs: r.finishedAtMs, cancelledAtMs: r.result.value.cancelledAtMs };
    default: {
      // A terminal status without a result body: derive the outcome from the status.
      const status = jobStatusFromWire(r.status);
      if (status === JobStatus.Succeeded) return { outcome: "succeeded", status, id: r.id, finishedAtMs: r.finishedAtMs, result: undefined as T };
      if (status === JobStatus.Cancelled) return { outcome: "cancelled", status, id: r.id, finishedAtMs: r.finishedAtMs, cancelledAtMs: r.finishedAtMs };
      if (status === JobStatus.Failed) return { outcome: "failed", status, id: r.id, finishedAtMs: r.finishedAtMs, errorCode: "", errorData: undefined };
      throw new SiloError("SILO_INTERNAL", `server returned a result for job ${r.id} that is still ${status}`);
    }
  }
}
