import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { SiloFailedPreconditionError, SiloGRPCClient } from "silo-edge";
import { expectError, transports, uniqueGroup } from "./harness.js";

describe.each(transports)("tenancy and auth over $name", (transport) => {
  let plain: DevServer;
  let tenanted: DevServer;
  let secured: DevServer;
  let plainShard: string;
  let tenantedShard: string;

  beforeAll(async () => {
    [plain, tenanted, secured] = await Promise.all([
      startDevServer({ port: 0 }),
      startDevServer({ port: 0, tenancy: true }),
      startDevServer({ port: 0, token: "s3cret" }),
    ]);
    plainShard = plain.shards()[0]?.id as string;
    tenantedShard = tenanted.shards()[0]?.id as string;
  });
  afterAll(async () => {
    await Promise.all([plain.close(), tenanted.close(), secured.close()]);
  });

  describe("with tenancy disabled", () => {
    it("accepts jobs without a tenant and leases them without a tenant_id", async () => {
      const client = transport.client(plain.addresses[0] as string);
      const taskGroup = uniqueGroup();
      const { id } = await client.enqueue({ shard: plainShard, taskGroup });
      const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
      expect(tasks[0]?.jobId).toBe(id);
      expect(tasks[0]?.tenantId).toBeUndefined();
    });

    it("treats an empty tenant as no tenant", async () => {
      const client = transport.client(plain.addresses[0] as string);
      await client.enqueue({ shard: plainShard, tenant: "", taskGroup: "g" });
    });

    it("refuses a tenant with FAILED_PRECONDITION, in the stock server's exact words, with the flag that fits as metadata", async () => {
      const refused = await expectError(
        transport.client(plain.addresses[0] as string).enqueue({ shard: plainShard, tenant: "acme", taskGroup: "g" }),
        Code.FailedPrecondition,
        "tenant must not be provided when tenancy is disabled on the server",
      );
      expect(refused.metadata.get("x-silo-dev-server-hint")).toBe("the dev server runs without --tenancy: send no tenant, or restart it with --tenancy");
    });

    it("shows that hint in the message of the error silo-edge's client throws", async () => {
      const client = new SiloGRPCClient({ servers: plain.addresses, useTls: false, protocol: transport.name.startsWith("gRPC-web") ? "grpc-web" : "grpc" });
      const error = await client.enqueue({ payload: 1, taskGroup: "g", tenant: "acme" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SiloFailedPreconditionError);
      expect((error as SiloFailedPreconditionError).grpcMessage).toBe("tenant must not be provided when tenancy is disabled on the server");
      expect((error as Error).message).toContain("restart it with --tenancy");
    });
  });

  describe("with tenancy enabled", () => {
    it("requires a tenant, in the stock server's exact words, with the flag that fits as metadata", async () => {
      const refused = await expectError(
        transport.client(tenanted.addresses[0] as string).enqueue({ shard: tenantedShard, taskGroup: "g" }),
        Code.InvalidArgument,
        "tenant id required",
      );
      expect(refused.metadata.get("x-silo-dev-server-hint")).toBe("the dev server runs with --tenancy: send a tenant, or restart it without --tenancy");
    });

    it("refuses a tenant longer than 64 characters", async () => {
      await expectError(
        transport.client(tenanted.addresses[0] as string).getJob({ shard: tenantedShard, id: "x", tenant: "t".repeat(65) }),
        Code.InvalidArgument,
        "invalid tenant id",
      );
    });

    it("accepts a 64-character tenant and hands it back on the task", async () => {
      const client = transport.client(tenanted.addresses[0] as string);
      const tenant = "t".repeat(64);
      const taskGroup = uniqueGroup();
      const { id } = await client.enqueue({ shard: tenantedShard, tenant, taskGroup });
      const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup });
      expect(tasks[0]).toMatchObject({ jobId: id, tenantId: tenant, shard: tenantedShard });
    });

    it("keeps jobs of different tenants apart even with the same id", async () => {
      const client = transport.client(tenanted.addresses[0] as string);
      await client.enqueue({ shard: tenantedShard, tenant: "a", id: "same-id", taskGroup: "g" });
      await client.enqueue({ shard: tenantedShard, tenant: "b", id: "same-id", taskGroup: "g" });
      await expectError(client.getJob({ shard: tenantedShard, tenant: "c", id: "same-id" }), Code.NotFound, "job not found");
    });
  });

  describe("with a token", () => {
    it("refuses a call without an authorization header", async () => {
      await expectError(
        transport.client(secured.addresses[0] as string).getClusterInfo({}),
        Code.Unauthenticated,
        "missing authorization header",
      );
    });

    it("refuses a wrong token", async () => {
      await expectError(
        transport.client(secured.addresses[0] as string, { token: "wrong" }).getClusterInfo({}),
        Code.Unauthenticated,
        "invalid auth token",
      );
    });

    it("serves a call with the right bearer token", async () => {
      const client = transport.client(secured.addresses[0] as string, { token: "s3cret" });
      const info = await client.getClusterInfo({});
      expect(info.numShards).toBe(1);
      const shard = info.shardOwners[0]?.shardId as string;
      await client.enqueue({ shard, taskGroup: "g" });
    });
  });
});
