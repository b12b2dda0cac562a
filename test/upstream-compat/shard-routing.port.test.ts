// Upstream typescript_client/test/shard-routing.test.ts, ported where it can run against a real
// server: upstream mocks grpc-js connections and protobuf-ts `RpcError`s; here the dev server
// moves shards, pauses them and stops nodes instead, and the assertions are upstream's.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloGRPCClient, SiloUnavailableError, SiloInvalidArgumentError, JobStatus, hashTenant, initHasher, shardForTenant } from "silo-edge";

describe("Shard Routing (upstream shard-routing.test.ts)", () => {
  beforeAll(() => initHasher());

  let server: DevServer | undefined;
  let client: SiloGRPCClient | undefined;

  afterEach(async () => {
    client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
  });

  async function start(nodes: number, shards: number, routing: Record<string, number> = {}): Promise<[DevServer, SiloGRPCClient]> {
    server = await startDevServer({ port: 0, nodes, shards, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, shardRouting: { topologyRefreshIntervalMs: 0, retryDelayMs: 10, ...routing } });
    return [server, client];
  }

  describe("hashTenant", () => {
    it("distributes env- tenants across different first hex digits", () => {
      const firstDigits = new Set<string>();
      for (let i = 0; i < 100; i++) firstDigits.add(hashTenant(`env-${i}`)[0]!);
      expect(firstDigits.size).toBeGreaterThan(8);
    });
  });

  describe("Topology discovery", () => {
    it("updates the shard-to-server mapping from GetClusterInfo", async () => {
      const [dev, c] = await start(2, 4);
      await c.refreshTopology();
      const topology = c.getTopology();
      expect(topology.shards).toHaveLength(4);
      for (const s of dev.shards()) expect(topology.shardToServer.get(s.id)).toBe(dev.addresses[s.nodeIndex]);
    });

    it("routes each tenant with hashTenant + shardForTenant over the discovered shards", async () => {
      const [, c] = await start(2, 4);
      await c.refreshTopology();
      for (const tenant of ["test-tenant", "env-123", "bench-0"]) {
        expect(c.getShardForTenant(tenant)).toBe(shardForTenant(hashTenant(tenant), c.getTopology().shards)?.shardId);
      }
    });

    it("tries the next server if the first fails during a topology refresh", async () => {
      server = await startDevServer({ port: 0, nodes: 1, shards: 2 });
      client = new SiloGRPCClient({ servers: ["localhost:1", ...server.addresses], useTls: false, shardRouting: { topologyRefreshTimeoutMs: 500 } });
      await client.refreshTopology();
      expect(client.getTopology().shards).toHaveLength(2);
    });

    it("throws if all servers fail during a topology refresh", async () => {
      client = new SiloGRPCClient({ servers: ["localhost:1", "localhost:2"], useTls: false, shardRouting: { topologyRefreshTimeoutMs: 500 } });
      await expect(client.refreshTopology()).rejects.toThrow("Failed to refresh cluster topology from any server");
    });
  });

  describe("Wrong shard retry", () => {
    it("follows the new owner when a shard moved, and the next call goes there directly", async () => {
      const [dev, c] = await start(2, 2);
      const tenant = "moving-tenant";
      await c.refreshTopology();
      const shard = c.getShardForTenant(tenant);
      const from = dev.shards().find((s) => s.id === shard)!.nodeIndex;
      dev.moveShard(shard, 1 - from);
      const handle = await c.enqueue({ tenant, taskGroup: "g", payload: 1 });
      expect(dev.jobsOnShard(shard)).toContain(handle.id);
      expect(await handle.getStatus()).toBe(JobStatus.Scheduled);
    });

    it("gives up after maxRetries on an unavailable shard", async () => {
      const [dev, c] = await start(1, 1, { maxRetries: 2 });
      await c.refreshTopology();
      dev.pauseShard(dev.shards()[0]!.id);
      dev.resetRpcCounts();
      await expect(c.enqueue({ tenant: "t", taskGroup: "g", payload: 1 })).rejects.toBeInstanceOf(SiloUnavailableError);
      expect(dev.rpcCounts().Enqueue).toBe(3);
    });

    it("does not retry non-retryable errors like INVALID_ARGUMENT", async () => {
      const [dev, c] = await start(1, 1);
      await c.refreshTopology();
      dev.resetRpcCounts();
      // silo-edge rejects a priority over 99 before sending it, so send it raw to get the server's
      // own INVALID_ARGUMENT through the routed-call path every method uses.
      const err = await c
        .callRouted("Enqueue", { tenant: "t" }, (rpc, shard, a) => rpc.enqueue({ shard: shard.id, tenant: "t", taskGroup: "g", priority: 100 }, a), undefined)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloInvalidArgumentError);
      expect(dev.rpcCounts().Enqueue).toBe(1);
    });

    it("reportOutcome and heartbeat follow a moved shard too", async () => {
      const [dev, c] = await start(2, 2);
      const tenant = "worker-moving";
      const handle = await c.enqueue({ tenant, taskGroup: "g", payload: 1 });
      const task = await c.leaseTask({ id: handle.id, workerId: "w", tenant });
      const from = dev.shards().find((s) => s.id === task.shard)!.nodeIndex;
      dev.moveShard(task.shard, 1 - from);
      expect(await c.heartbeat("w", task.id, task.shard, task.tenantId)).toEqual({ cancelled: false });
      await c.reportOutcome({ shard: task.shard, taskId: task.id, tenant: task.tenantId, outcome: { type: "success", result: null } });
      expect(await handle.getStatus()).toBe(JobStatus.Succeeded);
    });
  });

  describe("Connectivity error retry with topology refresh", () => {
    it("retries round-robin leaseTasks on another server when one is down", async () => {
      const [dev, c] = await start(2, 2);
      await c.refreshTopology();
      await dev.stopNode(0);
      for (let i = 0; i < 4; i++) {
        await expect(c.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "g" })).resolves.toMatchObject({ tasks: [] });
      }
    });
  });

  describe("Lazy topology auto-refresh", () => {
    it("learns the topology on the first enqueue if refreshTopology() was never called", async () => {
      const [dev, c] = await start(1, 1);
      expect(c.getTopology().shards).toEqual([]);
      await c.enqueue({ tenant: "test-tenant", payload: { test: true }, taskGroup: "default" });
      expect(dev.rpcCounts().GetClusterInfo).toBe(1);
      expect(c.getTopology().shards).toHaveLength(1);
    });

    it("does not fetch the topology again once loaded, and shares one fetch among concurrent first calls", async () => {
      const [dev, c] = await start(1, 2);
      await Promise.all(["a", "b", "c", "d"].map((tenant) => c.enqueue({ tenant, payload: 1, taskGroup: "default" })));
      await c.enqueue({ tenant: "e", payload: 1, taskGroup: "default" });
      expect(dev.rpcCounts().GetClusterInfo).toBe(1);
    });

    it("resetShards puts the client back into lazy-refresh mode", async () => {
      const [dev, c] = await start(1, 1);
      await c.refreshTopology();
      await c.resetShards();
      expect(c.getTopology().shards).toEqual([]);
      dev.resetRpcCounts();
      await c.enqueue({ tenant: "t", payload: 1, taskGroup: "default" });
      expect(dev.rpcCounts().GetClusterInfo).toBe(1);
    });
  });
});
