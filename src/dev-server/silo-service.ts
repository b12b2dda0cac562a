import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  JobAttemptSchema,
  RefreshFloatingLimitTaskSchema,
  SerializedBytesSchema,
  TaskSchema,
} from "../gen/silo/v1/silo_pb.js";
import { AttemptStatus, JobStatus, Silo } from "../gen/silo/v1/silo_pb.js";
import type { ClusterState } from "./cluster-state.js";
import { DEV_SERVER_HINT_HEADER, failedPrecondition, internal, invalidArgument, notFound, unavailable, unimplemented } from "./errors.js";
import { importJobs } from "./import-jobs.js";
import type { AttemptRecord, JobRecord, Lease, Outcome, RefreshLease, ShardStore } from "./job-store.js";
import { DEFAULT_TENANT, isTerminal, statusName } from "./job-store.js";
import { storedLimits } from "./limit-defaults.js";
import { msgpackBytes, validateMetadata } from "./request-values.js";
import { formatRange, rangeContainsTenant } from "./shard-ranges.js";
import { parseShardId } from "./shard-id.js";
import { createQueryHandler, type QueryOptions } from "./query/query-service.js";

/** Metadata names the stock server uses to point a client at a shard's owner. */
export const SHARD_OWNER_ADDR_HEADER = "x-silo-shard-owner-addr";
export const SHARD_OWNER_NODE_HEADER = "x-silo-shard-owner-node";

/** What one node's RPC handlers need from the dev server. */
export interface SiloServiceContext {
  readonly cluster: ClusterState;
  readonly stores: ReadonlyMap<string, ShardStore>;
  readonly tenancy: boolean;
  readonly leaseMs: number;
  readonly nodeIndex: number;
  /** The server clock, Unix ms. */
  readonly now: () => number;
  /** Clear every shard (ResetShards); returns how many were reset. */
  readonly resetShards: () => number;
  /** Limits of the Query RPC, defaults filled in. */
  readonly query: Required<QueryOptions>;
}

/** RPCs with real behaviour; every other method of `silo.v1.Silo` answers UNIMPLEMENTED. */
const IMPLEMENTED = new Set([
  "GetClusterInfo",
  "Enqueue",
  "GetJob",
  "GetJobResult",
  "CancelJob",
  "DeleteJob",
  "RestartJob",
  "ExpediteJob",
  "LeaseTask",
  "LeaseTasks",
  "Heartbeat",
  "ReportOutcome",
  "ReportRefreshOutcome",
  "ResetShards",
  "ImportJobs",
  "Query",
]);

/** Register the Silo service for one node on a connect router. */
export function registerSiloService(router: ConnectRouter, ctx: SiloServiceContext): void {
  router.service(Silo, createSiloHandlers(ctx));
  for (const method of Silo.methods) {
    // Replaces connect's generic "not implemented" stub (the adapter keeps the last handler per
    // path). `router.rpc` is overloaded per method kind; the handler matches it at runtime.
    if (!IMPLEMENTED.has(method.name)) router.rpc(method as DescMethod, unimplementedHandler(method) as never);
  }
}

function unimplementedHandler(method: DescMethod): unknown {
  const message = `${method.name} is not implemented by the silo-edge dev server`;
  if (method.methodKind === "server_streaming") {
    // A generator that throws before its first yield: the stream ends with UNIMPLEMENTED.
    return async function* notImplementedStream() {
      throw unimplemented(message);
    };
  }
  return function notImplemented() {
    throw unimplemented(message);
  };
}

