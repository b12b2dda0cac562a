import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { hashTenant, JobAlreadyExistsError, SiloGRPCClient, SiloValidationError } from "../../src/index.js";

describe("enqueueMany", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  const tenants = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses });
  });

  afterAll(async () => {
    await server.close();
  });

  /** The shard whose hash range holds `tenant`. */
  const shardOf = (tenant: string): string => {
    const h = hashTenant(tenant);
    const shard = server.shards().find((s) => s.rangeStart <= h && (s.rangeEnd === "" || h < s.rangeEnd));
    return shard?.id as string;
  };

  it("stores every job on its tenant's shard and answers in input order", async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => ({ payload: { i }, taskGroup: "many", tenant: tenants[i % tenants.length] as string }));
    const results = await client.enqueueMany(jobs, { concurrency: 8 });
    expect(results).toHaveLength(60);
    results.forEach((r, i) => {
      expect(r.status, `job ${i}`).toBe("fulfilled");
      if (r.status !== "fulfilled") return;
      expect(r.handle.tenant).toBe(jobs[i]?.tenant);
      expect(server.jobsOnShard(shardOf(jobs[i]?.tenant as string))).toContain(r.id);
    });
    expect(new Set(results.map((r) => r.id)).size).toBe(60);
  });

  it("settles each job on its own: an invalid job and a taken id fail alone, with their ids", async () => {
    const [taken] = await client.enqueueMany([{ payload: 1, taskGroup: "many", tenant: "acme" }]);
    const results = await client.enqueueMany([
      { payload: 1, taskGroup: "many", tenant: "acme" },
      { payload: 2, taskGroup: "", tenant: "acme" },
      { id: taken?.id as string, payload: 3, taskGroup: "many", tenant: "acme" },
      { id: "given-id-1", payload: 4, taskGroup: "many", tenant: "globex" },
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect(results[1]).toMatchObject({ status: "rejected", error: expect.any(SiloValidationError) });
    expect((results[1] as unknown as { error: SiloValidationError }).error.field).toBe("taskGroup");
    expect(results[1]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(results[2]).toMatchObject({ status: "rejected", id: taken?.id, error: expect.any(JobAlreadyExistsError) });
    expect(results[3]).toMatchObject({ status: "fulfilled", id: "given-id-1" });
  });

  it("keeps at most `concurrency` enqueues in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const counting: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const isEnqueue = url.endsWith("/Enqueue");
      if (isEnqueue) most = Math.max(most, ++inFlight);
      try {
        return await fetch(input, init);
      } finally {
        if (isEnqueue) inFlight--;
      }
    };
    const web = new SiloGRPCClient({ servers: server.addresses, protocol: "grpc-web", fetch: counting });
    const jobs = Array.from({ length: 40 }, (_, i) => ({ payload: i, taskGroup: "bounded", tenant: tenants[i % tenants.length] as string }));
    const results = await web.enqueueMany(jobs, { concurrency: 3 });
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
  });

  it("resolves with no results for no jobs, and throws for a bad list or bad options before any call", async () => {
    expect(await client.enqueueMany([])).toEqual([]);
    await expect(client.enqueueMany("nope" as never)).rejects.toMatchObject({ field: "jobs" });
    await expect(client.enqueueMany([], { concurrency: 0 })).rejects.toMatchObject({ field: "concurrency" });
    await expect(client.enqueueMany([], { parallel: 2 } as never)).rejects.toMatchObject({ field: "parallel" });
  });
});
