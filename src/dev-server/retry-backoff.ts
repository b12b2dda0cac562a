import type { RetryPolicy } from "../gen/silo/v1/silo_pb.js";

const U32_MAX = 0xffff_ffff;
const U64_MASK = (1n << 64n) - 1n;

/**
 * Delay in ms before the retry that follows failed attempt `n` (its relative attempt number,
 * 1 for the first attempt), or undefined when the job has no retry left: `n > retry_count`, or
 * no policy at all. `failureTimeMs` seeds the `randomize_interval` factor. Fields of a present
 * policy are used exactly as sent: `max_interval_ms` 0 caps every delay at 0, so the retry is
 * immediate, and `backoff_factor` 0 makes every delay 0 (src/retry.rs:25-64 upstream).
 */
export function retryDelayMs(policy: RetryPolicy | undefined, n: number, failureTimeMs: number): number | undefined {
  if (policy === undefined || n > policy.retryCount) return undefined;
  let delay = Math.round(Number(policy.initialIntervalMs) * policy.backoffFactor ** n);
  if (policy.randomizeInterval) delay = Math.round(delay * randomFactor(failureTimeMs, n));
  const cap = Number(policy.maxIntervalMs);
  return delay > cap ? cap : delay;
}

/**
 * A factor in [1, 2) that depends only on the failure time and `n`, so the same failure always
 * gets the same delay (the real server derives it from the same two inputs with a 64-bit LCG).
 */
export function randomFactor(failureTimeMs: number, n: number): number {
  let seed = (BigInt.asUintN(64, BigInt(failureTimeMs)) ^ (BigInt(n) << 32n)) & U64_MASK;
  seed = (seed * 6364136223846793005n + 1n) & U64_MASK;
  return 1 + Number(seed >> 32n) / U32_MAX;
}
