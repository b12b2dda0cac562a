import { createContextValues } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { ShardInfo } from "./cluster-state.js";
import { ClusterState } from "./cluster-state.js";
import { createAuthInterceptor } from "./auth.js";
import { ShardStore } from "./job-store.js";
import { createCountingGubernator, createMissingGubernator } from "./gubernator.js";
import type { NodeFault } from "./node-interceptors.js";
import {
  createCountingInterceptor,
  createFaultInterceptor,
  createSafetyInterceptor,
  nodeRequestKey,
} from "./node-interceptors.js";
import { withTonicGrpcMessage } from "./grpc-message.js";
import { NodeListener } from "./node-listener.js";
import { exposureWarning } from "./exposure-warning.js";
import { createNodeConnectHandler } from "./node-connect-handler.js";
import { withRequestGuard } from "./request-guard.js";
import { registerSiloService } from "./silo-service.js";
import { resolveQueryOptions, type QueryOptions } from "./query/query-service.js";

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /**
   * Interface every node binds. Default `"127.0.0.1"`. Any non-loopback address without `token`
   * prints a warning (console.warn): the dev server is not for production.
   */
  host?: string;
  /** Port of node 0; node i listens on `port + i`. `0` gives every node its own free port. Default `7450`. */
  port?: number;
  /** Number of nodes, each on its own port. Default `1`. */
  nodes?: number;
  /** Number of shards, with the real server's initial hash ranges, spread round-robin over the nodes. Default `1`. */
  shards?: number;
  /** Require a tenant on every job RPC (and `tenant_id` on worker RPCs), like a server with tenancy enabled. Default `false`. */
  tenancy?: boolean;
  /** Shared secret; when set every RPC must carry `authorization: Bearer <token>`. Default: no auth. */
  token?: string;
  /**
   * Lease length handed to workers (the real server's is always 10,000 ms); an attempt not
   * heartbeated within it fails with WORKER_CRASHED at the next reaper sweep. Default `10000`.
   */
  leaseMs?: number;
  /**
   * How often the reaper expires leases, in ms, like the real server's 1 s sweep. `0` turns the
   * timer off: leases then expire only when a test calls {@link DevServer.reap}. Default `1000`.
   */
  reaperIntervalMs?: number;
  /**
   * The server clock, Unix ms. Tests pass a clock they move by hand to see 2-60 s behaviours
   * (backoff, leases, refresh backoff) without sleeping. Default `Date.now`.
   */
  clock?: () => number;
  /**
   * Where rate-limit decisions come from. `"built-in"`: a stand-in with the semantics of the mock
   * the real server's tests use (hits counted per name + unique_key, under the limit while the
   * total is <= limit, reset_time = now + duration_ms, totals never reset by time). `"none"`: a
   * server started without Gubernator; every check fails and rate-limited jobs never run.
   * Default `"built-in"`.
   */
  gubernator?: "built-in" | "none";
  /** Largest request message accepted; bigger get RESOURCE_EXHAUSTED. Default 128 MiB, as the real server. */
  maxBodyBytes?: number;
  /** Receives one-line log messages. Default: silent. */
  log?: (line: string) => void;
  /** Limits of the Query RPC (statement timeout, concurrent statements per shard, result size). Default: the stock server's. */
  query?: QueryOptions;
  /** Test hook: sees every RPC's method name and request headers, before auth. Default: none. */
  onRequest?: (call: { node: number; method: string; headers: Headers }) => void;
}

/** A running dev server and its test hooks. */
export interface DevServer {
  /** `host:port` of each node, by node index. */
  readonly addresses: string[];
  /** Stop every node and its timers. Safe to call twice. */
  close(): Promise<void>;
  /** The shard map: id, hash range and owning node of every shard. */
  shards(): ShardInfo[];
  /** Give a shard to another node; the old owner then redirects with `x-silo-shard-owner-*` metadata. */
  moveShard(shardId: string, toNode: number): void;
  /**
   * Make a shard answer UNAVAILABLE on its owner (as a node that is acquiring a shard, or a shard
   * paused for a split, does), or with `false` serve it again. Leasing without a shard skips it.
   */
  pauseShard(shardId: string, paused?: boolean): void;
  /** Close one node's listener and break its open connections. Its jobs stay in memory. */
  stopNode(node: number): Promise<void>;
  /** Listen again on the node's previous port. */
  startNode(node: number): Promise<void>;
  /** RPCs received, by method name, for one node or summed over all nodes. */
  rpcCounts(node?: number): Record<string, number>;
  /** Zero the RPC counts of every node. */
  resetRpcCounts(): void;
  /** Inject a fault into a node (see {@link NodeFault}); `null` clears it. */
  setFault(node: number, fault: NodeFault | null): void;
  /** Number of jobs stored across all shards. */
  jobCount(): number;
  /** Ids of all stored jobs across all shards. */
  jobIds(): string[];
  /** Ids of the jobs stored on one shard. */
  jobsOnShard(shardId: string): string[];
  /** Run one reaper sweep now (expire every lease whose expiry is at or before the clock). */
  reap(): void;
}

