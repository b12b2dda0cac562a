import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { JobAlreadyExistsError, SiloCancelledError, SiloDeadlineExceededError, SiloError, hashTenant } from "silo-edge";
import { clientFor, createdSince, protocols, useFreshTopology } from "./harness.js";

describe.each(protocols)("hung and reset connections over %s", (protocol) => {
  let server: DevServer;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 2, tenancy: true });
  });
  afterEach(() => {
    server.setFault(0, null);
    server.setFault(1, null);
  });
  afterAll(() => server.close());


  it("raises SiloDeadlineExceededError within timeoutMs when a node accepts but never answers", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    const started = Date.now();
    const err = await client.enqueue({ payload: 1, taskGroup: "g", tenant: "t" }, { timeoutMs: 400 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(SiloDeadlineExceededError);
    expect((err as SiloError).code).toBe("SILO_DEADLINE_EXCEEDED");
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(400 + 1_500);
  });

  it("raises SiloDeadlineExceededError within timeoutMs when the bootstrap server hangs", async () => {
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    const client = clientFor(server, protocol, { timeoutMs: 400 });
    const started = Date.now();
    const err = await client.getJob("some-id", "t").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloDeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(400 + 1_500);
  });

  it("stops waiting on a hung node as soon as the caller's signal aborts", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("client went away")), 100);
    const started = Date.now();
    const err = await client.enqueue({ payload: 1, taskGroup: "g", tenant: "t" }, { signal: controller.signal, timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloCancelledError);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("keeps serving other calls once the hang clears", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    server.setFault(0, "hang");
    server.setFault(1, "hang");
    await expect(client.enqueue({ payload: 1, taskGroup: "g", tenant: "t" }, { timeoutMs: 200 })).rejects.toBeInstanceOf(SiloDeadlineExceededError);
    server.setFault(0, null);
    server.setFault(1, null);
    const handle = await client.enqueue({ payload: 2, taskGroup: "g", tenant: "t" }, { timeoutMs: 3_000 });
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  /** A tenant whose shard node 1 owns: node 0, first in `servers`, keeps answering GetClusterInfo. */
  function tenantOnNode1(): string {
    const shard = server.shards().find((s) => s.nodeIndex === 1)!;
    for (let i = 0; ; i++) {
      const hash = hashTenant(`reset-${i}`);
      if ((shard.rangeStart === "" || shard.rangeStart <= hash) && (shard.rangeEnd === "" || hash < shard.rangeEnd)) return `reset-${i}`;
    }
  }

  it("retries an enqueue whose connection reset after it ran, without creating a second job", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    const tenant = tenantOnNode1();
    const before = new Set(server.jobIds());
    server.resetRpcCounts();
    server.setFault(1, "reset-after-request");
    const handle = await client.enqueue({ payload: { once: true }, taskGroup: "g", tenant });
    // The first attempt ran and stored the job; the retry found it and counted as success.
    expect(server.rpcCounts(1).Enqueue).toBeGreaterThanOrEqual(2);
    expect(createdSince(server, before)).toEqual([handle.id]);
    server.setFault(1, null);
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("names the job's id on an enqueue that failed ambiguously, so the caller can find the job", async () => {
    const client = clientFor(server, protocol, { shardRouting: { maxRetries: 0 } });
    await client.refreshTopology();
    const tenant = tenantOnNode1();
    const before = new Set(server.jobIds());
    server.setFault(1, "reset-after-request");
    const err = await client.enqueue({ payload: "maybe", taskGroup: "g", tenant }).catch((e: unknown) => e);
    server.setFault(1, null);
    expect(err).toBeInstanceOf(SiloError);
    expect((err as SiloError).code).toBe("SILO_UNAVAILABLE");
    const { jobId } = err as SiloError;
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    // The request ran before the connection broke: the job exists under exactly that id.
    expect(createdSince(server, before)).toEqual([jobId]);
    expect(await client.handle(jobId!, tenant).getStatus()).toBe("Scheduled");
  });

  it("succeeds once for a caller-given id whose connection reset after it ran", async () => {
    const client = clientFor(server, protocol);
    await client.refreshTopology();
    const tenant = tenantOnNode1();
    const id = `given-${protocol}-${Date.now()}`;
    const before = new Set(server.jobIds());
    server.setFault(1, "reset-after-request");
    const handle = await client.enqueue({ id, payload: 1, taskGroup: "g", tenant });
    expect(handle.id).toBe(id);
    expect(createdSince(server, before)).toEqual([id]);
    server.setFault(1, null);
    // The id is taken now: enqueueing it again is a duplicate, not a silent success.
    await expect(client.enqueue({ id, payload: 1, taskGroup: "g", tenant })).rejects.toBeInstanceOf(JobAlreadyExistsError);
  });

  it("creates exactly one job per acknowledged enqueue while a node loses its responses", async () => {
    const client = clientFor(server, protocol, { shardRouting: { maxRetries: 20 }, timeoutMs: 15_000 });
    await client.refreshTopology();
    const tenant = tenantOnNode1();
    const before = new Set(server.jobIds());
    server.setFault(1, "reset-after-request");
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.enqueue({ payload: i, taskGroup: "g", tenant })));
    server.setFault(1, null);
    const acked = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.id] : []));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    expect(failed).toEqual([]);
    expect(new Set(createdSince(server, before))).toEqual(new Set(acked));
    expect(acked).toHaveLength(20);
  });

  it("cancels once when the cancel's connection resets after it ran", async () => {
    const client = clientFor(server, protocol);
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant: tenantOnNode1(), startAtMs: Date.now() + 60_000 });
    server.setFault(1, "reset-after-request");
    await handle.cancel();
    server.setFault(1, null);
    expect(await handle.getStatus()).toBe("Cancelled");
  });

  it("restarts once when the restart's connection resets after it ran", async () => {
    const client = clientFor(server, protocol);
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant: tenantOnNode1(), startAtMs: Date.now() + 60_000 });
    await handle.cancel();
    server.setFault(1, "reset-after-request");
    await handle.restart();
    server.setFault(1, null);
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("expedites once when the expedite's connection resets after it ran", async () => {
    const client = clientFor(server, protocol);
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant: tenantOnNode1(), startAtMs: Date.now() + 60_000 });
    server.setFault(1, "reset-after-request");
    await handle.expedite();
    server.setFault(1, null);
    const job = await handle.getJob();
    expect(job.status).toBe("Scheduled");
  });

  it("deletes once when the delete's connection resets after it ran", async () => {
    const client = clientFor(server, protocol);
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant: tenantOnNode1(), startAtMs: Date.now() + 60_000 });
    await handle.cancel();
    // One reset: the retried DeleteJob then finds no job, which the server answers with success.
    server.setFault(1, "reset-after-next-request");
    await handle.delete();
    expect(server.jobIds()).not.toContain(handle.id);
  });
});
