import type { CallOptions, SiloGRPCClientOptions } from "./client-options.js";
import { SiloError, SiloValidationError, isConnectivityError, type ErrorSubject } from "./errors.js";
import { abortableSleep } from "./abortable-sleep.js";
import { importJobs, type ImportJobOptions, type ImportJobResult } from "./import-jobs.js";
import { encodePayload } from "./payload-codec.js";
import { runQuery, type QueryBindParameter, type QueryResult } from "./query.js";
import { createSiloRpc, type SiloRpc } from "./silo-rpc.js";
import { SiloJobClient } from "./job-client-protocols.js";
import { type AttemptOptions, DEFAULTS, jobClientInternals } from "./silo-job-client.js";
import { forgetTopology, markTopologyStale, peekTopology } from "./topology-cache.js";
import type { ShardRoute } from "./topology.js";
import { refreshTaskFromWire, rawTaskFromWire } from "./task-view.js";
import type {
  HeartbeatResult,
  LeaseTaskOptions,
  LeaseTasksOptions,
  LeaseTasksResult,
  RawTask,
  ReportOutcomeOptions,
  ReportRefreshOutcomeOptions,
} from "./task-types.js";
import { checkInt, checkJobId, checkKnownKeys, checkName, checkObject, checkTenant } from "./validation.js";

/** The RPCs of one node: the generated Connect client's methods, on the hand-written codec. */
export type SiloRpcClient = SiloRpc;

/**
 * The Silo client: the API of Silo's enqueueing guide, the worker-side calls and the rest of the
 * upstream client's surface, made for serverless and edge runtimes. It is `SiloJobClient` (the
 * application side: enqueue and look after jobs) plus the worker, import, query and admin
 * methods. The constructor does no I/O; the first call learns the cluster topology once (shared
 * by every client for the same servers) and routes each tenant to its shard's node.
 */
export class SiloGRPCClient extends SiloJobClient {
  /** Round-robin position of `leaseTasks` without a shard. */
  #nextServer = 0;

  constructor(options: SiloGRPCClientOptions) {
    super(options);
    jobClientInternals(this).extend("SiloGRPCClient", "all", createSiloRpc);
  }

  /**
   * Imports jobs from another system with their finished attempts; one result per job, in input
   * order (see `import-jobs.ts`). Bad input throws `SiloValidationError` before any call.
   */
  importJobs(jobs: ImportJobOptions[], callOptions?: CallOptions): Promise<ImportJobResult[]> {
    return importJobs(this, jobs, callOptions);
  }

  /**
   * Runs read-only SQL over the jobs, tasks and queues of the shard owning `tenant` (the default
   * tenant's shard without one). The SQL sees every tenant on that shard: scope it with
   * `WHERE tenant = $1`. `parameters` bind `$1`, `$2`, ... in order.
   */
  query<Row = Record<string, unknown>>(sql: string, tenant?: string, parameters?: QueryBindParameter[], options?: CallOptions): Promise<QueryResult<Row>> {
    return runQuery<Row>(this, sql, tenant, parameters, options);
  }

  // ---------------------------------------------------------------------------------------------
  // Worker-side calls, with the upstream client's signatures

  /**
   * Leases one named job's next attempt directly (a test helper: the job's limits are skipped).
   * `JobNotFoundError` for an unknown id, `SiloFailedPreconditionError` when it is not leasable.
   */
  async leaseTask(options: LeaseTaskOptions, callOptions?: CallOptions): Promise<RawTask> {
    const o = checkObject("options", options);
    checkKnownKeys("", o, ["id", "workerId", "tenant"]);
    const id = checkJobId("id", o.id);
    const workerId = checkString("workerId", o.workerId, true);
    const tenant = checkTenant("tenant", o.tenant);
    const res = await this.callRouted(
      "LeaseTask",
      { tenant, jobId: id },
      (rpc, shard, a) => rpc.leaseTask({ shard: shard.id, id, workerId, ...(tenant !== undefined ? { tenant } : {}) }, a),
      callOptions,
    );
    if (!res.task) throw new SiloError("SILO_INTERNAL", `LeaseTask: the server answered without a task for job ${id}`);
    return rawTaskFromWire(res.task);
  }

