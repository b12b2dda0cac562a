import { SiloUnavailableError, SiloValidationError, toSiloError } from "../core/errors.js";
import type { SiloGRPCClient } from "../core/silo-client.js";
import type { RefreshFloatingLimitTask } from "../gen/silo/v1/silo_pb.js";
import type { WireTaskLike } from "./silo-task.js";
import type { RefreshTask, TaskOutcome } from "./silo-worker-types.js";
import { resultOutcome, type WireOutcome } from "./task-outcome.js";

/** A refresh outcome as the upstream client's `reportRefreshOutcome` takes it. */
export type RefreshOutcome = { type: "success"; newMaxConcurrency: number } | { type: "failure"; code: string; message: string };

/**
 * The calls a SiloWorker makes, shaped as the upstream client's public worker methods
 * (`leaseTasks`, `heartbeat`, `reportOutcome`, `reportRefreshOutcome`, `cancelJob`).
 */
export interface WorkerCalls {
  leaseTasks(request: { workerId: string; maxTasks: number; taskGroup: string }, serverIndex: number): Promise<{ tasks: WireTaskLike[]; refreshTasks: RefreshTask[] }>;
  heartbeat(workerId: string, taskId: string, shard: string, tenant: string | undefined): Promise<{ cancelled: boolean }>;
  reportOutcome(options: { taskId: string; shard: string; tenant: string | undefined; outcome: TaskOutcome }): Promise<void>;
  reportRefreshOutcome(options: { taskId: string; shard: string; tenant: string | undefined; outcome: RefreshOutcome }): Promise<void>;
  cancelJob(id: string, tenant?: string): Promise<void>;
}

/** What a SiloWorker cannot run without; the other two are needed only by refresh tasks and `ctx.cancel()`. */
const REQUIRED_METHODS = ["leaseTasks", "heartbeat", "reportOutcome"] as const;

/**
 * The worker calls of `client`: its public upstream-style worker methods when it has the required
 * ones (so any object with the upstream client's worker surface works, as upstream's SiloWorker
 * takes one), else the client's internal routed calls.
 */
export function workerCalls(client: unknown): WorkerCalls {
  const c = client as Record<string, unknown> | null;
  if (typeof c !== "object" || c === null) throw new SiloValidationError("client", "must be a SiloGRPCClient (new SiloGRPCClient({ servers }))");
  if (REQUIRED_METHODS.every((m) => typeof c[m] === "function")) return publicCalls(c);
  if (typeof c.callNode !== "function" || typeof c.callRouted !== "function" || typeof c.cancelJob !== "function") {
    throw new SiloValidationError("client", "must be a SiloGRPCClient (new SiloGRPCClient({ servers }))");
  }
  return internalCalls(c as unknown as SiloGRPCClient);
}

/**
 * Calls through the object's public worker methods. Each call reads the method from the object
 * when it is made (so a method replaced later is the one called); a missing optional one rejects
 * with a SiloValidationError naming it.
 */
function publicCalls(c: Record<string, unknown>): WorkerCalls {
  const call =
    (name: keyof WorkerCalls) =>
    (...args: unknown[]): Promise<never> => {
      const method = c[name];
      if (typeof method !== "function") return Promise.reject(new SiloValidationError("client", `has no ${name} method, which this task needs`));
      return (method as (...a: unknown[]) => Promise<never>).apply(c, args);
    };
  return {
    leaseTasks: call("leaseTasks"),
    heartbeat: call("heartbeat"),
    reportOutcome: call("reportOutcome"),
    reportRefreshOutcome: call("reportRefreshOutcome"),
    cancelJob: call("cancelJob"),
  };
}

function tenantField(tenant: string | undefined): { tenantId?: string } {
  return tenant !== undefined ? { tenantId: tenant } : {};
}

/** A refresh task as the upstream client maps it. */
export function refreshTaskFromWire(wire: RefreshFloatingLimitTask): RefreshTask {
  const task: RefreshTask = {
    id: wire.id,
    queueKey: wire.queueKey,
    currentMaxConcurrency: wire.currentMaxConcurrency,
    lastRefreshedAtMs: wire.lastRefreshedAtMs,
    metadata: { ...wire.metadata },
    leaseMs: wire.leaseMs,
    shard: wire.shard,
    taskGroup: wire.taskGroup,
  };
  if (wire.tenantId !== undefined) task.tenant = wire.tenantId;
  return task;
}

/**
 * The wire form of a handler's outcome: `data` of a failure is MessagePack-encoded unless it is
 * a Uint8Array, which is sent as it is (as upstream does).
 */
export function wireOutcome(outcome: TaskOutcome | unknown): WireOutcome {
  const o = outcome as { type?: unknown; code?: unknown; data?: unknown } | null;
  if (typeof o === "object" && o !== null && o.type === "failure" && typeof o.code === "string" && o.data instanceof Uint8Array) {
    return { case: "failure", value: { code: o.code, data: { encoding: { case: "msgpack", value: o.data } } } };
  }
  return resultOutcome(outcome);
}

function internalCalls(client: SiloGRPCClient): WorkerCalls {
  return {
    async leaseTasks(request, serverIndex) {
      const addresses = (await client.loadTopology()).addresses();
      if (addresses.length === 0) throw new SiloUnavailableError("LeaseTasks: the cluster topology lists no node yet");
      const address = addresses[serverIndex % addresses.length]!;
      try {
        const res = await client.callNode(address, "LeaseTasks", (rpc, attempt) => rpc.leaseTasks(request, attempt));
        return { tasks: res.tasks, refreshTasks: res.refreshTasks.map(refreshTaskFromWire) };
      } catch (err) {
        // The node may have left the cluster: the next poll should see the current nodes.
        if (toSiloError(err, "LeaseTasks").code === "SILO_UNAVAILABLE") await client.refreshTopology().catch(() => undefined);
        throw err;
      }
    },
    async heartbeat(workerId, taskId, shardId, tenant) {
      const res = await client.callRouted(
        "Heartbeat",
        { shardId },
        (rpc, shard, attempt) => rpc.heartbeat({ shard: shard.id, workerId, taskId, ...tenantField(tenant) }, attempt),
        undefined,
      );
      return { cancelled: res.cancelled };
    },
    async reportOutcome({ taskId, shard: shardId, tenant, outcome }) {
      const wire = wireOutcome(outcome);
      await client.callRouted(
        "ReportOutcome",
        { shardId },
        async (rpc, shard, attempt) => {
          await rpc.reportOutcome({ shard: shard.id, taskId, outcome: wire, ...tenantField(tenant) }, attempt);
        },
        undefined,
      );
    },
    async reportRefreshOutcome({ taskId, shard: shardId, tenant, outcome }) {
      const wire =
        outcome.type === "success"
          ? ({ case: "success", value: { newMaxConcurrency: outcome.newMaxConcurrency } } as const)
          : ({ case: "failure", value: { code: outcome.code, message: outcome.message } } as const);
      await client.callRouted(
        "ReportRefreshOutcome",
        { shardId },
        async (rpc, shard, attempt) => {
          await rpc.reportRefreshOutcome({ shard: shard.id, taskId, outcome: wire, ...tenantField(tenant) }, attempt);
        },
        undefined,
      );
    },
    cancelJob: (id, tenant) => client.cancelJob(id, tenant),
  };
}
