// The behaviour upstream's typescript_client/test/shard-routing.test.ts checks by replacing the
// client's private members (`_connections`, `_shardToServer`, `_getOrCreateConnection`, ...),
// checked here through the public API against real servers: the dev server with its fault hooks,
// a TCP proxy, a socket that never answers, a closed port, and scripted stand-in nodes for the
// answers the dev server never gives on demand. Each test names the upstream test it ports.
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { startDevServer, type DevServer, type DevServerOptions } from "silo-edge/dev";
import { JobStatus, SiloGRPCClient, SiloGrpcError, clearTopologyCache, type SiloGRPCClientOptions } from "silo-edge";
import { recordingLogger } from "../support/recording-logger.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { SHARD, neverAnswer, oneShardOwnedBy, startScriptedNodes, type NodeScript, type ScriptedNodes } from "./scripted-nodes.js";

const UPSTREAM = "typescript_client/test/shard-routing.test.ts";

let dev: DevServer | undefined;
let nodes: ScriptedNodes | undefined;
let proxy: TcpProxy | undefined;
let silent: { server: Server; sockets: Socket[] } | undefined;
const clients: SiloGRPCClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  clearTopologyCache();
  for (const s of silent?.sockets ?? []) s.destroy();
  silent?.server.close();
  await Promise.all([dev?.close(), nodes?.close(), proxy?.close()]);
  dev = nodes = proxy = silent = undefined;
});

async function startDev(options: DevServerOptions): Promise<DevServer> {
  dev = await startDevServer({ port: 0, tenancy: true, ...options });
  return dev;
}

function clientOf(servers: string[], options: Partial<SiloGRPCClientOptions> = {}, routing: Record<string, number> = {}): SiloGRPCClient {
  const c = new SiloGRPCClient({ servers, useTls: false, timeoutMs: 10_000, ...options, shardRouting: { topologyRefreshIntervalMs: 0, retryDelayMs: 5, ...routing } });
  clients.push(c);
  return c;
}

/** A tenant whose shard the dev server's node `node` owns. */
function tenantOnNode(server: DevServer, client: SiloGRPCClient, node: number, prefix = "t"): { tenant: string; shard: string } {
  for (let i = 0; i < 10_000; i++) {
    const tenant = `${prefix}-${i}`;
    const shard = client.getShardForTenant(tenant);
    if (server.shards().find((s) => s.id === shard)!.nodeIndex === node) return { tenant, shard };
  }
  throw new Error(`no tenant on node ${node}`);
}

/** Gives every shard of `from` to `to`. */
function moveAllShards(server: DevServer, from: number, to: number): void {
  for (const s of server.shards()) if (s.nodeIndex === from) server.moveShard(s.id, to);
}

