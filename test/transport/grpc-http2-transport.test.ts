import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { EnqueueResponseSchema, Silo } from "../../src/gen/silo/v1/silo_pb.js";
import { createGrpcHttp2Transport } from "../../src/node/grpc-http2-transport.js";
import { requestMayHaveBeenSent } from "../../src/core/delivery-failure.js";
import { closeAllHttp2Sessions, pooledHttp2SessionCount } from "../../src/node/http2-session-pool.js";
import { frame, startRawHttp2Server } from "./raw-servers.js";
import type { RawHttp2Response } from "./raw-servers.js";
import { startSiloTestServer } from "./silo-test-server.js";
import type { SiloTestServer } from "./silo-test-server.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { callError } from "../support/call-error.js";
import { selfSignedCert } from "../support/self-signed-cert.js";

/** Polls until `check` holds, for at most 5 s (timers fire late on a loaded machine). */
async function eventually(check: () => boolean): Promise<void> {
  const until = Date.now() + 5_000;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}

let server: SiloTestServer;

beforeAll(async () => {
  server = await startSiloTestServer({ protocol: "h2c" });
});

afterEach(async () => {
  await closeAllHttp2Sessions();
});

afterAll(async () => {
  await server.close();
});

describe("createGrpcHttp2Transport", () => {
  it("returns the server's response to a unary call made through createClient", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const res = await client.enqueue({ id: "job-1", tenant: "acme" });
    expect(res.id).toBe("job-1");
    const job = await client.getJob({ id: "job-2" });
    expect(job.priority).toBe(7);
  });

  it("exposes the error code, the percent-decoded message and the server's metadata on a failed call", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const notFound = await callError(client.getJob({ id: "missing" }));
    expect(notFound.code).toBe(Code.NotFound);
    expect(notFound.rawMessage).toBe("shard not found");
    expect(notFound.metadata.get("x-silo-shard-owner-addr")).toBe("x:1");

    const precondition = await callError(client.getJob({ id: "percent" }));
    expect(precondition.code).toBe(Code.FailedPrecondition);
    expect(precondition.rawMessage).toBe("50% done, ünïcode");
  });

  it("decodes error details from grpc-status-details-bin", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const err = await callError(client.getJob({ id: "details" }));
    expect(err.code).toBe(Code.Aborted);
    expect(err.findDetails(EnqueueResponseSchema)[0]?.id).toBe("detail-id");
  });

  it("fails a call that outlives its timeoutMs with DeadlineExceeded", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const err = await callError(client.deleteJob({ id: "sleep:2000" }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("applies defaultTimeoutMs to calls that set no timeout", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl, defaultTimeoutMs: 50 }));
    const err = await callError(client.deleteJob({ id: "sleep:2000" }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("cancels a call whose signal is aborted with Canceled", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const controller = new AbortController();
    const pending = client.deleteJob({ id: "sleep:2000" }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const err = await callError(pending);
    expect(err.code).toBe(Code.Canceled);
    const already = await callError(client.enqueue({}, { signal: AbortSignal.abort() }));
    expect(already.code).toBe(Code.Canceled);
  });

  it("shares one HTTP/2 session between two transports for the same origin", async () => {
    const before = server.connections;
    const a = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const b = createClient(Silo, createGrpcHttp2Transport({ baseUrl: `${server.baseUrl}/` }));
    await Promise.all([a.enqueue({ id: "a" }), b.enqueue({ id: "b" }), a.enqueue({ id: "c" })]);
    await b.enqueue({ id: "d" });
    expect(server.connections - before).toBe(1);
    expect(pooledHttp2SessionCount()).toBe(1);
  });

  it("gives each of 64 concurrent calls on one session its own response", async () => {
    const before = server.connections;
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const ids = Array.from({ length: 64 }, (_, i) => `job-${i}`);
    const results = await Promise.all(ids.map((id) => client.enqueue({ id })));
    expect(results.map((r) => r.id)).toEqual(ids);
    expect(server.connections - before).toBe(1);
  });

  it("succeeds without an error on the first call after the server restarted", async () => {
    const restarting = await startSiloTestServer({ protocol: "h2c" });
    try {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: restarting.baseUrl }));
      expect((await client.enqueue({ id: "before" })).id).toBe("before");
      await restarting.restart();
      expect((await client.enqueue({ id: "after" })).id).toBe("after");
      expect(restarting.connections).toBe(2);
    } finally {
      await restarting.close();
    }
  });

  it("replaces a session that went silent while idle, without failing the next call", async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const client = createClient(
        Silo,
        createGrpcHttp2Transport({ baseUrl: proxy.baseUrl, pingIdleAfterMs: 20, pingTimeoutMs: 200 }),
      );
      await client.enqueue({ id: "first" });
      proxy.silenceConnections();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = server.calls.get("enqueue") ?? 0;
      expect((await client.enqueue({ id: "after-silence" }, { timeoutMs: 5_000 })).id).toBe("after-silence");
      expect(proxy.accepted).toBe(2);
      expect(server.calls.get("enqueue")).toBe(before + 1);
    } finally {
      await proxy.close();
    }
  });

  it("surfaces a connection lost after the request was sent as Unavailable and does not resend it", async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: proxy.baseUrl }));
      await client.enqueue({ id: "warm" });
      const before = server.calls.get("expediteJob") ?? 0;
      server.onExpedite = () => proxy.cutConnections();
      const err = await callError(client.expediteJob({ id: "job" }, { timeoutMs: 5_000 }));
      expect(err.code).toBe(Code.Unavailable);
      expect(requestMayHaveBeenSent(err)).toBe(true);
      expect(server.calls.get("expediteJob")).toBe(before + 1);
      // The transport recovers on its own for the next call.
      expect((await client.enqueue({ id: "next" })).id).toBe("next");
    } finally {
      server.onExpedite = undefined;
      await proxy.close();
    }
  });

  it("fails with Unavailable, marked as never sent, when nothing listens", async () => {
    const gone = await startSiloTestServer({ protocol: "h2c" });
    await gone.close();
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: gone.baseUrl }));
    const err = await callError(client.enqueue({ id: "x" }));
    expect(err.code).toBe(Code.Unavailable);
    expect(requestMayHaveBeenSent(err)).toBe(false);
  });

  it("closes a session that stayed idle for idleTimeoutMs", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl, idleTimeoutMs: 100 }));
    await client.enqueue({ id: "idle" });
    expect(pooledHttp2SessionCount()).toBe(1);
    await eventually(() => pooledHttp2SessionCount() === 0);
    expect(pooledHttp2SessionCount()).toBe(0);
    expect((await client.enqueue({ id: "again" })).id).toBe("again");
  });

  it("drops a session from the pool when the server sends GOAWAY and opens a new one for the next call", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    await client.enqueue({ id: "before" });
    const before = server.connections;
    server.goAway();
    await eventually(() => pooledHttp2SessionCount() === 0);
    expect(pooledHttp2SessionCount()).toBe(0);
    expect((await client.enqueue({ id: "after" })).id).toBe("after");
    expect(server.connections).toBe(before + 1);
  });

  it("keeps the process alive while a call is in flight and lets it exit once the call is done", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/one-call-then-idle.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", fixture, server.baseUrl], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exitCode = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill();
        resolve("still running after 8 s");
      }, 8_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code ?? -1);
      });
    });
    expect({ exitCode, stdout: stdout.trim(), stderr }).toEqual({ exitCode: 0, stdout: "from-child", stderr: "" });
  });

  describe("over TLS", () => {
    let tlsServer: SiloTestServer | undefined;
    let cert = "";

    beforeAll(async () => {
      const pair = selfSignedCert();
      cert = pair.cert;
      tlsServer = await startSiloTestServer({ protocol: "h2c", tls: pair });
    });

    afterAll(async () => {
      await tlsServer?.close();
    });

    it("calls an https server whose certificate is signed by the CA in tlsOptions", async () => {
      const baseUrl = (tlsServer as SiloTestServer).baseUrl;
      expect(baseUrl).toMatch(/^https:/);
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl, tlsOptions: { ca: cert } }));
      expect((await client.enqueue({ id: "tls" })).id).toBe("tls");
    });

    it("fails with Unavailable, marked as never sent, when the certificate is not trusted", async () => {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: (tlsServer as SiloTestServer).baseUrl }));
      const err = await callError(client.enqueue({ id: "untrusted" }));
      expect(err.code).toBe(Code.Unavailable);
      expect(requestMayHaveBeenSent(err)).toBe(false);
    });
  });

  it("runs interceptors, which can set request headers and read response headers", async () => {
    const seen: string[] = [];
    const interceptor: Interceptor = (next) => async (req) => {
      seen.push(`${req.method.name} ${req.url}`);
      req.header.set("x-test-echo", "hello");
      const res = await next(req);
      seen.push(`echo=${res.header.get("x-test-echo")}`);
      return res;
    };
    const client = createClient(
      Silo,
      createGrpcHttp2Transport({ baseUrl: server.baseUrl, interceptors: [interceptor] }),
    );
    expect((await client.enqueue({ id: "i" })).id).toBe("i");
    expect(seen).toEqual([`Enqueue ${server.baseUrl}/silo.v1.Silo/Enqueue`, "echo=hello"]);
    const err = await callError(client.deleteJob({ id: "sleep:2000" }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("passes call headers to the server and response headers to onHeader", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    let echoed: string | null = null;
    await client.enqueue(
      { id: "h" },
      { headers: { "X-Test-Echo": "from-call" }, onHeader: (h) => (echoed = h.get("x-test-echo")) },
    );
    expect(echoed).toBe("from-call");
  });

  it("hands streaming calls to connect-node's gRPC transport", async () => {
    const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: server.baseUrl }));
    const parts: string[] = [];
    for await (const msg of client.queryArrow({ sql: "q" })) parts.push(new TextDecoder().decode(msg.ipcData));
    expect(parts).toEqual(["q:0", "q:1", "q:2"]);
  });

  it("rejects a baseUrl that is not an http(s) URL when the transport is created", () => {
    expect(() => createGrpcHttp2Transport({ baseUrl: "localhost:7450" })).toThrow(/baseUrl/);
  });
});