function createSiloHandlers(ctx: SiloServiceContext): Partial<ServiceImpl<typeof Silo>> {
  const { cluster, tenancy, leaseMs } = ctx;
  const tick = (): number => ctx.now();

  /** The local store for a shard id, or the stock server's routing errors. */
  const localShard = (raw: string): ShardStore => {
    const id = parseShardId(raw);
    const shard = cluster.find(id);
    if (shard === undefined) throw notFound("shard not found");
    if (shard.owner !== ctx.nodeIndex) {
      const owner = cluster.node(shard.owner);
      throw notFound("shard not found", {
        [SHARD_OWNER_ADDR_HEADER]: cluster.addressOf(owner.index),
        [SHARD_OWNER_NODE_HEADER]: owner.nodeId,
      });
    }
    // The real server's text for a node still acquiring the shard (src/server.rs upstream).
    if (cluster.isPaused(id)) throw unavailable("shard not ready: acquisition in progress");
    const store = ctx.stores.get(id);
    if (store === undefined) throw internal(`shard ${id} has no store`);
    return store;
  };

  // The stock server's messages, plus metadata naming the dev-server flag for the other mode: a
  // client's use of tenants must match the server's mode, and a newcomer's first mismatch should
  // say how. The message itself stays exact (ImportJobs embeds it in per-job results too).
  const tenancyOnHint = { [DEV_SERVER_HINT_HEADER]: "the dev server runs with --tenancy: send a tenant, or restart it without --tenancy" };
  const tenancyOffHint = { [DEV_SERVER_HINT_HEADER]: "the dev server runs without --tenancy: send no tenant, or restart it with --tenancy" };

  const validateTenant = (tenant: string | undefined): string => {
    const present = tenant === undefined || tenant === "" ? undefined : tenant;
    if (tenancy) {
      if (present === undefined) throw invalidArgument("tenant id required", tenancyOnHint);
      if ([...present].length > 64) throw invalidArgument("invalid tenant id");
      return present;
    }
    if (present !== undefined) {
      throw failedPrecondition("tenant must not be provided when tenancy is disabled on the server", tenancyOffHint);
    }
    return DEFAULT_TENANT;
  };

  /** With tenancy, the tenant must hash into the shard's range (src/server.rs upstream). */
  const checkTenantInRange = (shardId: string, tenant: string): void => {
    if (!tenancy) return;
    const shard = cluster.find(shardId);
    if (shard !== undefined && !rangeContainsTenant(shard.range, tenant)) {
      throw failedPrecondition(
        `tenant '${tenant}' is not within shard ${shard.id} range ${formatRange(shard.range)}; refresh topology and retry`,
      );
    }
  };

  /** Shard lookup, tenant validation and range check, in the stock server's order. */
  const resolve = (rawShard: string, tenant: string | undefined): { store: ShardStore; tenant: string } => {
    const store = localShard(rawShard);
    const t = validateTenant(tenant);
    checkTenantInRange(store.shardId, t);
    return { store, tenant: t };
  };

  /**
   * Worker RPCs: with tenancy, `tenant_id` is required and must lie in the shard's range; it is
   * never matched against the lease's tenant. Without tenancy it is ignored (src/server.rs).
   */
  const checkWorkerTenant = (store: ShardStore, tenantId: string | undefined): void => {
    if (!tenancy) return;
    if (tenantId === undefined || tenantId === "") {
      throw invalidArgument("tenant_id is required for worker operations when tenancy is enabled", tenancyOnHint);
    }
    checkTenantInRange(store.shardId, tenantId);
  };

  const query = createQueryHandler({ localShard, tick, options: ctx.query });

  return {
    query,

    getClusterInfo() {
      const self = cluster.node(ctx.nodeIndex);
      return {
        numShards: cluster.shardIds().length,
        shardOwners: cluster.shards().map((s) => {
          const owner = cluster.node(s.nodeIndex);
          return {
            shardId: s.id,
            grpcAddr: cluster.addressOf(owner.index),
            nodeId: owner.nodeId,
            rangeStart: s.rangeStart,
            rangeEnd: s.rangeEnd,
          };
        }),
        thisNodeId: self.nodeId,
        thisGrpcAddr: cluster.addressOf(self.index),
        members: cluster.nodes.map((n) => ({ nodeId: n.nodeId, grpcAddr: cluster.addressOf(n.index), placementRings: [] })),
      };
    },

    enqueue(req) {
      const now = tick();
      const { store, tenant } = resolve(req.shard, req.tenant);
      if (req.priority > 99) throw invalidArgument("priority must be between 0 and 99");
      validateMetadata(req.metadata);
      if (req.taskGroup === "") throw invalidArgument("task_group is required");
      if ([...req.taskGroup].length > 64) throw invalidArgument("task_group too long (must be <= 64 chars)");
      const id = store.enqueue(
        {
          id: req.id,
          tenant,
          priority: req.priority,
          startAtMs: Number(req.startAtMs),
          retryPolicy: req.retryPolicy,
          payload: msgpackBytes(req.payload),
          limits: storedLimits(req.limits),
          metadata: { ...req.metadata },
          taskGroup: req.taskGroup,
        },
        now,
      );
      return { id };
    },

    getJob(req) {
      const { store, tenant } = resolve(req.shard, req.tenant);
      const job = store.get(tenant, req.id);
      const succeeded = [...job.attempts].reverse().find((a) => a.status === AttemptStatus.SUCCEEDED);
      return {
        id: job.id,
        priority: job.priority,
        enqueueTimeMs: BigInt(job.enqueueTimeMs),
        payload: msgpack(job.payload),
        retryPolicy: job.retryPolicy,
        limits: job.limits,
        metadata: job.metadata,
        status: job.status,
        statusChangedAtMs: BigInt(job.statusChangedAtMs),
        attempts: req.includeAttempts ? job.attempts.map((a) => attemptToProto(job, a)) : [],
        // Kept on a job cancelled while scheduled, as the server keeps its scheduling fields.
        nextAttemptStartsAfterMs: job.nextAttemptAtMs === undefined ? undefined : BigInt(job.nextAttemptAtMs),
        taskGroup: job.taskGroup,
        result: job.status === JobStatus.SUCCEEDED ? msgpack(succeeded?.result ?? new Uint8Array()) : undefined,
      };
    },

    getJobResult(req) {
      const { store, tenant } = resolve(req.shard, req.tenant);
      const job = store.get(tenant, req.id);
      if (!isTerminal(job.status)) {
        throw failedPrecondition(`job is not complete: status is ${statusName(job.status)}`);
      }
      // Built from the latest attempt, not the job status (src/server.rs upstream).
      const last = job.attempts[job.attempts.length - 1];
      if (last === undefined) {
        const at = BigInt(job.statusChangedAtMs);
        return { id: job.id, status: JobStatus.CANCELLED, finishedAtMs: at, result: { case: "cancelled", value: { cancelledAtMs: at } } };
      }
      const finishedAtMs = BigInt(last.finishedAtMs ?? 0);
      switch (last.status) {
        case AttemptStatus.SUCCEEDED:
          return { id: job.id, status: JobStatus.SUCCEEDED, finishedAtMs, result: { case: "successData", value: msgpack(last.result ?? new Uint8Array()) } };
        case AttemptStatus.FAILED:
          return {
            id: job.id,
            status: JobStatus.FAILED,
            finishedAtMs,
            result: { case: "failure", value: { errorCode: last.errorCode ?? "", errorData: msgpack(last.errorData ?? new Uint8Array()) } },
          };
        default:
          return { id: job.id, status: JobStatus.CANCELLED, finishedAtMs, result: { case: "cancelled", value: { cancelledAtMs: finishedAtMs } } };
      }
    },

    cancelJob(req) {
      const now = tick();
      const { store, tenant } = resolve(req.shard, req.tenant);
      store.cancel(tenant, req.id, now);
      return {};
    },

    deleteJob(req) {
      const { store, tenant } = resolve(req.shard, req.tenant);
      store.delete(tenant, req.id);
      return {};
    },

    restartJob(req) {
      const now = tick();
      const { store, tenant } = resolve(req.shard, req.tenant);
      store.restart(tenant, req.id, now);
      return {};
    },

    expediteJob(req) {
      const now = tick();
      const { store, tenant } = resolve(req.shard, req.tenant);
      store.expedite(tenant, req.id, now);
      return {};
    },

    leaseTask(req) {
      const now = tick();
      const { store, tenant } = resolve(req.shard, req.tenant);
      if (req.workerId === "") throw invalidArgument("worker_id is required");
      const lease = store.leaseJob(tenant, req.id, req.workerId, now);
      return { task: taskToProto(lease, store.shardId, leaseMs) };
    },

    leaseTasks(req) {
      const now = tick();
      if (req.taskGroup === "") throw invalidArgument("task_group is required");
      const stores =
        req.shard !== undefined
          ? [localShard(req.shard)]
          : shuffle(
              cluster
                .ownedBy(ctx.nodeIndex)
                .filter((id) => !cluster.isPaused(id))
                .flatMap((id) => ctx.stores.get(id) ?? []),
            );
      const tasks: MessageInitShape<typeof TaskSchema>[] = [];
      const refreshTasks: MessageInitShape<typeof RefreshFloatingLimitTaskSchema>[] = [];
      let remaining = req.maxTasks;
      for (const store of stores) {
        if (remaining === 0) break;
        const { leases, refreshes } = store.leaseTasks(req.taskGroup, req.workerId, remaining, now);
        for (const lease of leases) tasks.push(taskToProto(lease, store.shardId, leaseMs));
        for (const refresh of refreshes) refreshTasks.push(refreshToProto(refresh, store.shardId, leaseMs));
        remaining -= leases.length;
      }
      return { tasks, refreshTasks };
    },

    heartbeat(req) {
      const now = tick();
      const store = localShard(req.shard);
      checkWorkerTenant(store, req.tenantId);
      const result = store.heartbeat(req.workerId, req.taskId, now);
      return {
        cancelled: result.cancelled,
        cancelledAtMs: result.cancelledAtMs === undefined ? undefined : BigInt(result.cancelledAtMs),
      };
    },

    reportOutcome(req) {
      const now = tick();
      const store = localShard(req.shard);
      checkWorkerTenant(store, req.tenantId);
      let outcome: Outcome;
      switch (req.outcome.case) {
        case "success":
          outcome = { kind: "success", result: msgpackBytes(req.outcome.value) };
          break;
        case "failure":
          outcome = { kind: "failure", code: req.outcome.value.code, data: msgpackBytes(req.outcome.value.data) };
          break;
        case "cancelled":
          outcome = { kind: "cancelled" };
          break;
        default:
          throw invalidArgument("missing outcome");
      }
      store.report(req.taskId, outcome, now, req.tenantId !== undefined && req.tenantId !== "");
      return {};
    },

    reportRefreshOutcome(req) {
      const now = tick();
      const store = localShard(req.shard);
      checkWorkerTenant(store, req.tenantId);
      if (req.outcome.case === undefined) throw invalidArgument("missing outcome");
      store.reportRefresh(req.taskId, req.outcome.case === "success" ? req.outcome.value.newMaxConcurrency : undefined, now);
      return {};
    },

    importJobs(req) {
      return importJobs(req, {
        now: tick(),
        localShard,
        validateTenant,
        checkTenantInRange,
      });
    },

    resetShards() {
      return { shardsReset: ctx.resetShards() };
    },
  };
}

