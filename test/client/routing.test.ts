import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import {
  SiloGRPCClient,
  clearTopologyCache,
  createMemoryTopologyStore,
  hashTenant,
  type Protocol,
} from "silo-edge";

const tenants = Array.from({ length: 120 }, (_, i) => `tenant-${i}-${"x".repeat(i % 7)}`);

describe.each<Protocol>(["grpc", "grpc-web", "connect"])("routing over %s", (protocol) => {
  let server: DevServer;
  const clientFor = (extra: Record<string, unknown> = {}) =>
    new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol, ...extra });

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 3, shards: 8, tenancy: true });
  });
  afterAll(() => server.close());
  afterEach(() => {
    clearTopologyCache();
    server.resetRpcCounts();
  });

  it("lands every tenant's job on the shard whose range holds the tenant's hash", async () => {
    const client = clientFor();
    const handles = await Promise.all(tenants.map((tenant) => client.enqueue({ payload: { tenant }, taskGroup: "g", tenant })));
    const shards = server.shards();
    for (const h of handles) {
      const hash = hashTenant(h.tenant!);
      const shard = shards.find((s) => (s.rangeStart === "" || s.rangeStart <= hash) && (s.rangeEnd === "" || hash < s.rangeEnd))!;
      expect(server.jobsOnShard(shard.id)).toContain(h.id);
    }
    // Tenants spread over every node, and no request needed a redirect or a second try.
    for (let node = 0; node < 3; node++) expect(server.rpcCounts(node).Enqueue ?? 0).toBeGreaterThan(0);
    expect(server.rpcCounts().Enqueue).toBe(tenants.length);
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
  });

  it("follows the owner address after a shard moves, then learns the new topology", async () => {
    const client = clientFor();
    const tenant = "moving-tenant";
    await client.enqueue({ payload: 1, taskGroup: "g", tenant });
    const hash = hashTenant(tenant);
    const shard = server.shards().find((s) => (s.rangeStart === "" || s.rangeStart <= hash) && (s.rangeEnd === "" || hash < s.rangeEnd))!;
    const to = (shard.nodeIndex + 1) % 3;
    server.moveShard(shard.id, to);
    server.resetRpcCounts();

    const handle = await client.enqueue({ payload: 2, taskGroup: "g", tenant });
    expect(server.rpcCounts(shard.nodeIndex).Enqueue).toBe(1); // answered NOT_FOUND with the owner
    expect(server.rpcCounts(to).Enqueue).toBe(1); // retried there at once
    expect(await handle.getStatus()).toBe("Scheduled");
    // The redirect marked the topology stale; it has been refreshed, so the next call goes straight to the owner.
    await new Promise((r) => setTimeout(r, 50));
    server.resetRpcCounts();
    await client.enqueue({ payload: 3, taskGroup: "g", tenant });
    expect(server.rpcCounts(shard.nodeIndex).Enqueue ?? 0).toBe(0);
    expect(server.rpcCounts(to).Enqueue).toBe(1);
    server.moveShard(shard.id, shard.nodeIndex);
  });

  it("shares one topology between clients built per request", async () => {
    for (let i = 0; i < 5; i++) await clientFor().enqueue({ payload: i, taskGroup: "g", tenant: `t${i}` });
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
    expect(server.rpcCounts().Enqueue).toBe(5);
  });

  it("sends one GetClusterInfo for many concurrent first calls", async () => {
    const client = clientFor();
    await Promise.all(tenants.slice(0, 30).map((tenant) => client.enqueue({ payload: 0, taskGroup: "g", tenant })));
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
  });

  it("starts cold from a topology store without asking the cluster", async () => {
    const store = createMemoryTopologyStore();
    await clientFor({ topologyCache: store }).refreshTopology();
    clearTopologyCache(); // a new process: memory is empty, the store is not
    server.resetRpcCounts();
    await clientFor({ topologyCache: store }).enqueue({ payload: 0, taskGroup: "g", tenant: "cold" });
    expect(server.rpcCounts()).toEqual({ Enqueue: 1 });
  });

  it("ignores a corrupt or foreign stored topology and learns a fresh one", async () => {
    for (const junk of ["{not json", JSON.stringify({ hello: 1 }), 42]) {
      clearTopologyCache();
      server.resetRpcCounts();
      const store = { get: () => junk, set: () => undefined };
      await clientFor({ topologyCache: store }).enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
      expect(server.rpcCounts()).toEqual({ GetClusterInfo: 1, Enqueue: 1 });
    }
  });

  it("survives a store that throws on read and write", async () => {
    const store = {
      get: () => {
        throw new Error("disk on fire");
      },
      set: async () => {
        throw new Error("disk on fire");
      },
    };
    const handle = await clientFor({ topologyCache: store }).enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("refreshes an old topology lazily on the next call", async () => {
    const client = clientFor({ shardRouting: { topologyRefreshIntervalMs: 1 } });
    await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    await new Promise((r) => setTimeout(r, 5));
    await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.rpcCounts().GetClusterInfo).toBe(2);
  });

  it("never refreshes on a timer when the interval is 0", async () => {
    const client = clientFor({ shardRouting: { topologyRefreshIntervalMs: 0 } });
    await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
  });

  it("translates advertised node addresses through addressMap", async () => {
    const seen: string[] = [];
    const client = clientFor({
      addressMap: (advertised: string) => {
        seen.push(advertised);
        return advertised.replace("127.0.0.1", "localhost");
      },
    });
    await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    expect(seen.length).toBeGreaterThan(0);
    expect(server.addresses).toContain(seen[0]);
  });

  it("learns the topology from the second server when the first is down", async () => {
    const client = new SiloGRPCClient({ servers: ["127.0.0.1:1", server.addresses[1]!], useTls: false, protocol });
    const handle = await client.enqueue({ payload: 0, taskGroup: "g", tenant: "t" });
    expect(await handle.getStatus()).toBe("Scheduled");
  });
});
