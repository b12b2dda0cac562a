import { SiloValidationError, toSiloError } from "../core/errors.js";
import { checkInt, checkKnownKeys, checkObject } from "../core/validation.js";
import { leaseRound } from "./lease-round.js";
import type { TaskCounts } from "./task-context.js";
import { TaskPool } from "./task-pool.js";
import { DrainBudgetExceededError } from "./worker-errors.js";
import { MAX_TIMER_MS, resolveProcessingOptions, SHARED_KEYS, type TaskProcessingOptions } from "./worker-options.js";

/** Options of {@link drainTasks}. */
export interface DrainOptions<P = unknown, R = unknown> extends TaskProcessingOptions<P, R> {
  /**
   * Time the drain may take, ms, from the call: e.g. a Cron Trigger's CPU/wall limit or a
   * Lambda's `context.getRemainingTimeInMillis()`, minus your own margin. Required.
   */
  budgetMs: number;
  /**
   * Time kept back for reporting outcomes, ms. Handlers' signals abort (with
   * `DrainBudgetExceededError`) this long before the budget ends. Default 1000, or a fifth of
   * `budgetMs` if that is smaller.
   */
  reserveMs?: number;
  /**
   * Expected run time of one attempt, ms: a task is leased only while more than
   * `reserveMs + estimatedTaskMs` of the budget is left. Default: the longest attempt seen so
   * far in this drain (0 before the first one finishes).
   */
  estimatedTaskMs?: number;
}

/** What a drain did. */
export interface DrainResult extends TaskCounts {
  /** Why it stopped leasing: the queue was empty, or the budget left was too small. */
  stoppedBecause: "queue_empty" | "budget";
  /** Time the drain took, ms. */
  durationMs: number;
}

const DRAIN_KEYS = [...SHARED_KEYS, "budgetMs", "reserveMs", "estimatedTaskMs"] as const;

/**
 * Processes tasks of `taskGroup` for at most `budgetMs`, for Cloudflare Cron Triggers and
 * scheduled Lambdas: leases while the queue has work and enough budget is left to finish it,
 * heartbeats, reports every outcome before it returns, and returns the counts.
 */
export async function drainTasks<P = unknown, R = unknown>(options: DrainOptions<P, R>): Promise<DrainResult> {
  const startedAt = Date.now();
  const o = checkObject("options", options);
  checkKnownKeys("", o, DRAIN_KEYS);
  if (o.budgetMs === undefined) throw new SiloValidationError("budgetMs", "is required: the time the drain may take, in ms");
  const budgetMs = checkInt("budgetMs", o.budgetMs, 1, MAX_TIMER_MS);
  const reserveMs = o.reserveMs === undefined ? Math.min(1_000, Math.floor(budgetMs / 5)) : checkInt("reserveMs", o.reserveMs, 0, budgetMs);
  const fixedEstimate = o.estimatedTaskMs === undefined ? undefined : checkInt("estimatedTaskMs", o.estimatedTaskMs, 0, MAX_TIMER_MS);
  const shared = resolveProcessingOptions(o);
  const { client, taskGroup, workerId, onError } = shared;

  const deadline = startedAt + budgetMs;
  const budget = new AbortController();
  const budgetTimer = setTimeout(
    () => budget.abort(new DrainBudgetExceededError(`the drain's ${budgetMs} ms budget leaves only ${reserveMs} ms to report`)),
    Math.max(0, budgetMs - reserveMs),
  );
  const pool = new TaskPool({ ...shared, stopSignal: budget.signal, reportDeadlineMs: deadline });
  const mayLease = (): boolean => deadline - Date.now() > reserveMs + (fixedEstimate ?? pool.longestTaskMs);

  let stoppedBecause: DrainResult["stoppedBecause"] = "budget";
  let first = 0;
  try {
    while (mayLease()) {
      if (pool.free === 0) {
        await pool.waitForSlot(budget.signal);
        continue;
      }
      let addresses: string[] = [];
      try {
        addresses = (await client.loadTopology()).addresses();
      } catch (err) {
        onError({ error: toSiloError(err, "GetClusterInfo"), phase: "topology" });
      }
      if (addresses.length === 0) {
        stoppedBecause = "queue_empty";
        break;
      }
      const round = await leaseRound(addresses, first++, { client, pool, workerId, taskGroup, onError, mayLease });
      if (round.leased === 0 && round.askedEveryNode) {
        stoppedBecause = "queue_empty";
        break;
      }
    }
    await pool.settle();
  } finally {
    clearTimeout(budgetTimer);
  }
  return { ...pool.counts, stoppedBecause, durationMs: Date.now() - startedAt };
}