function msgpack(value: Uint8Array): MessageInitShape<typeof SerializedBytesSchema> {
  return { encoding: { case: "msgpack", value } };
}

function attemptToProto(job: JobRecord, a: AttemptRecord): MessageInitShape<typeof JobAttemptSchema> {
  return {
    jobId: job.id,
    attemptNumber: a.attemptNumber,
    taskId: a.taskId,
    status: a.status,
    startedAtMs: BigInt(a.startedAtMs),
    finishedAtMs: a.finishedAtMs === undefined ? undefined : BigInt(a.finishedAtMs),
    result: a.result === undefined ? undefined : msgpack(a.result),
    errorCode: a.errorCode,
    errorData: a.errorData === undefined ? undefined : msgpack(a.errorData),
  };
}

function taskToProto(lease: Lease, shardId: string, leaseMs: number): MessageInitShape<typeof TaskSchema> {
  const job = lease.job;
  const relative = lease.relativeAttemptNumber;
  const maxAttempts = (job.retryPolicy?.retryCount ?? 0) + 1;
  return {
    id: lease.taskId,
    jobId: job.id,
    tenantId: job.tenant === DEFAULT_TENANT ? undefined : job.tenant,
    attemptNumber: lease.attemptNumber,
    relativeAttemptNumber: relative,
    isLastAttempt: relative >= maxAttempts,
    metadata: job.metadata,
    limits: job.limits,
    payload: msgpack(job.payload),
    priority: job.priority,
    shard: shardId,
    taskGroup: job.taskGroup,
    leaseMs: BigInt(leaseMs),
  };
}

function refreshToProto(
  lease: RefreshLease,
  shardId: string,
  leaseMs: number,
): MessageInitShape<typeof RefreshFloatingLimitTaskSchema> {
  return {
    id: lease.taskId,
    queueKey: lease.snapshot.queueKey,
    currentMaxConcurrency: lease.snapshot.currentMaxConcurrency,
    lastRefreshedAtMs: BigInt(lease.snapshot.lastRefreshedAtMs),
    metadata: lease.snapshot.metadata,
    leaseMs: BigInt(leaseMs),
    shard: shardId,
    taskGroup: lease.taskGroup,
    tenantId: lease.tenant === DEFAULT_TENANT ? undefined : lease.tenant,
  };
}

/** Poll order across shards is shuffled, as on the stock server, so no shard starves. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}