  /**
   * Leases up to `maxTasks` tasks of a task group. With `shard`, from that shard's owner;
   * without, from one node picked round-robin (or by `serverIndex`), which visits every shard it
   * holds. Tasks come raw (payload as MessagePack bytes); refresh tasks come mapped.
   */
  async leaseTasks(options: LeaseTasksOptions, serverIndex?: number, callOptions?: CallOptions): Promise<LeaseTasksResult> {
    const o = checkObject("options", options);
    checkKnownKeys("", o, ["workerId", "maxTasks", "taskGroup", "shard"]);
    const workerId = checkString("workerId", o.workerId, true);
    const maxTasks = checkInt("maxTasks", o.maxTasks, 0, 2 ** 32 - 1);
    const taskGroup = checkName("taskGroup", o.taskGroup);
    const shard = o.shard === undefined ? undefined : checkName("shard", o.shard);
    if (serverIndex !== undefined) checkInt("serverIndex", serverIndex, 0, Number.MAX_SAFE_INTEGER);
    const toResult = (res: { tasks: Parameters<typeof rawTaskFromWire>[0][]; refreshTasks: Parameters<typeof refreshTaskFromWire>[0][] }): LeaseTasksResult => ({
      tasks: res.tasks.map(rawTaskFromWire),
      refreshTasks: res.refreshTasks.map(refreshTaskFromWire),
    });
    if (shard !== undefined) {
      return toResult(await this.callRouted("LeaseTasks", { shardId: shard }, (rpc, s, a) => rpc.leaseTasks({ shard: s.id, workerId, maxTasks, taskGroup }, a), callOptions));
    }
    const internals = jobClientInternals(this);
    for (let attempt = 0; ; attempt++) {
      const topology = await this.loadTopology().catch(() => undefined);
      const nodes = topology?.addresses() ?? [];
      const candidates = nodes.length > 0 ? nodes : [...internals.servers];
      const index = serverIndex ?? this.#nextServer++;
      const address = candidates[index % candidates.length]!;
      try {
        return toResult(await this.callNode(address, "LeaseTasks", (rpc, a) => rpc.leaseTasks({ workerId, maxTasks, taskGroup }, a), callOptions));
      } catch (err) {
        if (attempt >= internals.maxRetries || !isConnectivityError(err)) throw err;
        markTopologyStale(internals.source.key);
        await this.refreshTopology().catch(() => undefined);
        await abortableSleep(Math.min(DEFAULTS.maxRetryDelayMs, internals.retryDelayMs * 2 ** attempt), callOptions?.signal ?? new AbortController().signal);
      }
    }
  }

  /**
   * Reports an attempt's outcome to the shard it came from. Success sends `result` as
   * MessagePack; failure sends `code` and `data` (raw when a `Uint8Array`); cancelled sends
   * nothing else. `TaskNotFoundError` when the lease is gone.
   */
  async reportOutcome(options: ReportOutcomeOptions, callOptions?: CallOptions): Promise<void> {
    const o = checkObject("options", options);
    checkKnownKeys("", o, ["taskId", "shard", "outcome", "tenant"]);
    const taskId = checkName("taskId", o.taskId);
    const shardId = checkName("shard", o.shard);
    const tenant = checkTenant("tenant", o.tenant);
    const outcome = outcomeToWire(o.outcome);
    await this.callRouted(
      "ReportOutcome",
      { shardId, taskId },
      async (rpc, shard, a) => {
        await rpc.reportOutcome({ shard: shard.id, taskId, outcome, ...(tenant !== undefined ? { tenantId: tenant } : {}) }, a);
        return true;
      },
      callOptions,
    );
  }

  /** Reports a floating-limit refresh: the new maximum, or a failure the server backs off from. */
  async reportRefreshOutcome(options: ReportRefreshOutcomeOptions, callOptions?: CallOptions): Promise<void> {
    const o = checkObject("options", options);
    checkKnownKeys("", o, ["taskId", "shard", "outcome", "tenant"]);
    const taskId = checkName("taskId", o.taskId);
    const shardId = checkName("shard", o.shard);
    const tenant = checkTenant("tenant", o.tenant);
    const v = checkObject("outcome", o.outcome);
    let outcome: { case: "success"; value: { newMaxConcurrency: number } } | { case: "failure"; value: { code: string; message: string } };
    if (v.type === "success") {
      checkKnownKeys("outcome", v, ["type", "newMaxConcurrency"]);
      outcome = { case: "success", value: { newMaxConcurrency: checkInt("outcome.newMaxConcurrency", v.newMaxConcurrency, 0, 2 ** 32 - 1) } };
    } else if (v.type === "failure") {
      checkKnownKeys("outcome", v, ["type", "code", "message"]);
      if (typeof v.message !== "string") throw new SiloValidationError("outcome.message", "must be a string");
      outcome = { case: "failure", value: { code: checkString("outcome.code", v.code), message: v.message } };
    } else {
      throw new SiloValidationError("outcome.type", `must be "success" or "failure", got ${JSON.stringify(v.type)}`);
    }
    await this.callRouted(
      "ReportRefreshOutcome",
      { shardId, taskId },
      async (rpc, shard, a) => {
        await rpc.reportRefreshOutcome({ shard: shard.id, taskId, outcome, ...(tenant !== undefined ? { tenantId: tenant } : {}) }, a);
        return true;
      },
      callOptions,
    );
  }