interface NodeRuntime {
  readonly listener: NodeListener;
  readonly counts: Map<string, number>;
  fault: NodeFault | null;
}

const DEFAULT_PORT = 7450;
const DEFAULT_LEASE_MS = 10_000;
/** The real server's message limit in both directions (src/lib.rs upstream). */
const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;
/** The real server's reaper sweeps every shard once a second (src/server.rs upstream). */
const DEFAULT_REAPER_INTERVAL_MS = 1_000;

/** Start an in-memory, Silo-compatible server with one or more nodes. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const {
    host = "127.0.0.1",
    port = DEFAULT_PORT,
    nodes: nodeCount = 1,
    shards: shardCount = 1,
    tenancy = false,
    token,
    leaseMs = DEFAULT_LEASE_MS,
    reaperIntervalMs = DEFAULT_REAPER_INTERVAL_MS,
    clock = Date.now,
    gubernator: gubernatorMode = "built-in",
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    log = () => undefined,
    onRequest,
  } = options;
  validateOptions({ port, nodeCount, shardCount, leaseMs, maxBodyBytes, token, reaperIntervalMs, clock, gubernatorMode });
  const query = resolveQueryOptions(options.query);

  const cluster = new ClusterState(nodeCount, shardCount, host);
  // Gubernator is a cluster-wide service: one source shared by every shard.
  const gubernator = gubernatorMode === "none" ? createMissingGubernator() : createCountingGubernator();
  const stores = new Map<string, ShardStore>();
  for (const id of cluster.shardIds()) stores.set(id, new ShardStore(id, { leaseMs, tenancy, gubernator }));
  const reap = (): void => {
    const now = clock();
    for (const store of stores.values()) store.expireLeases(now);
  };
  const resetShards = (): number => {
    for (const store of stores.values()) store.reset();
    gubernator.reset();
    return stores.size;
  };

  const runtimes: NodeRuntime[] = cluster.nodes.map((identity) => {
    const counts = new Map<string, number>();
    const interceptors: Interceptor[] = [
      createSafetyInterceptor(log),
      createCountingInterceptor(counts),
      (next) => (req) => {
        onRequest?.({ node: identity.index, method: req.method.name, headers: req.header });
        return next(req);
      },
      // Read per request, so a test can switch the fault on a live node.
      createFaultInterceptor(
        () => runtime.fault,
        () => {
          runtime.fault = null;
        },
      ),
    ];
    if (token !== undefined) interceptors.push(createAuthInterceptor(token));
    const handler = createNodeConnectHandler({
      routes: (router) =>
        registerSiloService(router, {
          cluster,
          stores,
          tenancy,
          leaseMs,
          nodeIndex: identity.index,
          now: clock,
          resetShards,
          query,
        }),
      interceptors,
      readMaxBytes: maxBodyBytes,
      writeMaxBytes: maxBodyBytes,
      // tonic serves uncompressed messages by default; match it so no client depends on gzip here.
      acceptCompression: [],
      contextValues: (req) => createContextValues().set(nodeRequestKey, req),
    });
    const runtime: NodeRuntime = {
      listener: new NodeListener(withRequestGuard(withTonicGrpcMessage(handler), log)),
      counts,
      fault: null,
    };
    return runtime;
  });

  const nodeRuntime = (node: number): NodeRuntime => {
    cluster.node(node);
    return runtimes[node] as NodeRuntime;
  };

  try {
    for (const identity of cluster.nodes) {
      identity.port = await nodeRuntime(identity.index).listener.listen(host, port === 0 ? 0 : port + identity.index);
    }
  } catch (err) {
    await Promise.all(runtimes.map((r) => r.listener.close()));
    throw err;
  }

  // Fails attempts whose worker died even when nobody calls; unref'd so it never holds the process.
  const reaper = reaperIntervalMs > 0 ? setInterval(reap, reaperIntervalMs) : undefined;
  reaper?.unref();

  const addresses = cluster.nodes.map((n) => cluster.addressOf(n.index));
  // Always printed, not only to `log`: an exposed server without auth must never start silently.
  const exposed = exposureWarning(host, token);
  if (exposed !== undefined) console.warn(exposed);
  log(`silo-edge dev server: ${nodeCount} node(s), ${shardCount} shard(s), tenancy ${tenancy ? "on" : "off"}, gubernator ${gubernatorMode}`);
  for (const address of addresses) log(`listening on ${address}`);

  let closed = false;
  return {
    addresses,
    async close() {
      if (closed) return;
      closed = true;
      if (reaper !== undefined) clearInterval(reaper);
      await Promise.all(runtimes.map((r) => r.listener.close()));
      log("dev server closed");
    },
    shards: () => cluster.shards(),
    moveShard(shardId, toNode) {
      cluster.moveShard(shardId, toNode);
      log(`shard ${shardId} moved to node ${toNode}`);
    },
    pauseShard(shardId, paused = true) {
      cluster.setPaused(shardId, paused);
      log(`shard ${shardId} ${paused ? "paused (answers UNAVAILABLE)" : "serving again"}`);
    },
    async stopNode(node) {
      await nodeRuntime(node).listener.close();
      log(`node ${node} stopped`);
    },
    async startNode(node) {
      const r = nodeRuntime(node);
      if (r.listener.listening) return;
      const identity = cluster.node(node);
      await r.listener.listen(identity.host, identity.port);
      log(`node ${node} started on ${cluster.addressOf(node)}`);
    },
    rpcCounts(node) {
      const sum: Record<string, number> = {};
      const selected = node === undefined ? runtimes : [nodeRuntime(node)];
      for (const r of selected) for (const [name, n] of r.counts) sum[name] = (sum[name] ?? 0) + n;
      return sum;
    },
    resetRpcCounts() {
      for (const r of runtimes) r.counts.clear();
    },
    setFault(node, fault) {
      nodeRuntime(node).fault = fault;
    },
    jobCount: () => [...stores.values()].reduce((n, s) => n + s.size, 0),
    jobIds: () => [...stores.values()].flatMap((s) => s.allJobs().map((j) => j.id)),
    jobsOnShard(shardId) {
      const store = stores.get(shardId);
      if (store === undefined) throw new RangeError(`unknown shard ${shardId}`);
      return store.allJobs().map((j) => j.id);
    },
    reap,
  };
}

function validateOptions(o: {
  port: number;
  nodeCount: number;
  shardCount: number;
  leaseMs: number;
  maxBodyBytes: number;
  token: string | undefined;
  reaperIntervalMs: number;
  clock: unknown;
  gubernatorMode: unknown;
}): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.nodeCount) || o.nodeCount < 1) problems.push(`nodes must be an integer >= 1 (got ${o.nodeCount})`);
  if (!Number.isInteger(o.shardCount) || o.shardCount < 1) problems.push(`shards must be an integer >= 1 (got ${o.shardCount})`);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port + Math.max(0, o.nodeCount - 1) > 65535) {
    problems.push(`port must be 0 or a port with room for every node (got ${o.port})`);
  }
  if (!Number.isFinite(o.leaseMs) || o.leaseMs <= 0) problems.push(`leaseMs must be > 0 (got ${o.leaseMs})`);
  if (!Number.isInteger(o.maxBodyBytes) || o.maxBodyBytes < 1) problems.push(`maxBodyBytes must be an integer >= 1 (got ${o.maxBodyBytes})`);
  if (o.token === "") problems.push("token must not be empty; omit it to disable auth");
  if (!Number.isFinite(o.reaperIntervalMs) || o.reaperIntervalMs < 0) {
    problems.push(`reaperIntervalMs must be >= 0 (got ${o.reaperIntervalMs})`);
  }
  if (typeof o.clock !== "function") problems.push("clock must be a function returning Unix ms");
  if (o.gubernatorMode !== "built-in" && o.gubernatorMode !== "none") {
    problems.push(`gubernator must be "built-in" or "none" (got ${String(o.gubernatorMode)})`);
  }
  if (problems.length > 0) throw new RangeError(`invalid dev server options: ${problems.join("; ")}`);
}
