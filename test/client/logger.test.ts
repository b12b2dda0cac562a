import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { recordingLogger } from "../support/recording-logger.js";
import { createRequestScope, SiloGRPCClient, SiloValidationError } from "../../src/index.js";


const TOKEN = "s3cret-token-never-logged";

describe("the client's logger", () => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, token: TOKEN });
  });

  afterAll(async () => {
    await server.close();
  });

  it("logs the topology refresh, a redirect to the shard's new owner, and retries, with structured fields and never the token", async () => {
    const { logger, entries } = recordingLogger();
    const client = new SiloGRPCClient({ servers: server.addresses, token: TOKEN, logger });
    await client.enqueue({ payload: 1, taskGroup: "logged" });
    expect(entries).toContainEqual({ level: "info", fields: { server: server.addresses[0], shards: 4 }, message: "silo-edge: cluster topology refreshed" });

    // Every shard moves to the other node: the next enqueue is redirected.
    for (const shard of server.shards()) server.moveShard(shard.id, 1 - shard.nodeIndex);
    await client.enqueue({ payload: 2, taskGroup: "logged" });
    const redirect = entries.find((e) => e.message === "silo-edge: redirected to the shard's owner");
    expect(redirect?.level).toBe("debug");
    expect(redirect?.fields).toMatchObject({ op: "Enqueue", shard: expect.any(String), from: expect.any(String), to: expect.any(String) });
    expect(redirect?.fields.from).not.toBe(redirect?.fields.to);

    // Every shard answers UNAVAILABLE for a moment: the enqueue retries, then succeeds.
    for (const shard of server.shards()) server.pauseShard(shard.id);
    setTimeout(() => {
      for (const shard of server.shards()) server.pauseShard(shard.id, false);
    }, 150);
    await client.enqueue({ payload: 3, taskGroup: "logged" });
    const retries = entries.filter((e) => e.level === "warn" && e.message.includes("retrying"));
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]?.fields).toMatchObject({ op: "Enqueue", attempt: 1, code: expect.any(String), backoffMs: expect.any(Number) });

    expect(JSON.stringify(entries)).not.toContain(TOKEN);
  });

  it("receives a failed background enqueue as an error entry naming the job, when the adapter has no onError", async () => {
    const { logger, entries } = recordingLogger();
    const gone = await startDevServer({ port: 0 });
    const address = gone.addresses[0] as string;
    await gone.close();
    const client = new SiloGRPCClient({ servers: [address], shardRouting: { maxRetries: 0 }, timeoutMs: 1_000, logger });
    const scope = createRequestScope({ client, tenant: "acme" });
    const id = await scope.enqueueInBackground({ payload: 1, taskGroup: "logged" });
    const failure = entries.find((e) => e.level === "error");
    expect(failure).toMatchObject({ message: "silo-edge: background enqueue failed", fields: { jobId: id, tenant: "acme", code: expect.any(String) } });
  });

  it("is checked when the client is built, and a logger that throws never fails a call", async () => {
    expect(() => new SiloGRPCClient({ servers: server.addresses, logger: { info: () => undefined } as never })).toThrow(SiloValidationError);
    const throwing = { debug: () => { throw new Error("x"); }, info: () => { throw new Error("x"); }, warn: () => { throw new Error("x"); }, error: () => { throw new Error("x"); } };
    const client = new SiloGRPCClient({ servers: server.addresses, token: TOKEN, logger: throwing });
    expect((await client.enqueue({ payload: 1, taskGroup: "logged" })).id).toBeTruthy();
  });
});
