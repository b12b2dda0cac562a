import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import type { GetClusterInfoResponse } from "../../src/gen/silo/v1/silo_pb.js";
import { expectError, msgpack, shardForTenant, transports, uniqueGroup } from "./harness.js";

describe.each(transports)("routing over $name", (transport) => {
  let server: DevServer;
  let info: GetClusterInfoResponse;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    info = await transport.client(server.addresses[0] as string).getClusterInfo({});
  });
  afterAll(() => server.close());

  const clientFor = (addr: string) => transport.client(addr);

  it("gives shards the real server's initial ranges for 8 shards", () => {
    expect(info.numShards).toBe(8);
    const bounds = Array.from({ length: 7 }, (_, i) =>
      ((BigInt(i + 1) * (1n << 64n)) / 8n).toString(16).padStart(16, "0"),
    );
    expect(info.shardOwners.map((s) => s.rangeStart)).toEqual(["", ...bounds]);
    expect(info.shardOwners.map((s) => s.rangeEnd)).toEqual([...bounds, ""]);
    for (const s of info.shardOwners) expect(s.shardId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("spreads the shards round-robin over the nodes", () => {
    const owners = info.shardOwners.map((s) => s.grpcAddr);
    expect(owners).toEqual(Array.from({ length: 8 }, (_, i) => server.addresses[i % 2]));
    expect(server.shards().map((s) => s.nodeIndex)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it("answers the whole map on any node, naming the node that answered", async () => {
    const fromSecond = await clientFor(server.addresses[1] as string).getClusterInfo({});
    expect(fromSecond.shardOwners).toEqual(info.shardOwners);
    expect(fromSecond.thisGrpcAddr).toBe(server.addresses[1]);
    expect(fromSecond.thisNodeId).not.toBe(info.thisNodeId);
    expect(fromSecond.members.map((m) => m.grpcAddr)).toEqual(server.addresses);
  });

  it("stores each tenant's job on the shard its hash falls in, via that shard's owner", async () => {
    const taskGroup = uniqueGroup();
    const placed = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const tenant = `tenant-${i}`;
      const shard = shardForTenant(info, tenant);
      const { id } = await clientFor(shard.grpcAddr).enqueue({ shard: shard.shardId, tenant, taskGroup, payload: msgpack({ i }) });
      placed.set(id, shard.shardId);
    }
    for (const [id, shardId] of placed) expect(server.jobsOnShard(shardId)).toContain(id);
    // 40 tenants over 8 even ranges land on more than one shard.
    expect(new Set(placed.values()).size).toBeGreaterThan(1);
  });

  it("rejects a tenant sent to a shard whose range does not hold its hash", async () => {
    const tenant = "misrouted-tenant";
    const right = shardForTenant(info, tenant);
    const wrong = info.shardOwners.find((s) => s.shardId !== right.shardId && s.grpcAddr === right.grpcAddr);
    if (wrong === undefined) throw new Error("expected another shard on the same node");
    const start = wrong.rangeStart === "" ? "-∞" : wrong.rangeStart;
    const end = wrong.rangeEnd === "" ? "+∞" : wrong.rangeEnd;
    await expectError(
      clientFor(wrong.grpcAddr).enqueue({ shard: wrong.shardId, tenant, taskGroup: "g" }),
      Code.FailedPrecondition,
      `tenant '${tenant}' is not within shard ${wrong.shardId} range [${start}, ${end}); refresh topology and retry`,
    );
  });

  it("redirects a request for another node's shard with the owner's address and node id", async () => {
    const remote = info.shardOwners.find((s) => s.grpcAddr === server.addresses[1]);
    if (remote === undefined) throw new Error("node 1 owns no shard");
    const err = await expectError(
      clientFor(server.addresses[0] as string).getJob({ shard: remote.shardId, id: "x", tenant: "t" }),
      Code.NotFound,
      "shard not found",
    );
    expect(err.metadata.get("x-silo-shard-owner-addr")).toBe(server.addresses[1]);
    expect(err.metadata.get("x-silo-shard-owner-node")).toBe(remote.nodeId);
  });

  it("redirects to the new owner after a shard moves, and serves it there", async () => {
    const tenant = "moving-tenant";
    const shard = shardForTenant(info, tenant);
    const from = server.addresses.indexOf(shard.grpcAddr);
    const to = 1 - from;
    const taskGroup = uniqueGroup();
    const { id } = await clientFor(shard.grpcAddr).enqueue({ shard: shard.shardId, tenant, taskGroup });
    server.moveShard(shard.shardId, to);
    try {
      const err = await expectError(
        clientFor(shard.grpcAddr).getJob({ shard: shard.shardId, id, tenant }),
        Code.NotFound,
        "shard not found",
      );
      expect(err.metadata.get("x-silo-shard-owner-addr")).toBe(server.addresses[to]);
      expect(err.metadata.get("x-silo-shard-owner-node")).toBe(`dev-node-${to}`);
      const job = await clientFor(server.addresses[to] as string).getJob({ shard: shard.shardId, id, tenant });
      expect(job.id).toBe(id);
      const moved = await clientFor(server.addresses[to] as string).getClusterInfo({});
      expect(moved.shardOwners.find((s) => s.shardId === shard.shardId)?.grpcAddr).toBe(server.addresses[to]);
    } finally {
      server.moveShard(shard.shardId, from);
    }
  });

  it("answers a malformed shard id with INVALID_ARGUMENT naming it", async () => {
    await expectError(
      clientFor(server.addresses[0] as string).enqueue({ shard: "not-a-uuid", tenant: "t", taskGroup: "g" }),
      Code.InvalidArgument,
      "invalid shard ID: not-a-uuid",
    );
  });

  it("answers an unknown but well-formed shard id with NOT_FOUND and no owner metadata", async () => {
    const err = await expectError(
      clientFor(server.addresses[0] as string).getJob({ shard: "00000000-0000-4000-8000-000000000000", id: "x", tenant: "t" }),
      Code.NotFound,
      "shard not found",
    );
    expect(err.metadata.get("x-silo-shard-owner-addr")).toBeNull();
  });

  it("leases only from the shards the polled node owns", async () => {
    const taskGroup = uniqueGroup();
    const tenants = Array.from({ length: 12 }, (_, i) => `lease-tenant-${i}`);
    for (const tenant of tenants) {
      const shard = shardForTenant(info, tenant);
      await clientFor(shard.grpcAddr).enqueue({ shard: shard.shardId, tenant, taskGroup });
    }
    for (const [index, address] of server.addresses.entries()) {
      const { tasks } = await clientFor(address).leaseTasks({ workerId: "w", maxTasks: 100, taskGroup });
      const owned = new Set(server.shards().filter((s) => s.nodeIndex === index).map((s) => s.id));
      for (const task of tasks) {
        expect(owned.has(task.shard)).toBe(true);
        expect(shardForTenant(info, task.tenantId ?? "").shardId).toBe(task.shard);
      }
    }
  });
});
