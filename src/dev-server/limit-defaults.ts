import { create } from "@bufbuild/protobuf";
import type { Limit } from "../gen/silo/v1/silo_pb.js";
import { GubernatorAlgorithm, LimitSchema, RateLimitRetryPolicySchema } from "../gen/silo/v1/silo_pb.js";

/** The server's RateLimitRetryPolicy for a rate limit sent without one (src/job.rs upstream). */
export const DEFAULT_RATE_LIMIT_RETRY = {
  initialBackoffMs: 100n,
  maxBackoffMs: 30_000n,
  backoffMultiplier: 2.0,
  maxRetries: 0,
} as const;

/**
 * Limits as the server stores them (src/server.rs upstream): empty `Limit` messages dropped, a
 * rate limit's unknown algorithm stored as token bucket, a missing rate-limit retry policy
 * filled with {@link DEFAULT_RATE_LIMIT_RETRY}. A policy that is present is kept as sent, zeros
 * included.
 */
export function storedLimits(limits: readonly Limit[]): Limit[] {
  const out: Limit[] = [];
  for (const limit of limits) {
    const l = limit.limit;
    if (l.case === undefined) continue;
    if (l.case !== "rateLimit") {
      out.push(limit);
      continue;
    }
    const algorithm = l.value.algorithm === GubernatorAlgorithm.LEAKY_BUCKET ? GubernatorAlgorithm.LEAKY_BUCKET : GubernatorAlgorithm.TOKEN_BUCKET;
    const retryPolicy = l.value.retryPolicy ?? create(RateLimitRetryPolicySchema, DEFAULT_RATE_LIMIT_RETRY);
    out.push(create(LimitSchema, { limit: { case: "rateLimit", value: { ...l.value, algorithm, retryPolicy } } }));
  }
  return out;
}
