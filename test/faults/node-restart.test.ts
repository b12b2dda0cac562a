import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloError, SiloUnavailableError, hashTenant } from "silo-edge";
import { clientFor, createdSince, enqueueUnderLoad, protocols, sleep, tenants, untyped, useFreshTopology } from "./harness.js";

describe.each(protocols)("nodes restarting and shards moving, over %s", (protocol) => {
  let server: DevServer;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 3, shards: 6, tenancy: true });
  });
  afterAll(() => server.close());

  it("loses and duplicates no enqueue when a node stops and restarts mid-load", async () => {
    const before = new Set(server.jobIds());
    const client = clientFor(server, protocol, { timeoutMs: 10_000 });
    const outcome = await enqueueUnderLoad(client, {
      total: 300,
      concurrency: 32,
      tenants: tenants(60, "restart"),
      taskGroup: `restart-${protocol}`,
      startAfter: 60,
      during: async () => {
        await server.stopNode(1);
        await sleep(300);
        await server.startNode(1);
      },
    });
    expect(untyped(outcome.errors)).toEqual([]);
    // The node was back well within every call's deadline, so every call got through.
    expect(outcome.errors).toEqual([]);
    const created = createdSince(server, before);
    expect(new Set(outcome.acked).size).toBe(outcome.acked.length);
    expect(created.length).toBe(new Set(created).size);
    expect(new Set(created)).toEqual(new Set(outcome.acked));
    expect(outcome.acked.length).toBe(300);
  });

  it("fails with SiloUnavailableError while a shard's owner stays down, and the other nodes keep serving", async () => {
    const client = clientFor(server, protocol, { timeoutMs: 5_000, shardRouting: { maxRetries: 3 } });
    await client.refreshTopology();
    const shard = server.shards().find((s) => s.nodeIndex === 2)!;
    const tenant = tenants(500, "down").find((t) => inRange(hashTenant(t), shard))!;
    const before = new Set(server.jobIds());
    await server.stopNode(2);
    try {
      const started = Date.now();
      const err = await client.enqueue({ payload: 1, taskGroup: "g", tenant }).catch((e: unknown) => e);
      // Connection refused, retried until maxRetries: unavailable, whatever the transport.
      expect(err).toBeInstanceOf(SiloUnavailableError);
      expect((err as SiloError).message).toContain(server.addresses[2]);
      expect(Date.now() - started).toBeLessThan(5_000);
      // Tenants on the nodes still up are unaffected.
      const other = tenants(500, "up").find((t) => server.shards().some((s) => s.nodeIndex !== 2 && inRange(hashTenant(t), s)))!;
      await client.enqueue({ payload: 2, taskGroup: "g", tenant: other });
    } finally {
      await server.startNode(2);
    }
    expect(createdSince(server, before)).toHaveLength(1);
  });

  it("follows the redirect when a shard moves under load, and creates each job once", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    const before = new Set(server.jobIds());
    const moved = server.shards().slice(0, 3);
    const outcome = await enqueueUnderLoad(client, {
      total: 150,
      concurrency: 16,
      tenants: tenants(40, "move"),
      taskGroup: `move-${protocol}`,
      startAfter: 30,
      during: async () => {
        for (const s of moved) server.moveShard(s.id, (s.nodeIndex + 1) % 3);
      },
    });
    expect(outcome.errors).toEqual([]);
    expect(new Set(createdSince(server, before))).toEqual(new Set(outcome.acked));
    expect(outcome.acked).toHaveLength(150);
    // Jobs after the move landed on the new owners: every moved shard was served by its new node.
    const topology = await client.refreshTopology();
    for (const s of moved) expect(topology.shardById(s.id)!.address).toBe(server.addresses[(s.nodeIndex + 1) % 3]);
    for (const s of moved) server.moveShard(s.id, s.nodeIndex);
  });

  it("replaces a connection that died while idle, as after a Lambda freeze, without surfacing an error", async () => {
    const client = clientFor(server, protocol);
    const tenant = "frozen-lambda";
    const first = await client.enqueue({ payload: 1, taskGroup: "g", tenant });
    const before = new Set(server.jobIds());
    // Every node restarts while the client sits idle: each pooled connection is now dead.
    for (let i = 0; i < 3; i++) await server.stopNode(i);
    for (let i = 0; i < 3; i++) await server.startNode(i);
    await sleep(200);
    const second = await client.enqueue({ payload: 2, taskGroup: "g", tenant });
    expect(await second.getStatus()).toBe("Scheduled");
    expect(await first.getStatus()).toBe("Scheduled");
    expect(createdSince(server, before)).toEqual([second.id]);
  });

  it("replaces a connection broken just before the next call", async () => {
    const client = clientFor(server, protocol);
    const tenant = "thawed-lambda";
    await client.enqueue({ payload: 1, taskGroup: "g", tenant });
    const before = new Set(server.jobIds());
    for (let i = 0; i < 3; i++) await server.stopNode(i);
    for (let i = 0; i < 3; i++) await server.startNode(i);
    const handle = await client.enqueue({ payload: 2, taskGroup: "g", tenant });
    expect(createdSince(server, before)).toEqual([handle.id]);
  });

  it("learns the topology from the second server while the first one is stopped", async () => {
    await server.stopNode(0);
    try {
      const client = clientFor(server, protocol); // servers: node 0 (down), node 1, node 2
      const topology = await client.refreshTopology();
      expect(topology.shards).toHaveLength(6);
      const tenant = tenants(500, "boot").find((t) => server.shards().some((s) => s.nodeIndex !== 0 && inRange(hashTenant(t), s)))!;
      const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant });
      expect(server.jobIds()).toContain(handle.id);
    } finally {
      await server.startNode(0);
    }
  });

  it("learns the topology from the second server while the first one accepts connections but never answers", async () => {
    server.setFault(0, "hang");
    try {
      const client = clientFor(server, protocol, { timeoutMs: 3_000 });
      const started = Date.now();
      const topology = await client.refreshTopology();
      expect(topology.shards).toHaveLength(6);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      server.setFault(0, null);
    }
  });

  it("reports an unavailable cluster as SiloUnavailableError naming every server", async () => {
    for (let i = 0; i < 3; i++) await server.stopNode(i);
    try {
      const client = clientFor(server, protocol, { timeoutMs: 2_000 });
      const err = await client.enqueue({ payload: 1, taskGroup: "g", tenant: "t" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloUnavailableError);
      for (const address of server.addresses) expect((err as Error).message).toContain(address);
    } finally {
      for (let i = 0; i < 3; i++) await server.startNode(i);
    }
  });
});

function inRange(hash: string, s: { rangeStart: string; rangeEnd: string }): boolean {
  return (s.rangeStart === "" || s.rangeStart <= hash) && (s.rangeEnd === "" || hash < s.rangeEnd);
}
