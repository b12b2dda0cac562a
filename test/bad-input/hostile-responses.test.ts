import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SiloError, SiloGRPCClient, clearTopologyCache, type Protocol } from "silo-edge";
import { GetClusterInfoResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";

/**
 * Servers that answer with what no Silo would send. Whatever arrives, the client must reject
 * with a typed SiloError within the call's deadline: no crash, no hang, no untyped error.
 */

const TIMEOUT_MS = 800;
/** Deadline plus scheduling slack on a busy CI machine. */
const WITHIN_MS = TIMEOUT_MS + 1_500;

/** One hostile behaviour, for one RPC path. */
type Reply = {
  status?: number;
  contentType?: string;
  /** Body chunks; `"hang"` leaves the response open. */
  body: Array<Uint8Array | string> | "hang";
  /** gRPC trailers (HTTP/2) or the gRPC-web trailer frame (HTTP/1.1). Default none. */
  trailers?: Record<string, string>;
  /** Destroy the connection after writing the body. */
  destroy?: boolean;
};

function frame(payload: Uint8Array, flags = 0, declaredLength = payload.length): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  const view = new DataView(out.buffer);
  out[0] = flags;
  view.setUint32(1, declaredLength >>> 0);
  out.set(payload, 5);
  return out;
}

function trailerFrame(trailers: Record<string, string>): Uint8Array {
  const text = Object.entries(trailers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return frame(new TextEncoder().encode(text), 0x80);
}

const garbage = new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));

/** Hostile answers, by name. The content type is right unless the case is about it. */
const replies: Array<[string, Reply]> = [
  ["garbage bytes instead of a gRPC frame", { body: [garbage], trailers: { "grpc-status": "0" } }],
  ["garbage bytes and no status at all", { body: [garbage] }],
  ["a truncated frame (length 100, 10 bytes sent)", { body: [frame(garbage.subarray(0, 10), 0, 100)], trailers: { "grpc-status": "0" } }],
  ["an enormous length prefix (4 GiB)", { body: [frame(garbage, 0, 0xffffffff)], trailers: { "grpc-status": "0" } }],
  ["an enormous length prefix, then the connection dies", { body: [frame(garbage, 0, 0xfffffff0)], destroy: true }],
  ["a well-framed message that is not protobuf", { body: [frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))], trailers: { "grpc-status": "0" } }],
  ["a compressed-flag frame nobody negotiated", { body: [frame(garbage, 1)], trailers: { "grpc-status": "0" } }],
  ["a wrong content type (text/html)", { contentType: "text/html; charset=utf-8", body: ["<html><body>502 Bad Gateway</body></html>"] }],
  ["a JSON content type", { contentType: "application/json", body: ['{"error":"nope"}'] }],
  ["HTTP 502 from a proxy", { status: 502, contentType: "text/plain", body: ["upstream connect error"] }],
  ["HTTP 404", { status: 404, contentType: "text/plain", body: ["not found"] }],
  ["a non-numeric grpc-status", { body: [], trailers: { "grpc-status": "banana", "grpc-message": "x" } }],
  ["grpc-status 99", { body: [], trailers: { "grpc-status": "99" } }],
  ["two messages for a unary call", { body: [frame(new Uint8Array()), frame(new Uint8Array())], trailers: { "grpc-status": "0" } }],
  ["headers, then silence", { body: "hang" }],
  ["a closed connection after the headers", { body: [], destroy: true }],
];

/** gRPC over HTTP/2 cleartext: a raw node:http2 server. */
async function hostileH2(reply: (path: string) => Reply): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http2.createServer();
  server.on("sessionError", () => undefined);
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    const r = reply(String(headers[":path"]));
    const send = (): void => {
      stream.respond({ ":status": r.status ?? 200, "content-type": r.contentType ?? "application/grpc" }, { waitForTrailers: r.trailers !== undefined });
      if (r.body === "hang") return;
      if (r.trailers) stream.once("wantTrailers", () => stream.sendTrailers(r.trailers!));
      for (const chunk of r.body) stream.write(chunk);
      if (r.destroy) {
        setTimeout(() => stream.session?.destroy(), 10);
        return;
      }
      stream.end();
    };
    // Read the request first, as a real server does.
    stream.resume();
    stream.on("end", send);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** gRPC-web over HTTP/1.1: a raw node:http server. */
