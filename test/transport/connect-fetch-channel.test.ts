import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  JobNotFoundError,
  JobNotTerminalError,
  SiloGRPCClient,
  SiloUnauthenticatedError,
  clearTopologyCache,
  hashTenant,
} from "silo-edge";
import { createConnectFetchChannel } from "../../src/core/connect-fetch-channel.js";
import { createSiloRpc } from "../../src/core/silo-rpc.js";

// The client's own Connect-protocol channel (binary, unary) against the dev server, which speaks
// Connect on the same port as gRPC and gRPC-web.

describe("the Connect protocol channel", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true, token: "secret" });
  });
  afterAll(() => server.close());
  const client = (extra: Record<string, unknown> = {}) =>
    new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol: "connect", token: "secret", ...extra });

  it("enqueues and reads a job back, payload, metadata and limits intact", async () => {
    const c = client();
    const handle = await c.enqueue({
      payload: { order: 42, items: ["a", "ü"] },
      taskGroup: "connect",
      tenant: "acme",
      metadata: { source: "test" },
      limits: [{ type: "concurrency", key: "k", maxConcurrency: 3 }],
    });
    const job = await c.getJob(handle.id, "acme");
    expect(job.payload).toEqual({ order: 42, items: ["a", "ü"] });
    expect(job.metadata).toEqual({ source: "test" });
    expect(job.limits).toEqual([{ type: "concurrency", key: "k", maxConcurrency: 3 }]);
    expect(await c.getJobStatus(handle.id, "acme")).toBe("Scheduled");
  });

  it("maps the JSON error body to typed errors", async () => {
    const c = client();
    const handle = await c.enqueue({ payload: null, taskGroup: "connect", tenant: "acme" });
    await expect(c.getJobResult(handle.id, "acme")).rejects.toBeInstanceOf(JobNotTerminalError);
    await expect(c.getJob("no-such-job", "acme")).rejects.toBeInstanceOf(JobNotFoundError);
    clearTopologyCache();
    await expect(client({ token: "wrong" }).enqueue({ payload: 1, taskGroup: "connect", tenant: "acme" })).rejects.toBeInstanceOf(SiloUnauthenticatedError);
  });

  it("reads the shard owner from the error metadata and follows it after a shard moves", async () => {
    const c = client();
    const tenant = "moving";
    await c.enqueue({ payload: 1, taskGroup: "connect", tenant });
    const hash = hashTenant(tenant);
    const shard = server.shards().find((s) => (s.rangeStart === "" || s.rangeStart <= hash) && (s.rangeEnd === "" || hash < s.rangeEnd))!;
    const to = (shard.nodeIndex + 1) % 2;
    server.moveShard(shard.id, to);
    server.resetRpcCounts();
    const handle = await c.enqueue({ payload: 2, taskGroup: "connect", tenant });
    expect(server.rpcCounts(shard.nodeIndex).Enqueue).toBe(1);
    expect(server.rpcCounts(to).Enqueue).toBe(1);
    expect(await handle.getStatus()).toBe("Scheduled");

    const rpc = createSiloRpc(createConnectFetchChannel({ baseUrl: `http://${server.addresses[shard.nodeIndex]}` }));
    const err = await rpc
      .enqueue({ shard: shard.id, taskGroup: "connect", tenant, payload: { encoding: { case: "msgpack", value: new Uint8Array([1]) } } }, { headers: new Headers({ authorization: "Bearer secret" }) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toBe("shard not found");
    expect((err as ConnectError).metadata.get("x-silo-shard-owner-addr")).toBe(server.addresses[to]);
  });

  it("sends connect-timeout-ms and fails with DEADLINE_EXCEEDED when the server never answers", async () => {
    const seen: Headers[] = [];
    const hanging: typeof fetch = (_input, init) => {
      seen.push(new Headers(init?.headers));
      return new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    };
    const rpc = createSiloRpc(createConnectFetchChannel({ baseUrl: "http://127.0.0.1:1", fetch: hanging }));
    const err = await rpc.getJob({ shard: "s", id: "j" }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(seen[0]?.get("connect-timeout-ms")).toBe("50");
    expect(seen[0]?.get("connect-protocol-version")).toBe("1");
    expect(seen[0]?.get("content-type")).toBe("application/proto");
  });
});
