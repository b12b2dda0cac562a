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
import type { AttemptStatus, GubernatorAlgorithm, Job, JobAttempt, JobLimit, JobResult, JobStatus } from "./job-types.js";
import { decodePayload } from "./payload-codec.js";

/** Converts wire messages into the public, decoded job shapes. */

// silo.v1.JobStatus: SCHEDULED = 0, RUNNING = 1, SUCCEEDED = 2, FAILED = 3, CANCELLED = 4.
const STATUS: Record<WireJobStatus, JobStatus> = ["SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

// silo.v1.AttemptStatus: RUNNING = 0, SUCCEEDED = 1, FAILED = 2, CANCELLED = 3.
const ATTEMPT_STATUS: Record<WireAttemptStatus, AttemptStatus> = ["RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

export function jobStatusFromWire(status: WireJobStatus): JobStatus {
  const s = STATUS[status];
  if (!s) throw new SiloError("internal", `server sent unknown job status ${status}`);
  return s;
}

function bytes(sb: SerializedBytes | undefined): unknown {
  return sb?.encoding.case === "msgpack" ? decodePayload(sb.encoding.value) : undefined;
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
    attemptNumber: a.attemptNumber,
    taskId: a.taskId,
    status: ATTEMPT_STATUS[a.status] ?? "RUNNING",
    startedAtMs: a.startedAtMs,
    ...(a.finishedAtMs !== undefined ? { finishedAtMs: a.finishedAtMs } : {}),
    ...(a.result ? { result: bytes(a.result) } : {}),
    ...(a.errorCode !== undefined ? { errorCode: a.errorCode } : {}),
    ...(a.errorData ? { errorData: bytes(a.errorData) } : {}),
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
    attempts,
    ...(r.nextAttemptStartsAfterMs !== undefined ? { nextAttemptStartsAfterMs: r.nextAttemptStartsAfterMs } : {}),
    ...(r.result ? { result: bytes(r.result) } : {}),
  };
}

export function jobResultFromWire<T>(r: GetJobResultResponse): JobResult<T> {
  switch (r.result.case) {
    case "successData":
      return { outcome: "succeeded", id: r.id, status: "SUCCEEDED", finishedAtMs: r.finishedAtMs, result: bytes(r.result.value) as T };
    case "failure":
      return {
        outcome: "failed",
        id: r.id,
        status: "FAILED",
        finishedAtMs: r.finishedAtMs,
        errorCode: r.result.value.errorCode,
        errorData: bytes(r.result.value.errorData),
      };
    case "cancelled":
      return { outcome: "cancelled", id: r.id, status: "CANCELLED", finishedAtMs: r.finishedAtMs, cancelledAtMs: r.result.value.cancelledAtMs };
    default: {
      // A terminal status without a result body: derive the outcome from the status.
      const status = jobStatusFromWire(r.status);
      if (status === "SUCCEEDED") return { outcome: "succeeded", id: r.id, status, finishedAtMs: r.finishedAtMs, result: undefined as T };
      if (status === "CANCELLED") return { outcome: "cancelled", id: r.id, status, finishedAtMs: r.finishedAtMs, cancelledAtMs: r.finishedAtMs };
      if (status === "FAILED") return { outcome: "failed", id: r.id, status, finishedAtMs: r.finishedAtMs, errorCode: "", errorData: undefined };
      throw new SiloError("internal", `server returned a result for job ${r.id} that is still ${status}`);
    }
  }
}
