// Types only from the generated code: nothing here boots its file descriptor.
import type { Limit as WireLimit, RefreshFloatingLimitTask, SerializedBytes as WireBytes, Task as WireTask } from "../gen/silo/v1/silo_pb.js";
import type { Limit, RawTask, RefreshTask, SerializedBytes } from "./task-types.js";

/** Converts leased tasks from the wire codec's shape into the upstream client's raw shapes. */

function bytesView(b: WireBytes | undefined): SerializedBytes | undefined {
  if (b === undefined) return undefined;
  return b.encoding.case === "msgpack" ? { encoding: { oneofKind: "msgpack", msgpack: b.encoding.value } } : { encoding: { oneofKind: undefined } };
}

function limitView(l: WireLimit): Limit {
  switch (l.limit.case) {
    case "concurrency":
      return { limit: { oneofKind: "concurrency", concurrency: { key: l.limit.value.key, maxConcurrency: l.limit.value.maxConcurrency } } };
    case "floatingConcurrency": {
      const v = l.limit.value;
      return {
        limit: {
          oneofKind: "floatingConcurrency",
          floatingConcurrency: { key: v.key, defaultMaxConcurrency: v.defaultMaxConcurrency, refreshIntervalMs: v.refreshIntervalMs, metadata: { ...v.metadata } },
        },
      };
    }
    case "rateLimit": {
      const v = l.limit.value;
      const r = v.retryPolicy;
      return {
        limit: {
          oneofKind: "rateLimit",
          rateLimit: {
            name: v.name,
            uniqueKey: v.uniqueKey,
            limit: v.limit,
            durationMs: v.durationMs,
            hits: v.hits,
            algorithm: v.algorithm,
            behavior: v.behavior,
            ...(r ? { retryPolicy: { initialBackoffMs: r.initialBackoffMs, maxBackoffMs: r.maxBackoffMs, backoffMultiplier: r.backoffMultiplier, maxRetries: r.maxRetries } } : {}),
          },
        },
      };
    }
    default:
      return { limit: { oneofKind: undefined } };
  }
}

export function rawTaskFromWire(t: WireTask): RawTask {
  const payload = bytesView(t.payload);
  return {
    id: t.id,
    jobId: t.jobId,
    ...(t.tenantId !== undefined ? { tenantId: t.tenantId } : {}),
    attemptNumber: t.attemptNumber,
    relativeAttemptNumber: t.relativeAttemptNumber,
    isLastAttempt: t.isLastAttempt,
    metadata: { ...t.metadata },
    limits: t.limits.map(limitView),
    ...(payload ? { payload } : {}),
    priority: t.priority,
    shard: t.shard,
    taskGroup: t.taskGroup,
    leaseMs: t.leaseMs,
  };
}

export function refreshTaskFromWire(t: RefreshFloatingLimitTask): RefreshTask {
  return {
    id: t.id,
    queueKey: t.queueKey,
    currentMaxConcurrency: t.currentMaxConcurrency,
    lastRefreshedAtMs: t.lastRefreshedAtMs,
    metadata: { ...t.metadata },
    leaseMs: t.leaseMs,
    shard: t.shard,
    taskGroup: t.taskGroup,
    ...(t.tenantId !== undefined ? { tenant: t.tenantId } : {}),
  };
}