/** A TCP server that accepts connections and never answers a byte. */
async function startSilentServer(): Promise<string> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  silent = { server, sockets };
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback address nothing listens on (connections are refused). */
async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe(`Topology discovery (${UPSTREAM} › Topology discovery)`, () => {
  it("routes a tenant straight to a node it learned only from the topology (ports 'creates connections to discovered servers')", async () => {
    const server = await startDev({ nodes: 2, shards: 4 });
    const client = clientOf([server.addresses[0]!]);
    await client.refreshTopology();
    const { tenant, shard } = tenantOnNode(server, client, 1);
    server.resetRpcCounts();
    const handle = await client.enqueue({ tenant, taskGroup: "g", payload: 1 });
    expect(server.jobsOnShard(shard)).toContain(handle.id);
    expect(server.rpcCounts(1).Enqueue).toBe(1);
    expect(server.rpcCounts(0).Enqueue).toBeUndefined();
  });

  it("sends each GetClusterInfo with topologyRefreshTimeoutMs as its deadline (ports 'applies per-server timeout to getClusterInfo calls during refresh')", async () => {
    const deadlines: Array<string | null> = [];
    const server = await startDev({ onRequest: ({ method, headers }) => void (method === "GetClusterInfo" && deadlines.push(headers.get("grpc-timeout"))) });
    await clientOf(server.addresses, { timeoutMs: 60_000 }, { topologyRefreshTimeoutMs: 5_000 }).refreshTopology();
    expect(deadlines).toEqual(["5000m"]);
  });

  it("gives a GetClusterInfo upstream's 10 s deadline when topologyRefreshTimeoutMs is not set (ports 'uses default 10s timeout when topologyRefreshTimeoutMs is not set')", async () => {
    const deadlines: Array<string | null> = [];
    const server = await startDev({ onRequest: ({ method, headers }) => void (method === "GetClusterInfo" && deadlines.push(headers.get("grpc-timeout"))) });
    // The 10 s cap holds however long the client's own call deadline is.
    await clientOf(server.addresses, { timeoutMs: 60_000 }).refreshTopology();
    clearTopologyCache();
    await new SiloGRPCClient({ servers: server.addresses, useTls: false }).refreshTopology();
    expect(deadlines).toEqual(["10000m", "10000m"]);
  });

  it("moves on to the next server when the first accepts the connection but never answers within topologyRefreshTimeoutMs (ports 'moves to next server when getClusterInfo times out on first server')", async () => {
    const server = await startDev({ shards: 2 });
    const hung = await startSilentServer();
    const { entries, logger } = recordingLogger();
    // A call deadline far beyond the test's own timeout: only the per-server deadline can end the wait.
    const client = clientOf([hung, server.addresses[0]!], { timeoutMs: 60_000, logger }, { topologyRefreshTimeoutMs: 300 });
    const topology = await client.refreshTopology();
    expect(topology.shards).toHaveLength(2);
    expect(client.getTopology().shardToServer.get(server.shards()[0]!.id)).toBe(server.addresses[0]);
    // Only the logger shows the first server was tried and given up on at its deadline.
    expect(entries).toContainEqual({
      level: "warn",
      fields: { server: hung, code: "SILO_DEADLINE_EXCEEDED", error: `GetClusterInfo at ${hung}: no answer within 300 ms` },
      message: "silo-edge: GetClusterInfo failed",
    });
  });

  it("sends no more calls to a node the refreshed topology no longer names (ports 'cleans up stale connections after topology refresh')", async () => {
    const server = await startDev({ nodes: 2, shards: 4 });
    const client = clientOf([server.addresses[0]!]);
    await client.refreshTopology();
    expect(new Set(client.getTopology().shardToServer.values())).toEqual(new Set(server.addresses));
    moveAllShards(server, 1, 0);
    await client.refreshTopology();
    expect(new Set(client.getTopology().shardToServer.values())).toEqual(new Set([server.addresses[0]]));
    server.resetRpcCounts();
    for (let i = 0; i < 4; i++) await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "g" });
    for (let i = 0; i < 8; i++) await client.enqueue({ tenant: `stale-${i}`, taskGroup: "g", payload: i });
    expect(server.rpcCounts(1)).toEqual({});
    expect(server.rpcCounts(0)).toMatchObject({ LeaseTasks: 4, Enqueue: 8 });
  });

  it("sends no regular calls to a configured server the topology does not name (ports 'cleans up initial server connections when not in topology response')", async () => {
    const server = await startDev({ nodes: 2, shards: 4 });
    // The configured server is a proxy in front of node 0: an address the cluster never advertises.
    proxy = await startTcpProxy(Number(server.addresses[0]!.split(":")[1]));
    const seed = proxy.baseUrl.replace("http://", "");
    const client = clientOf([seed]);
    await client.refreshTopology();
    expect(client.getTopology().shardToServer.size).toBe(4);
    expect([...client.getTopology().shardToServer.values()]).not.toContain(seed);
    // Any later call through the proxy would need a new connection.
    proxy.cutConnections();
    const accepted = proxy.accepted;
    for (let i = 0; i < 4; i++) await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "g" });
    for (let i = 0; i < 8; i++) await client.enqueue({ tenant: `seed-${i}`, taskGroup: "g", payload: i });
    expect(proxy.accepted).toBe(accepted);
  });

  it("never sends regular calls to a configured server that failed the refresh (ports 'cleans up freshly-created connection when initial server fails during refresh')", async () => {
    const server = await startDev({ nodes: 2, shards: 4 });
    const refused = await closedAddress();
    const client = clientOf([refused, server.addresses[0]!]);
    await client.refreshTopology();
    server.resetRpcCounts();
    // Round-robin polling visits only the nodes of the topology: every poll succeeds.
    for (let i = 0; i < 6; i++) await expect(client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "g" })).resolves.toEqual({ tasks: [], refreshTasks: [] });
    expect(server.rpcCounts().LeaseTasks).toBe(6);
  });

  it("keeps its servers and last topology after a failed refresh, and refreshes again once a server is back (ports 'does not remove pre-existing connections when they fail during refresh')", async () => {
    const server = await startDev({ shards: 2 });
    const client = clientOf(server.addresses);
    await client.refreshTopology();
    await server.stopNode(0);
    await expect(client.refreshTopology()).rejects.toThrow("Failed to refresh cluster topology from any server");
    expect(client.getTopology().shards).toHaveLength(2);
    await server.startNode(0);
    server.resetRpcCounts();
    await expect(client.refreshTopology()).resolves.toMatchObject({ shards: expect.any(Array) });
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
  });

  it("re-learns the topology from its configured server after the other nodes it learned are gone (ports 're-bootstraps from initial servers after all active connections are lost')", async () => {
    const server = await startDev({ nodes: 3, shards: 6 });
    const client = clientOf([server.addresses[0]!]);
    await client.refreshTopology();
    expect(new Set(client.getTopology().shardToServer.values()).size).toBe(3);
    // Scale down to node 0: nodes 1 and 2 leave, their shards move to node 0.
    moveAllShards(server, 1, 0);
    moveAllShards(server, 2, 0);
    await server.stopNode(1);
    await server.stopNode(2);
    await client.refreshTopology();
    expect(new Set(client.getTopology().shardToServer.values())).toEqual(new Set([server.addresses[0]]));
    const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => client.enqueue({ tenant: `scaled-${i}`, taskGroup: "g", payload: i })));
    expect(handles.every((h) => server.jobIds().includes(h.id))).toBe(true);
  });

  it("refreshes from a node it learned when every configured server is gone, as upstream asks every node it knows (client.ts refreshTopology)", async () => {
    const server = await startDev({ nodes: 2, shards: 4 });
    const client = clientOf([server.addresses[0]!], { timeoutMs: 5_000 });
    await client.refreshTopology();
    // The configured node leaves; its shards move to node 1, which the client learned.
    moveAllShards(server, 0, 1);
    await server.stopNode(0);
    await client.refreshTopology();
    expect(new Set(client.getTopology().shardToServer.values())).toEqual(new Set([server.addresses[1]]));
    const { tenant, shard } = tenantOnNode(server, client, 1, "after");
    const handle = await client.enqueue({ tenant, taskGroup: "g", payload: 1 });
    expect(server.jobsOnShard(shard)).toContain(handle.id);
  });
});