async function hostileH1(reply: (path: string) => Reply): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const r = reply(req.url ?? "");
      res.writeHead(r.status ?? 200, { "content-type": r.contentType ?? "application/grpc-web+proto" });
      if (r.body === "hang") {
        res.flushHeaders();
        return;
      }
      for (const chunk of r.body) res.write(chunk);
      if (r.trailers) res.write(trailerFrame(r.trailers));
      if (r.destroy) {
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      res.end();
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A valid GetClusterInfo answer: one shard, owned by `address` itself. */
function clusterInfo(address: string): Uint8Array {
  return toBinary(
    GetClusterInfoResponseSchema,
    create(GetClusterInfoResponseSchema, {
      numShards: 1,
      shardOwners: [{ shardId: "2c5fb1b4-9c55-4c4b-9d3e-0c4b0f1e7a10", grpcAddr: address, nodeId: "hostile", rangeStart: "", rangeEnd: "" }],
      thisNodeId: "hostile",
      thisGrpcAddr: address,
    }),
  );
}

/** Runs `call` and asserts it rejects with a SiloError within the deadline. */
async function expectTypedFailure(call: () => Promise<unknown>): Promise<SiloError> {
  const started = Date.now();
  let outcome: unknown = "resolved";
  try {
    await call();
  } catch (e) {
    outcome = e;
  }
  const elapsed = Date.now() - started;
  expect(outcome).toBeInstanceOf(SiloError);
  expect(elapsed).toBeLessThan(WITHIN_MS);
  return outcome as SiloError;
}

const transports: Array<[Protocol, typeof hostileH2]> = [
  ["grpc", hostileH2],
  ["grpc-web", hostileH1],
];

describe.each(transports)("hostile responses over %s", (protocol, start) => {
  let current: Reply = { body: [] };
  let topologyThenHostile = false;
  let server: { address: string; close: () => Promise<void> };

  beforeAll(async () => {
    server = await start((path) => {
      if (topologyThenHostile && path.endsWith("/GetClusterInfo")) {
        const info = frame(clusterInfo(server.address));
        return { body: [info], trailers: { "grpc-status": "0" } };
      }
      return current;
    });
  });
  afterEach(() => clearTopologyCache());
  afterAll(() => server.close());

  const client = (): SiloGRPCClient =>
    new SiloGRPCClient({ servers: server.address, useTls: false, protocol, timeoutMs: TIMEOUT_MS, shardRouting: { maxRetries: 2 } });

  it.each(replies)("GetClusterInfo answered with %s is a typed error", async (_name, reply) => {
    topologyThenHostile = false;
    current = reply;
    const err = await expectTypedFailure(() => client().getJob("job-1"));
    // A length prefix above maxReceiveMessageBytes is refused as resource exhausted before its bytes arrive.
    expect(err.code).toMatch(/^SILO_(UNAVAILABLE|DEADLINE_EXCEEDED|GRPC_ERROR|INTERNAL|RESOURCE_EXHAUSTED)$/);
  });

  it.each(replies)("Enqueue answered with %s, behind a valid topology, is a typed error", async (_name, reply) => {
    topologyThenHostile = true;
    current = reply;
    const c = client();
    await c.refreshTopology();
    const err = await expectTypedFailure(() => c.enqueue({ payload: { a: 1 }, taskGroup: "g" }));
    // Never blamed on the caller's arguments, nor reported as a cancel nobody asked for.
    // A length prefix above maxReceiveMessageBytes is refused as resource exhausted before its bytes arrive.
    expect(err.code).toMatch(/^SILO_(UNAVAILABLE|DEADLINE_EXCEEDED|GRPC_ERROR|INTERNAL|RESOURCE_EXHAUSTED)$/);
  });

  it("keeps working against a healthy answer afterwards (nothing was poisoned)", async () => {
    topologyThenHostile = true;
    current = { body: [frame(new Uint8Array())], trailers: { "grpc-status": "0" } };
    const c = client();
    const handle = await c.enqueue({ id: "given-id", payload: 1, taskGroup: "g" });
    // An empty EnqueueResponse: the client falls back to the id it sent.
    expect(handle.id).toBe("given-id");
  });
});

describe("a client speaking the wrong protocol for the server", () => {
  it("gRPC (HTTP/2) against an HTTP/1.1-only server is a typed error", async () => {
    const h1 = await hostileH1(() => ({ body: [] }));
    try {
      const c = new SiloGRPCClient({ servers: h1.address, useTls: false, protocol: "grpc", timeoutMs: TIMEOUT_MS, shardRouting: { maxRetries: 1 } });
      await expectTypedFailure(() => c.getJob("job"));
    } finally {
      await h1.close();
    }
  });

  it("gRPC-web (HTTP/1.1) against an HTTP/2-only server is a typed error", async () => {
    const h2 = await hostileH2(() => ({ body: [] }));
    try {
      const c = new SiloGRPCClient({ servers: h2.address, useTls: false, protocol: "grpc-web", timeoutMs: TIMEOUT_MS, shardRouting: { maxRetries: 1 } });
      await expectTypedFailure(() => c.getJob("job"));
    } finally {
      await h2.close();
    }
  });
});