describe("createGrpcHttp2Transport against a misbehaving server", () => {
  const okHeaders = { ":status": 200, "content-type": "application/grpc+proto" };
  const validMessage = frame(0, new Uint8Array([0x0a, 0x02, 0x69, 0x64])); // EnqueueResponse{id:"id"}

  async function callAgainst(response: RawHttp2Response): Promise<ConnectError | string> {
    const raw = await startRawHttp2Server(() => response);
    try {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: raw.baseUrl }));
      return (await client.enqueue({ id: "x" }, { timeoutMs: 5_000 })).id;
    } catch (e) {
      expect(e).toBeInstanceOf(ConnectError);
      return e as ConnectError;
    } finally {
      await closeAllHttp2Sessions();
      await raw.close();
    }
  }

  it("accepts a well-formed hand-written response", async () => {
    expect(await callAgainst({ headers: okHeaders, body: [validMessage], trailers: { "grpc-status": "0" } })).toBe("id");
  });

  it("reads the status of a trailers-only response from its headers", async () => {
    const err = await callAgainst({
      headers: { ...okHeaders, "grpc-status": "8", "grpc-message": "slow%20down", "x-silo-shard-owner-addr": "y:2" },
      headersOnly: true,
    });
    expect(err).toMatchObject({ code: Code.ResourceExhausted, rawMessage: "slow down" });
    expect((err as ConnectError).metadata.get("x-silo-shard-owner-addr")).toBe("y:2");
  });

  it("keeps response headers and trailers in the metadata of an error", async () => {
    const err = await callAgainst({
      headers: { ...okHeaders, "x-from-header": "h" },
      trailers: { "grpc-status": "14", "grpc-message": "later", "x-from-trailer": "t" },
    });
    expect(err).toMatchObject({ code: Code.Unavailable, rawMessage: "later" });
    expect((err as ConnectError).metadata.get("x-from-header")).toBe("h");
    expect((err as ConnectError).metadata.get("x-from-trailer")).toBe("t");
  });

  it("maps a non-200 HTTP status by the gRPC table", async () => {
    const err = await callAgainst({ headers: { ":status": 503, "content-type": "text/plain" }, body: [new TextEncoder().encode("busy")] });
    expect(err).toMatchObject({ code: Code.Unavailable, rawMessage: "HTTP 503" });
  });

  it("fails with Unknown on a content type that is not gRPC", async () => {
    const err = await callAgainst({
      headers: { ":status": 200, "content-type": "text/html" },
      body: [new TextEncoder().encode("<html>")],
    });
    expect(err).toMatchObject({ code: Code.Unknown });
    expect((err as ConnectError).rawMessage).toMatch(/content-type "text\/html"/);
  });

  it("fails with Internal on a truncated frame", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [validMessage.subarray(0, 7)], trailers: { "grpc-status": "0" } });
    expect(err).toMatchObject({ code: Code.Internal });
    expect((err as ConnectError).rawMessage).toMatch(/truncated/);
  });

  it("fails with Internal on garbage that is not a valid message", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [frame(0, new Uint8Array([0xff, 0xff, 0xff]))], trailers: { "grpc-status": "0" } });
    expect(err).toMatchObject({ code: Code.Internal });
  });

  it("fails with Internal when the response carries no grpc-status", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [validMessage] });
    expect(err).toMatchObject({ code: Code.Internal });
    expect((err as ConnectError).rawMessage).toMatch(/grpc-status/);
  });

  it("fails with Unimplemented on a second response message", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [validMessage, validMessage], trailers: { "grpc-status": "0" } });
    expect(err).toMatchObject({ code: Code.Unimplemented });
  });

  it("fails with Internal on a compressed frame it never asked for", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [frame(1, new Uint8Array([1, 2]))], trailers: { "grpc-status": "0" } });
    expect(err).toMatchObject({ code: Code.Internal });
  });

  it("fails with Internal on an out-of-range grpc-status", async () => {
    const err = await callAgainst({ headers: okHeaders, body: [validMessage], trailers: { "grpc-status": "99" } });
    expect(err).toMatchObject({ code: Code.Internal });
  });

  it("resends, invisibly, a call the server refused without processing it", async () => {
    let streams = 0;
    const raw = await startRawHttp2Server(() => {
      streams++;
      if (streams === 2) return { headers: okHeaders, rstCode: http2.constants.NGHTTP2_REFUSED_STREAM };
      return { headers: okHeaders, body: [validMessage], trailers: { "grpc-status": "0" } };
    });
    try {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: raw.baseUrl }));
      expect((await client.enqueue({ id: "x" })).id).toBe("id");
      expect((await client.enqueue({ id: "x" })).id).toBe("id");
      expect(streams).toBe(3);
    } finally {
      await closeAllHttp2Sessions();
      await raw.close();
    }
  });

  it("fails with Unavailable, marked as never sent, when the server refuses every attempt", async () => {
    let streams = 0;
    const raw = await startRawHttp2Server(() => {
      streams++;
      return { headers: okHeaders, rstCode: http2.constants.NGHTTP2_REFUSED_STREAM };
    });
    try {
      const client = createClient(Silo, createGrpcHttp2Transport({ baseUrl: raw.baseUrl }));
      const err = await callError(client.enqueue({ id: "x" }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain("REFUSED_STREAM");
      expect(requestMayHaveBeenSent(err)).toBe(false);
      // The first attempt and two resends.
      expect(streams).toBe(3);
    } finally {
      await closeAllHttp2Sessions();
      await raw.close();
    }
  });

  it("maps a stream reset by the server to the gRPC code of its HTTP/2 error", async () => {
    const err = await callAgainst({ headers: okHeaders, rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    expect(err).toMatchObject({ code: Code.ResourceExhausted });
  });
});