describe(`Connectivity error retry with topology refresh (${UPSTREAM})`, () => {
  /** Two nodes; `tenant`'s shard is on node 1, which then stops after its shards moved to node 0. */
  async function ownerGoneAway(prepare?: (client: SiloGRPCClient, tenant: string) => Promise<void>) {
    const server = await startDev({ nodes: 2, shards: 2 });
    const client = clientOf(server.addresses, {}, { maxRetries: 3 });
    await client.refreshTopology();
    const { tenant, shard } = tenantOnNode(server, client, 1, "gone");
    await prepare?.(client, tenant);
    moveAllShards(server, 1, 0);
    await server.stopNode(1);
    server.resetRpcCounts();
    return { server, client, tenant, shard };
  }

  it("retries an enqueue on the shard's new owner after its old node stops answering (ports 'retries on a different server after UNAVAILABLE triggers topology refresh')", async () => {
    const { server, client, tenant, shard } = await ownerGoneAway();
    const handle = await client.enqueue({ tenant, taskGroup: "g", payload: 1 });
    expect(server.jobsOnShard(shard)).toEqual([handle.id]);
    expect(server.rpcCounts(0).GetClusterInfo).toBeGreaterThanOrEqual(1);
    expect(client.getTopology().shardToServer.get(shard)).toBe(server.addresses[0]);
  });

  it("retries reportOutcome on the shard's new owner after its old node stops answering (ports 'retries reportOutcome on a different server after UNAVAILABLE triggers topology refresh')", async () => {
    let jobId = "";
    let task: Awaited<ReturnType<SiloGRPCClient["leaseTask"]>> | undefined;
    const { server, client, tenant } = await ownerGoneAway(async (c, t) => {
      jobId = (await c.enqueue({ tenant: t, taskGroup: "g", payload: 1 })).id;
      task = await c.leaseTask({ id: jobId, workerId: "w", tenant: t });
    });
    await client.reportOutcome({ shard: task!.shard, taskId: task!.id, tenant, outcome: { type: "success", result: "done" } });
    expect(server.rpcCounts(0).ReportOutcome).toBe(1);
    expect(await client.getJobStatus(jobId, tenant)).toBe(JobStatus.Succeeded);
  });

  it("retries a shard-routed leaseTasks on the shard's new owner after its old node stops answering (ports 'retries shard-routed leaseTasks on a different server after UNAVAILABLE')", async () => {
    let jobId = "";
    const { server, client, shard } = await ownerGoneAway(async (c, t) => {
      jobId = (await c.enqueue({ tenant: t, taskGroup: "moved-group", payload: 1 })).id;
    });
    const { tasks } = await client.leaseTasks({ shard, workerId: "w", maxTasks: 5, taskGroup: "moved-group" });
    expect(tasks.map((t) => t.jobId)).toEqual([jobId]);
    expect(server.rpcCounts(0).LeaseTasks).toBe(1);
  });
});

