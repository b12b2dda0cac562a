import { toSiloError } from "../core/errors.js";
import type { SiloGRPCClient } from "../core/silo-client.js";
import type { RefreshFloatingLimitTask } from "../gen/silo/v1/silo_pb.js";
import type { RefreshHandler, WorkerErrorHandler } from "./task-context.js";

/** Error code of a refresh whose handler threw something without a string `code`. */
export const REFRESH_ERROR = "REFRESH_ERROR";

type RefreshOutcome =
  | { case: "success"; value: { newMaxConcurrency: number } }
  | { case: "failure"; value: { code: string; message: string } };

/**
 * Handles one floating-limit refresh: asks `onRefresh` for the new maximum (or keeps the
 * current one when there is no handler) and reports it. Returns false if the report failed.
 */
export async function runRefresh(
  task: RefreshFloatingLimitTask,
  options: { client: SiloGRPCClient; onRefresh: RefreshHandler | undefined; onError: WorkerErrorHandler },
): Promise<boolean> {
  let outcome: RefreshOutcome;
  try {
    const max = options.onRefresh
      ? await options.onRefresh({
          queueKey: task.queueKey,
          currentMaxConcurrency: task.currentMaxConcurrency,
          metadata: { ...task.metadata },
          tenant: task.tenantId,
          task,
        })
      : task.currentMaxConcurrency;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
      throw new TypeError(`onRefresh must return a whole number >= 0, got ${String(max)}`);
    }
    outcome = { case: "success", value: { newMaxConcurrency: max } };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown } | null;
    const code = typeof e === "object" && e !== null && typeof e.code === "string" && e.code !== "" ? e.code : REFRESH_ERROR;
    const message = typeof e === "object" && e !== null && typeof e.message === "string" ? e.message : String(err);
    outcome = { case: "failure", value: { code, message } };
  }
  try {
    await options.client.callRouted(
      "ReportRefreshOutcome",
      { shardId: task.shard },
      async (rpc, shard, attempt) => {
        await rpc.reportRefreshOutcome(
          { shard: shard.id, taskId: task.id, outcome, ...(task.tenantId !== undefined ? { tenantId: task.tenantId } : {}) },
          attempt,
        );
        return true;
      },
      undefined,
    );
    return true;
  } catch (err) {
    options.onError({ error: toSiloError(err, "ReportRefreshOutcome"), phase: "refresh" });
    return false;
  }
}