  /**
   * Renews a task's lease (for 10 s on the stock server) and says whether its job was cancelled.
   * `TaskNotFoundError` when the lease is gone.
   */
  async heartbeat(workerId: string, taskId: string, shard: string, tenant?: string, callOptions?: CallOptions): Promise<HeartbeatResult> {
    checkString("workerId", workerId, true);
    checkName("taskId", taskId);
    checkName("shard", shard);
    checkTenant("tenant", tenant);
    const res = await this.callRouted(
      "Heartbeat",
      { shardId: shard, taskId },
      (rpc, s, a) => rpc.heartbeat({ shard: s.id, workerId, taskId, ...(tenant !== undefined ? { tenantId: tenant } : {}) }, a),
      callOptions,
    );
    return { cancelled: res.cancelled, ...(res.cancelledAtMs !== undefined ? { cancelledAtMs: res.cancelledAtMs } : {}) };
  }

  // ---------------------------------------------------------------------------------------------
  // Administration

  /**
   * Wipes every shard of every node (dev mode only; `SiloPermissionDeniedError` otherwise), then
   * forgets the topology so the next call learns it again.
   */
  async resetShards(callOptions?: CallOptions): Promise<void> {
    const { source, servers } = jobClientInternals(this);
    const topology = peekTopology(source);
    const nodes = topology?.addresses() ?? [];
    for (const address of nodes.length > 0 ? nodes : servers) {
      await this.callNode(address, "ResetShards", (rpc, a) => rpc.resetShards({}, a), callOptions);
    }
    forgetTopology(source.key);
  }
}

// The routed-call helpers of SiloJobClient, typed with every RPC (this class builds them all).
export interface SiloGRPCClient {
  callRouted<T>(
    op: string,
    route: { tenant?: string | undefined; shardId?: string } & ErrorSubject,
    fn: (rpc: SiloRpcClient, shard: ShardRoute, attempt: AttemptOptions) => Promise<T>,
    givenCallOptions: CallOptions | undefined,
    onRetryError?: (err: SiloError) => T | undefined,
  ): Promise<T>;
  callNode<T>(address: string, op: string, fn: (rpc: SiloRpcClient, attempt: AttemptOptions) => Promise<T>, givenCallOptions?: CallOptions): Promise<T>;
}

function checkString(field: string, value: unknown, nonEmpty = false): string {
  if (typeof value !== "string") throw new SiloValidationError(field, "must be a string");
  if (nonEmpty && value === "") throw new SiloValidationError(field, "must not be empty");
  return value;
}

/** A task outcome in the wire codec's shape. */
function outcomeToWire(value: unknown):
  | { case: "success"; value: { encoding: { case: "msgpack"; value: Uint8Array } } }
  | { case: "failure"; value: { code: string; data: { encoding: { case: "msgpack"; value: Uint8Array } } } }
  | { case: "cancelled"; value: Record<string, never> } {
  const v = checkObject("outcome", value);
  switch (v.type) {
    case "success":
      checkKnownKeys("outcome", v, ["type", "result"]);
      return { case: "success", value: { encoding: { case: "msgpack", value: encodePayload(v.result, "outcome.result") } } };
    case "failure": {
      checkKnownKeys("outcome", v, ["type", "code", "data"]);
      const data = v.data instanceof Uint8Array ? v.data : encodePayload(v.data, "outcome.data");
      return { case: "failure", value: { code: checkString("outcome.code", v.code), data: { encoding: { case: "msgpack", value: data } } } };
    }
    case "cancelled":
      checkKnownKeys("outcome", v, ["type"]);
      return { case: "cancelled", value: {} };
    default:
      throw new SiloValidationError("outcome.type", `must be "success", "failure" or "cancelled", got ${JSON.stringify(v.type)}`);
  }
}

/** A shorter name for `SiloGRPCClient`. */
export const SiloClient = SiloGRPCClient;
export type SiloClient = SiloGRPCClient;