describe(`Wrong shard retry (${UPSTREAM} › Wrong Shard Retry)`, () => {
  it("does not retry a NOT_FOUND that is not 'shard not found' (ports 'NOT_FOUND with different message is not a wrong shard error')", async () => {
    const server = await startDev({ nodes: 2, shards: 2 });
    const client = clientOf(server.addresses);
    await client.refreshTopology();
    server.resetRpcCounts();
    await expect(client.getJob("no-such-job", "acme")).rejects.toMatchObject({ code: "SILO_JOB_NOT_FOUND", grpcCode: "NOT_FOUND" });
    expect(server.rpcCounts()).toEqual({ GetJob: 1 });
  });

  it("does not retry an error with another code (ports 'other error codes are not wrong shard errors')", async () => {
    const server = await startDev({ shards: 1 });
    const client = clientOf(server.addresses);
    const handle = await client.enqueue({ tenant: "acme", taskGroup: "g", payload: 1 });
    server.resetRpcCounts();
    // Deleting a job that is still scheduled is INTERNAL on the stock server.
    const err = await client.deleteJob(handle.id, "acme").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloGrpcError);
    expect(err).toMatchObject({ grpcCode: "INTERNAL" });
    expect(server.rpcCounts()).toEqual({ DeleteJob: 1 });
  });
});

// Each shard-routed call, as upstream's "Wrong Shard Retry" and "Wrong Shard Retry for
// shard-routed operations" check them for enqueue, reportOutcome, heartbeat and reportRefreshOutcome.
type Op = "Enqueue" | "ReportOutcome" | "Heartbeat" | "ReportRefreshOutcome";
const OPS: Array<{ op: Op; method: keyof NodeScript; call: (c: SiloGRPCClient) => Promise<unknown>; ok: () => object }> = [
  { op: "Enqueue", method: "enqueue", call: (c) => c.enqueue({ id: "job-1", tenant: "acme", taskGroup: "g", payload: 1 }), ok: () => ({ id: "job-1" }) },
  { op: "ReportOutcome", method: "reportOutcome", call: (c) => c.reportOutcome({ shard: SHARD, taskId: "task-1", tenant: "acme", outcome: { type: "success", result: 1 } }), ok: () => ({}) },
  { op: "Heartbeat", method: "heartbeat", call: (c) => c.heartbeat("w", "task-1", SHARD, "acme"), ok: () => ({ cancelled: false }) },
  {
    op: "ReportRefreshOutcome",
    method: "reportRefreshOutcome",
    call: (c) => c.reportRefreshOutcome({ shard: SHARD, taskId: "task-1", tenant: "acme", outcome: { type: "success", newMaxConcurrency: 2 } }),
    ok: () => ({}),
  },
];

