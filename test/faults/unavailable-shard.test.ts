import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloUnavailableError, hashTenant } from "silo-edge";
import { clientFor, createdSince, protocols, sleep, tenants, useFreshTopology } from "./harness.js";

// The stock server answers UNAVAILABLE while a node acquires a shard or a split pauses it, and
// for GetClusterInfo while a node cannot reach its coordination layer. The client waits those
// out within the call's deadline.
describe.each(protocols)("shards and nodes answering UNAVAILABLE, over %s", (protocol) => {
  let server: DevServer;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
  });
  afterAll(() => server.close());

  const tenantOn = (shardId: string, prefix: string): string => {
    const shard = server.shards().find((s) => s.id === shardId)!;
    return tenants(1000, prefix).find((t) => {
      const h = hashTenant(t);
      return (shard.rangeStart === "" || shard.rangeStart <= h) && (shard.rangeEnd === "" || h < shard.rangeEnd);
    })!;
  };

  it("retries an enqueue on a paused shard until the shard serves again, and creates one job", async () => {
    const shard = server.shards()[1]!;
    const tenant = tenantOn(shard.id, `paused-${protocol}`);
    const client = clientFor(server, protocol, { timeoutMs: 8_000 });
    await client.refreshTopology();
    const before = new Set(server.jobIds());
    server.resetRpcCounts();
    server.pauseShard(shard.id);
    const pending = client.enqueue({ payload: 1, taskGroup: "g", tenant });
    await sleep(400);
    server.pauseShard(shard.id, false);
    const handle = await pending;
    expect(createdSince(server, before)).toEqual([handle.id]);
    // It really was turned away first: more than one Enqueue reached the server.
    expect(server.rpcCounts().Enqueue).toBeGreaterThan(1);
  });

  it("fails with SiloUnavailableError when the shard stays paused past the retries, and other shards keep serving", async () => {
    const [paused, other] = server.shards();
    const client = clientFor(server, protocol, { timeoutMs: 5_000, shardRouting: { maxRetries: 2 } });
    server.pauseShard(paused!.id);
    try {
      const err = await client
        .enqueue({ payload: 1, taskGroup: "g", tenant: tenantOn(paused!.id, `stuck-${protocol}`) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloUnavailableError);
      expect((err as Error).message).toContain("shard not ready: acquisition in progress");
      await client.enqueue({ payload: 2, taskGroup: "g", tenant: tenantOn(other!.id, `free-${protocol}`) });
    } finally {
      server.pauseShard(paused!.id, false);
    }
  });

  it("learns the topology from another server while the first cannot reach its coordination layer", async () => {
    server.setFault(0, "coordination-down");
    try {
      const client = clientFor(server, protocol);
      const topology = await client.refreshTopology();
      expect(topology.shards).toHaveLength(4);
      expect(server.rpcCounts(1).GetClusterInfo).toBeGreaterThanOrEqual(1);
    } finally {
      server.setFault(0, null);
    }
  });
});
