import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import {
  JobAlreadyExistsError,
  JobNotFoundError,
  JobNotTerminalError,
  SiloCancelledError,
  SiloDeadlineExceededError,
  SiloFailedPreconditionError,
  SiloGRPCClient,
  SiloInvalidArgumentError,
  SiloUnauthenticatedError,
  clearTopologyCache,
  type Protocol,
} from "silo-edge";

/** Leases the next task of `taskGroup` on every node and reports `outcome` for it. */
async function finishNext(
  client: SiloGRPCClient,
  taskGroup: string,
  outcome: { success: unknown } | { failure: { code: string; data: unknown } },
): Promise<string> {
  const topology = await client.loadTopology();
  for (const address of topology.addresses()) {
    const res = await client.callNode(address, "LeaseTasks", (rpc, o) => rpc.leaseTasks({ workerId: "test", maxTasks: 1, taskGroup }, o));
    const task = res.tasks[0];
    if (!task) continue;
    await client.callNode(address, "ReportOutcome", (rpc, o) =>
      rpc.reportOutcome(
        {
          shard: task.shard,
          taskId: task.id,
          ...(task.tenantId !== undefined ? { tenantId: task.tenantId } : {}),
          outcome:
            "success" in outcome
              ? { case: "success", value: { encoding: { case: "msgpack", value: encode(outcome.success) } } }
              : { case: "failure", value: { code: outcome.failure.code, data: { encoding: { case: "msgpack", value: encode(outcome.failure.data) } } } },
        },
        o,
      ),
    );
    return task.jobId;
  }
  throw new Error(`no task in ${taskGroup}`);
}