const shardNotFound = (owner?: string): ConnectError =>
  new ConnectError("shard not found", Code.NotFound, owner === undefined ? undefined : { "x-silo-shard-owner-addr": owner });

describe.each(OPS)(`Wrong shard retry of $op (${UPSTREAM} › Wrong Shard Retry, Wrong Shard Retry for shard-routed operations)`, ({ op, method, call, ok }) => {
  /** Node 0 owns the shard in the topology; `answer` scripts its `op`. */
  async function cluster(answer: (n: number, addresses: readonly string[], signal: AbortSignal) => Promise<object>, extraNodeScript: NodeScript = {}) {
    let n = 0;
    nodes = await startScriptedNodes(2, (i, addresses) =>
      i === 0
        ? ({ getClusterInfo: () => oneShardOwnedBy(addresses[0]!), [method]: (_req: unknown, ctx: { signal: AbortSignal }) => answer(n++, addresses, ctx.signal) } as NodeScript)
        : ({ [method]: () => ok(), ...extraNodeScript } as NodeScript),
    );
    return nodes;
  }

  it(`${op} stops after maxRetries when the node keeps answering 'shard not found' (ports 'stops retrying after maxRetries')`, async () => {
    const scripted = await cluster(async () => {
      throw shardNotFound();
    });
    const err = await call(clientOf(scripted.addresses, {}, { maxRetries: 3 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ grpcCode: "NOT_FOUND", grpcMessage: "shard not found" });
    expect(scripted.calls(0)[op]).toBe(4);
  });

  it(`${op} refreshes the topology and retries when 'shard not found' names no owner (ports 'refreshes topology when no redirect metadata is provided' / 'retries on wrong shard error without redirect metadata')`, async () => {
    const scripted = await cluster(async (n) => {
      if (n === 0) throw shardNotFound();
      return ok();
    });
    await call(clientOf(scripted.addresses, {}, { maxRetries: 3 }));
    expect(scripted.calls(0)).toMatchObject({ [op]: 2, GetClusterInfo: 2 });
  });

  it(`${op} goes to the owner x-silo-shard-owner-addr names without waiting for a topology refresh (ports 'retries on wrong shard error with redirect metadata' / 'does not refresh topology when redirect metadata is provided' / 'creates new connection when redirect points to different server')`, async () => {
    let infos = 0;
    nodes = await startScriptedNodes(2, (i, addresses) => {
      // After the first answer every GetClusterInfo hangs: a call that waited for one would never end.
      const getClusterInfo = async (_req: unknown, ctx: { signal: AbortSignal }) => (infos++ === 0 ? oneShardOwnedBy(addresses[0]!) : neverAnswer(ctx.signal));
      return i === 0
        ? ({ getClusterInfo, [method]: async () => Promise.reject(shardNotFound(addresses[1])) } as NodeScript)
        : ({ getClusterInfo, [method]: () => ok() } as NodeScript);
    });
    await call(clientOf(nodes.addresses, { timeoutMs: 60_000 }, { maxRetries: 3, topologyRefreshTimeoutMs: 30_000 }));
    expect(nodes.calls(0)[op]).toBe(1);
    expect(nodes.calls(1)[op]).toBe(1);
  });

  it(`${op} does not retry an error that is not 'shard not found' (ports 'does not retry on non-wrong-shard errors')`, async () => {
    const scripted = await cluster(async () => {
      throw new ConnectError("internal server error", Code.Internal);
    });
    const err = await call(clientOf(scripted.addresses, {}, { maxRetries: 3 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ grpcCode: "INTERNAL", grpcMessage: "internal server error" });
    expect(scripted.calls(0)[op]).toBe(1);
  });
});
