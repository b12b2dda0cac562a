import { toSiloError } from "../core/errors.js";
import type { SiloGRPCClient } from "../core/silo-client.js";
import { checkLeasedTasks } from "./leased-task-check.js";
import type { TaskPool } from "./task-pool.js";
import type { WorkerErrorHandler } from "./task-context.js";

export interface LeaseRoundOptions {
  client: SiloGRPCClient;
  pool: TaskPool;
  workerId: string;
  taskGroup: string;
  onError: WorkerErrorHandler;
  /** Checked before each node; false stops the round (stop(), a drain's budget). */
  mayLease: () => boolean;
}

/** What one pass over the nodes found. */
export interface LeaseRoundResult {
  /** Attempts leased (and started). */
  leased: number;
  /** Floating-limit refreshes leased. */
  refreshes: number;
  /** LeaseTasks calls made. */
  asked: number;
  /** True when every node was asked with free slots (so nothing leased means the queue is empty). */
  askedEveryNode: boolean;
  /** Nodes whose LeaseTasks call failed. */
  failedNodes: number;
}

/**
 * Asks each node, starting at `first` and wrapping around, for as many tasks as there are free
 * slots, and starts them. Nodes are asked one after another so the total never exceeds the
 * concurrency.
 */
export async function leaseRound(addresses: readonly string[], first: number, options: LeaseRoundOptions): Promise<LeaseRoundResult> {
  const { client, pool, workerId, taskGroup, onError, mayLease } = options;
  const result: LeaseRoundResult = { leased: 0, refreshes: 0, asked: 0, askedEveryNode: true, failedNodes: 0 };
  if (addresses.length === 0) result.askedEveryNode = false;
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[(first + i) % addresses.length]!;
    const maxTasks = pool.free;
    if (maxTasks === 0 || !mayLease()) {
      result.askedEveryNode = false;
      break;
    }
    const requestedAt = Date.now();
    result.asked++;
    try {
      const res = await client.callNode(address, "LeaseTasks", (rpc, attempt) => rpc.leaseTasks({ workerId, maxTasks, taskGroup }, attempt));
      // Never more than asked for, never another group's: see leased-task-check.ts.
      const lease = checkLeasedTasks(address, taskGroup, maxTasks, res.tasks, res.refreshTasks);
      if (lease.error) onError({ error: lease.error, phase: "lease", address });
      for (const task of lease.run) pool.run(task, requestedAt);
      for (const refresh of lease.refreshes) pool.refresh(refresh);
      result.leased += lease.run.length;
      result.refreshes += lease.refreshes.length;
    } catch (err) {
      result.failedNodes++;
      onError({ error: toSiloError(err, `LeaseTasks at ${address}`), phase: "lease", address });
    }
  }
  return result;
}