describe.each<Protocol>(["grpc", "grpc-web", "connect"])("jobs over %s", (protocol) => {
  let server: DevServer;
  let client: SiloGRPCClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4 });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
  });
  afterAll(() => server.close());

  it("awaits a succeeded job's decoded result", async () => {
    const handle = await client.enqueue({ payload: { n: 2 }, taskGroup: `ok-${protocol}` });
    const waiting = handle.awaitResult({ pollIntervalMs: 20, timeoutMs: 5000 });
    await finishNext(client, `ok-${protocol}`, { success: { doubled: 4 } });
    expect(await waiting).toMatchObject({ outcome: "succeeded", id: handle.id, result: { doubled: 4 } });
    expect((await handle.getJob()).result).toEqual({ doubled: 4 });
  });

  it("returns a failed job's error code and decoded data", async () => {
    const handle = await client.enqueue({ payload: null, taskGroup: `fail-${protocol}` });
    await finishNext(client, `fail-${protocol}`, { failure: { code: "BOOM", data: { why: "because" } } });
    expect(await handle.getResult()).toMatchObject({ outcome: "failed", errorCode: "BOOM", errorData: { why: "because" } });
    const job = await handle.getJob({ includeAttempts: true });
    expect(job.status).toBe("Failed");
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts?.[0]).toMatchObject({ status: "Failed", errorCode: "BOOM", errorData: { why: "because" } });
  });

  it("reports a cancelled job's outcome", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "c" });
    await handle.cancel();
    expect(await handle.getStatus()).toBe("Cancelled");
    expect(await handle.awaitResult()).toMatchObject({ outcome: "cancelled" });
  });

  it("raises JobNotTerminalError for the result of a scheduled job", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "s" });
    const err = await handle.getResult().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobNotTerminalError);
    expect((err as JobNotTerminalError).code).toBe("SILO_JOB_NOT_TERMINAL");
  });

  it("times out awaitResult with SiloDeadlineExceededError", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "never" });
    await expect(handle.awaitResult({ timeoutMs: 100, pollIntervalMs: 20 })).rejects.toBeInstanceOf(SiloDeadlineExceededError);
  });

  it("stops awaitResult when its signal aborts", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "never" });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(handle.awaitResult({ signal: ac.signal, pollIntervalMs: 10 })).rejects.toBeInstanceOf(SiloCancelledError);
  });

  it("raises JobNotFoundError for an unknown job", async () => {
    for (const call of [() => client.getJob("nope"), () => client.cancelJob("nope"), () => client.getJobResult("nope"), () => client.restartJob("nope")]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobNotFoundError);
      expect((err as JobNotFoundError).grpcCode).toBe("NOT_FOUND");
    }
  });

  it("raises JobAlreadyExistsError when the caller's id is taken", async () => {
    const id = `dup-${protocol}`;
    await client.enqueue({ payload: 1, taskGroup: "d", id });
    const err = await client.enqueue({ payload: 2, taskGroup: "d", id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobAlreadyExistsError);
    expect((err as JobAlreadyExistsError).jobId).toBe(id);
  });

  it("restarts a cancelled job and expedites a scheduled one", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "r", startAtMs: new Date(Date.now() + 3_600_000) });
    await handle.expedite();
    const job = await handle.getJob();
    expect(Number(job.nextAttemptStartsAfterMs)).toBeLessThanOrEqual(Date.now());
    await expect(handle.expedite()).rejects.toBeInstanceOf(SiloFailedPreconditionError);
    await handle.cancel();
    await handle.restart();
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("deletes only finished jobs", async () => {
    const handle = await client.enqueue({ payload: 1, taskGroup: "del" });
    await expect(handle.delete()).rejects.toThrow(/cannot delete job/);
    await handle.cancel();
    await handle.delete();
    await expect(handle.getJob()).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it("sends a tenant to a server with tenancy off as the server's typed refusal", async () => {
    const err = await client.enqueue({ payload: 1, taskGroup: "t", tenant: "acme" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloFailedPreconditionError);
    expect((err as Error).message).toContain("tenant must not be provided when tenancy is disabled");
  });

  it("honours a per-call deadline against a node that never answers", async () => {
    const c = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
    await c.refreshTopology();
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    try {
      const started = Date.now();
      const err = await c.enqueue({ payload: 1, taskGroup: "h" }, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloDeadlineExceededError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      server.setFault(0, null);
      server.setFault(1, null);
    }
  });

  it("stops a call when the caller's signal aborts", async () => {
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(client.enqueue({ payload: 1, taskGroup: "h" }, { signal: ac.signal })).rejects.toBeInstanceOf(SiloCancelledError);
    } finally {
      server.setFault(0, null);
      server.setFault(1, null);
    }
  });
});

describe.each<Protocol>(["grpc", "grpc-web", "connect"])("tenancy and auth over %s", (protocol) => {
  let server: DevServer;

  beforeAll(async () => {
    clearTopologyCache();
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true, token: "right-token" });
  });
  afterAll(() => server.close());

  it("sends the token as a bearer header", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses, protocol, token: "right-token" });
    const handle = await client.enqueue({ payload: 1, taskGroup: "a", tenant: "acme" });
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("calls a token function before every RPC, so tokens can rotate", async () => {
    let calls = 0;
    const client = new SiloGRPCClient({ servers: server.addresses, protocol, token: async () => (calls++, "right-token") });
    await client.enqueue({ payload: 1, taskGroup: "a", tenant: "acme" });
    await client.enqueue({ payload: 1, taskGroup: "a", tenant: "acme" });
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("raises SiloUnauthenticatedError for a wrong or missing token, without echoing the token", async () => {
    clearTopologyCache();
    const wrong = new SiloGRPCClient({ servers: server.addresses, protocol, token: "wrong-token" });
    const err = await wrong.enqueue({ payload: 1, taskGroup: "a", tenant: "acme" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloUnauthenticatedError);
    expect((err as Error).message).toContain("invalid auth token");
    expect((err as Error).message).not.toContain("wrong-token");
    const none = new SiloGRPCClient({ servers: server.addresses, protocol });
    await expect(none.loadTopology()).rejects.toThrow(/missing authorization header/);
  });

  it("raises SiloUnauthenticatedError when the token function throws", async () => {
    const client = new SiloGRPCClient({
      servers: server.addresses,
      protocol,
      token: () => {
        throw new Error("vault sealed");
      },
    });
    const err = await client.enqueue({ payload: 1, taskGroup: "a", tenant: "acme" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloUnauthenticatedError);
    expect((err as Error).message).toContain("vault sealed");
  });

  it("reports a missing tenant on a server with tenancy on as an invalid argument", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses, protocol, token: "right-token" });
    const err = await client.enqueue({ payload: 1, taskGroup: "a" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloInvalidArgumentError);
    expect((err as Error).message).toContain("tenant id required");
  });
});
