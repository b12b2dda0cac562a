import type { SiloGRPCClient } from "../core/silo-client.js";
import type { LeaseTasksResponse } from "../gen/silo/v1/silo_pb.js";
import type { RefreshTask, TaskOutcome } from "./silo-worker-types.js";
import { resultOutcome, type WireOutcome } from "./task-outcome.js";

// The worker RPCs of a SiloWorker, over the client's internal routed and per-node calls.

type Tenant = string | undefined;

function tenantField(tenant: Tenant): { tenantId?: string } {
  return tenant !== undefined ? { tenantId: tenant } : {};
}

/** LeaseTasks at one node, for every shard it owns. */
export function leaseTasksAt(
  client: SiloGRPCClient,
  address: string,
  request: { workerId: string; maxTasks: number; taskGroup: string },
): Promise<LeaseTasksResponse> {
  return client.callNode(address, "LeaseTasks", (rpc, attempt) => rpc.leaseTasks(request, attempt));
}

/** Heartbeat to the task's shard owner; resolves to whether the job was cancelled. */
export async function heartbeatTask(client: SiloGRPCClient, workerId: string, taskId: string, shardId: string, tenant: Tenant): Promise<boolean> {
  const res = await client.callRouted(
    "Heartbeat",
    { shardId },
    (rpc, shard, attempt) => rpc.heartbeat({ shard: shard.id, workerId, taskId, ...tenantField(tenant) }, attempt),
    undefined,
  );
  return res.cancelled;
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

/** ReportOutcome to the task's shard owner. */
export async function reportTaskOutcome(client: SiloGRPCClient, taskId: string, shardId: string, tenant: Tenant, outcome: WireOutcome): Promise<void> {
  await client.callRouted(
    "ReportOutcome",
    { shardId },
    async (rpc, shard, attempt) => {
      await rpc.reportOutcome({ shard: shard.id, taskId, outcome, ...tenantField(tenant) }, attempt);
    },
    undefined,
  );
}

/** ReportRefreshOutcome to the task's shard owner. */
export async function reportRefreshOutcome(
  client: SiloGRPCClient,
  task: RefreshTask,
  outcome: { case: "success"; value: { newMaxConcurrency: number } } | { case: "failure"; value: { code: string; message: string } },
): Promise<void> {
  await client.callRouted(
    "ReportRefreshOutcome",
    { shardId: task.shard },
    async (rpc, shard, attempt) => {
      await rpc.reportRefreshOutcome({ shard: shard.id, taskId: task.id, outcome, ...tenantField(task.tenant) }, attempt);
    },
    undefined,
  );
}
