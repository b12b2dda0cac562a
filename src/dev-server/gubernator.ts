import type { GubernatorRateLimit } from "../gen/silo/v1/silo_pb.js";

/** Gubernator's answer to one rate-limit check. */
export interface RateLimitDecision {
  /** True while the running total of hits is within the limit. */
  readonly underLimit: boolean;
  /** When the limit's window resets, in Unix ms. */
  readonly resetTimeMs: number;
}

/**
 * Where rate-limit decisions come from. The real server asks a Gubernator cluster; the dev
 * server has a built-in stand-in. `check` throws {@link GubernatorError} when no decision can be
 * had (the server then re-checks after the limit's `initial_backoff_ms`, forever).
 */
export interface RateLimitSource {
  check(limit: GubernatorRateLimit, now: number): RateLimitDecision;
  /** Forget every counter (ResetShards). */
  reset(): void;
}

/** A failed Gubernator call; the message is what the real server logs for it. */
export class GubernatorError extends Error {
  override readonly name = "GubernatorError";
}

/** The real server's error when it was started without a Gubernator address (src/gubernator.rs). */
export const NO_GUBERNATOR_MESSAGE = "rate limiting not configured - no gubernator address provided";

/**
 * The dev server's built-in Gubernator: the same semantics as the mock the real server's own
 * tests use (src/gubernator.rs upstream). It adds each check's `hits` to a running total per
 * `name` + `unique_key`, answers "under the limit" while that total is at most `limit`, reports
 * `reset_time` = now + `duration_ms`, and never resets a total by itself (only ResetShards
 * does). Algorithm and behavior flags are accepted and ignored, as Silo passes them on unread.
 */
export function createCountingGubernator(): RateLimitSource {
  const totals = new Map<string, number>();
  return {
    check(limit, now) {
      const key = `${limit.name}:${limit.uniqueKey}`;
      const total = (totals.get(key) ?? 0) + limit.hits;
      totals.set(key, total);
      return { underLimit: total <= Number(limit.limit), resetTimeMs: now + Number(limit.durationMs) };
    },
    reset() {
      totals.clear();
    },
  };
}

/** A server started without Gubernator: every check fails, so rate-limited jobs never run. */
export function createMissingGubernator(): RateLimitSource {
  return {
    check() {
      throw new GubernatorError(NO_GUBERNATOR_MESSAGE);
    },
    reset() {},
  };
}
