import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import { expectError, transports, uniqueGroup } from "./harness.js";

describe.each(transports)("test hooks over $name", (transport) => {
  let server: DevServer;
  /** The first shard of node 0, so calls to node 0 are served locally. */
  let shard: string;
  let node0: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 2 });
    shard = server.shards().find((s) => s.nodeIndex === 0)?.id as string;
    node0 = server.addresses[0] as string;
  });
  afterEach(() => {
    server.setFault(0, null);
  });
  afterAll(() => server.close());

  it("counts RPCs by method per node, and in total", async () => {
    server.resetRpcCounts();
    const client = transport.client(node0);
    await client.getClusterInfo({});
    for (let i = 0; i < 3; i++) await client.enqueue({ shard, taskGroup: "g" });
    await transport.client(server.addresses[1] as string).getClusterInfo({});
    expect(server.rpcCounts(0)).toEqual({ GetClusterInfo: 1, Enqueue: 3 });
    expect(server.rpcCounts(1)).toEqual({ GetClusterInfo: 1 });
    expect(server.rpcCounts()).toEqual({ GetClusterInfo: 2, Enqueue: 3 });
    server.resetRpcCounts();
    expect(server.rpcCounts()).toEqual({});
  });

  it("breaks connections on stopNode and serves the same jobs after startNode on the same port", async () => {
    const client = transport.client(node0, { timeoutMs: 2_000 });
    const { id } = await client.enqueue({ shard, taskGroup: uniqueGroup() });
    await server.stopNode(0);
    try {
      // Which code a broken connection maps to is the client transport's business; it must fail.
      await expect(client.getJob({ shard, id })).rejects.toBeInstanceOf(ConnectError);
      // The other node keeps serving while node 0 is down.
      await transport.client(server.addresses[1] as string).getClusterInfo({});
    } finally {
      await server.startNode(0);
    }
    expect(server.addresses[0]).toBe(node0);
    const job = await transport.client(node0).getJob({ shard, id });
    expect(job.status).toBe(JobStatus.SCHEDULED);
  });

  it("fails an in-flight request when its node stops", async () => {
    server.setFault(0, "hang");
    const pending = transport.client(node0, { timeoutMs: 10_000 }).getClusterInfo({});
    const outcome = pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 100));
    await server.stopNode(0);
    try {
      const error = await outcome;
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).not.toBe(Code.DeadlineExceeded);
    } finally {
      server.setFault(0, null);
      await server.startNode(0);
    }
  });

  it("hangs requests under the hang fault until the client's deadline", async () => {
    server.setFault(0, "hang");
    const client = transport.client(node0, { timeoutMs: 300 });
    await expectError(client.getClusterInfo({}), Code.DeadlineExceeded);
    server.setFault(0, null);
    expect((await client.getClusterInfo({})).numShards).toBe(2);
  });

  it("stores the job but breaks the connection under reset-after-request", async () => {
    server.setFault(0, "reset-after-request");
    const id = `ambiguous-${uniqueGroup()}`;
    let error: unknown;
    try {
      await transport.client(node0, { timeoutMs: 2_000 }).enqueue({ shard, id, taskGroup: "g" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).not.toBe(Code.DeadlineExceeded);
    server.setFault(0, null);
    expect(server.jobIds()).toContain(id);
    expect((await transport.client(node0).getJob({ shard, id })).id).toBe(id);
  });

  it("answers UNAVAILABLE on a paused shard, leases around it, and serves it again once resumed", async () => {
    const client = transport.client(node0);
    const group = uniqueGroup();
    const { id } = await client.enqueue({ shard, taskGroup: group });
    server.pauseShard(shard);
    try {
      await expectError(client.enqueue({ shard, taskGroup: group }), Code.Unavailable, "shard not ready: acquisition in progress");
      await expectError(client.getJob({ shard, id }), Code.Unavailable);
      const leased = await client.leaseTasks({ workerId: "w", maxTasks: 5, taskGroup: group });
      expect(leased.tasks).toEqual([]);
    } finally {
      server.pauseShard(shard, false);
    }
    expect((await client.getJob({ shard, id })).id).toBe(id);
    expect((await client.leaseTasks({ workerId: "w", maxTasks: 5, taskGroup: group })).tasks).toHaveLength(1);
  });

  it("answers GetClusterInfo with UNAVAILABLE under coordination-down, and serves jobs as before", async () => {
    const client = transport.client(node0);
    server.setFault(0, "coordination-down");
    await expectError(client.getClusterInfo({}), Code.Unavailable, "cluster membership is unavailable: cannot reach the coordination layer");
    const { id } = await client.enqueue({ shard, taskGroup: uniqueGroup() });
    expect((await client.getJob({ shard, id })).id).toBe(id);
  });
});

