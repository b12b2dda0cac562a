import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloGRPCClient, SiloJobClient, SiloValidationError, type Protocol } from "silo-edge";
import { SiloJobClient as FromWorkersGrpc } from "silo-edge/workers-grpc";

// SiloJobClient is the application side of SiloGRPCClient (its base class): the same options,
// routing and job calls, without the worker, import, query and admin methods.

describe.each<Protocol>(["grpc", "grpc-web"])("SiloJobClient over %s", (protocol) => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
  });
  afterAll(() => server.close());

  it("enqueues for each tenant's shard and looks after the job: status, cancel, restart, delete", async () => {
    const client = new SiloJobClient({ servers: server.addresses, useTls: false, protocol });
    for (const tenant of ["acme", "globex", "initech"]) {
      const handle = await client.enqueue({ payload: { tenant }, taskGroup: "jobs", tenant });
      expect(await handle.getStatus()).toBe("Scheduled");
      await handle.cancel();
      expect(await client.getJobStatus(handle.id, tenant)).toBe("Cancelled");
      await client.restartJob(handle.id, tenant);
      expect(await client.getJobStatus(handle.id, tenant)).toBe("Scheduled");
      await client.cancelJob(handle.id, tenant);
      await client.deleteJob(handle.id, tenant);
      expect(server.jobIds()).not.toContain(handle.id);
    }
  });

  it("works beside a SiloGRPCClient for the same servers in one process, in either order", async () => {
    const jobs = new SiloJobClient({ servers: server.addresses, useTls: false, protocol });
    const first = await jobs.enqueue({ payload: 1, taskGroup: `beside-${protocol}`, tenant: "acme" });
    const full = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
    // The full client's RPCs for these nodes are its own, not the job client's cached ones.
    const leased = await full.leaseTask({ id: first.id, workerId: "w", tenant: "acme" });
    expect(leased.jobId).toBe(first.id);
    const second = await jobs.enqueue({ payload: 2, taskGroup: `beside-${protocol}`, tenant: "acme" });
    expect(await full.getJobStatus(second.id, "acme")).toBe("Scheduled");
  });

  it("hands callRouted the job RPCs only, where SiloGRPCClient hands out every RPC", async () => {
    const jobs = new SiloJobClient({ servers: server.addresses, useTls: false, protocol });
    const full = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol });
    const names = (client: SiloJobClient) => client.callRouted("GetJob", { tenant: "acme" }, async (rpc) => Object.keys(rpc).sort(), undefined);
    expect(await names(jobs)).toEqual(["cancelJob", "deleteJob", "enqueue", "expediteJob", "getClusterInfo", "getJob", "getJobResult", "restartJob"]);
    expect(await names(full)).toEqual(expect.arrayContaining(["enqueue", "heartbeat", "importJobs", "leaseTasks", "query", "reportOutcome", "resetShards"]));
  });
});

describe("SiloJobClient", () => {
  it("is the base class of SiloGRPCClient, and builds on the SiloJobClient of silo-edge/workers-grpc", () => {
    expect(new SiloGRPCClient({ servers: "127.0.0.1:7450" })).toBeInstanceOf(SiloJobClient);
    expect(new SiloJobClient({ servers: "127.0.0.1:7450" })).toBeInstanceOf(FromWorkersGrpc);
  });

  it("from silo-edge/workers-grpc speaks every protocol on Node, which needs no import to load them", () => {
    for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
      expect(new FromWorkersGrpc({ servers: "127.0.0.1:7450", protocol }).protocol).toBe(protocol);
    }
  });

  it("has none of the worker, import, query or admin methods", () => {
    const client = new SiloJobClient({ servers: "127.0.0.1:7450" }) as unknown as Record<string, unknown>;
    for (const name of ["leaseTask", "leaseTasks", "reportOutcome", "reportRefreshOutcome", "heartbeat", "importJobs", "query", "resetShards"]) {
      expect(client[name], name).toBeUndefined();
    }
    expect(typeof client.enqueue).toBe("function");
  });

  it("names its own class, and never the token, in toString", () => {
    expect(String(new SiloJobClient({ servers: "127.0.0.1:7450", token: "s3cret" }))).toBe("SiloJobClient(127.0.0.1:7450, grpc)");
    expect(String(new SiloGRPCClient({ servers: "127.0.0.1:7450", token: "s3cret" }))).toBe("SiloGRPCClient(127.0.0.1:7450, grpc)");
  });

  it("checks its options like SiloGRPCClient, naming the field, before any call", () => {
    expect(() => new SiloJobClient({ servers: "127.0.0.1:7450", timeoutMs: 0 })).toThrow(SiloValidationError);
    try {
      new SiloJobClient({ servers: "127.0.0.1:7450", protocol: "http" as Protocol });
    } catch (e) {
      expect((e as SiloValidationError).field).toBe("protocol");
    }
    expect.assertions(2);
  });
});
