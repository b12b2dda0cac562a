// Our HTTP/2 client connection against real peers: Node's own HTTP/2 server (nghttp2) for flow
// control, CONTINUATION, stream limits, GOAWAY, PING and HPACK state; raw TCP servers for peers
// that do not speak HTTP/2 at all.
import * as http2 from "node:http2";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcHttp2Channel } from "../../src/node/grpc-http2-channel.js";
import { closeAllHttp2Sessions, pooledHttp2SessionCount } from "../../src/node/http2-session-pool.js";
import { encodeGrpcFrame, splitUnaryGrpcBody } from "../../src/core/grpc-frame.js";
import { requestMayHaveBeenSent } from "../../src/core/delivery-failure.js";
import { callError } from "../support/call-error.js";
import { selfSignedCert } from "../support/self-signed-cert.js";

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

interface Peer {
  baseUrl: string;
  server: http2.Http2Server;
  sessions: Set<http2.ServerHttp2Session>;
  /** Streams the server saw. */
  seen: number;
  /** Connections the server accepted. */
  connections: number;
  close(): Promise<void>;
}

const peers: Peer[] = [];

async function startPeer(handler: Handler, settings: http2.Settings = {}): Promise<Peer> {
  const server = http2.createServer({ settings, maxSessionMemory: 100 });
  const peer: Peer = {
    baseUrl: "",
    server,
    sessions: new Set(),
    seen: 0,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of peer.sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("session", (s) => {
    peer.sessions.add(s);
    peer.connections++;
    s.on("close", () => peer.sessions.delete(s));
    s.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    peer.seen++;
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handler(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  peer.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  peers.push(peer);
  return peer;
}

/** Answers with one gRPC message and status OK, plus any extra response headers. */
function reply(stream: http2.ServerHttp2Stream, message: Uint8Array, extra: http2.OutgoingHttpHeaders = {}): void {
  if (stream.destroyed) return;
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto", ...extra }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(encodeGrpcFrame(message));
}

/** The gRPC message inside a request body. */
function messageOf(body: Buffer): Uint8Array {
  return splitUnaryGrpcBody(body, false).message ?? new Uint8Array(0);
}

const PATH = "/test.v1.Test/Echo";

/** A peer with SETTINGS_MAX_CONCURRENT_STREAMS 2 that answers each call after 10 ms, counting open streams. */
async function startPeerTakingTwoStreams(): Promise<{ peer: Peer; mostOpen: () => number }> {
  let open = 0;
  let most = 0;
  const peer = await startPeer(
    (stream, _h, body) => {
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        reply(stream, messageOf(body));
      }, 10);
    },
    { maxConcurrentStreams: 2 },
  );
  return { peer, mostOpen: () => most };
}

/** Sends 20 calls at once and expects each to get its own answer. */
async function expectBurstOfTwentyAnswered(channel: ReturnType<typeof createGrpcHttp2Channel>): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => channel.unaryBytes(PATH, new Uint8Array([i]), { timeoutMs: 10_000 })),
  );
  expect(results.map((r) => r.bytes[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
}

/** A TCP proxy that forwards an HTTP/2 connection but drops the client's RST_STREAM frames. */
async function startRstDroppingProxy(target: string): Promise<{ baseUrl: string; droppedRstStreams: number; close(): Promise<void> }> {
  const { port: targetPort } = new URL(target);
  const sockets = new Set<net.Socket>();
  const state = { baseUrl: "", droppedRstStreams: 0, close: (): Promise<void> => Promise.resolve() };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    // Client to server: the 24-byte preface, then frames; forward all but RST_STREAM (type 3).
    let pending = Buffer.alloc(0);
    let prefaceLeft = 24;
    client.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (prefaceLeft > 0) {
        const n = Math.min(prefaceLeft, pending.length);
        upstream.write(pending.subarray(0, n));
        pending = pending.subarray(n);
        prefaceLeft -= n;
      }
      while (prefaceLeft === 0 && pending.length >= 9) {
        const size = 9 + pending.readUIntBE(0, 3);
        if (pending.length < size) break;
        if (pending[3] === 3) state.droppedRstStreams++;
        else upstream.write(pending.subarray(0, size));
        pending = pending.subarray(size);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** Calls a TLS server that will not speak HTTP/2 and checks the failure, then closes the server. */
async function expectNoHttp2(server: tls.Server, ca: string): Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const channel = createGrpcHttp2Channel({ baseUrl, tlsOptions: { ca } });
    const err = await callError(channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 5_000 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("did not negotiate HTTP/2");
    expect(requestMayHaveBeenSent(err)).toBe(false);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

afterEach(async () => {
  await closeAllHttp2Sessions();
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

describe("the HTTP/2 client connection", () => {
  it("sends a 1 MiB request through send windows far smaller than it", async () => {
    const peer = await startPeer((stream, _h, body) => reply(stream, Buffer.from(String(messageOf(body).length))), {
      initialWindowSize: 8_192,
    });
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const res = await channel.unaryBytes(PATH, big, { timeoutMs: 20_000 });
    expect(Buffer.from(res.bytes).toString()).toBe(String(1 << 20));
  });

  it("receives a 5 MiB response, granting the server more window as it reads", async () => {
    const payload = Buffer.alloc(5 << 20, 7);
    const peer = await startPeer((stream) => reply(stream, payload));
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    const res = await channel.unaryBytes(PATH, new Uint8Array(0), { timeoutMs: 20_000 });
    expect(res.bytes.length).toBe(payload.length);
    expect(Buffer.from(res.bytes).equals(payload)).toBe(true);
  });

  it("splits a header block larger than a frame into CONTINUATION frames, and reads one back", async () => {
    const peer = await startPeer((stream, headers) =>
      reply(stream, new Uint8Array([1]), { "x-echo": headers["x-big"] as string }),
    );
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    const big = "v".repeat(40_000);
    const res = await channel.unaryBytes(PATH, new Uint8Array([1]), { headers: { "x-big": big }, timeoutMs: 10_000 });
    expect(res.header.get("x-echo")).toBe(big);
  });

  it("holds calls beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS until a stream ends, and runs them all", async () => {
    const { peer, mostOpen } = await startPeerTakingTwoStreams();
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    // The first call learns the server's settings; then 20 at once.
    await channel.unaryBytes(PATH, new Uint8Array([0]), { timeoutMs: 10_000 });
    await expectBurstOfTwentyAnswered(channel);
    expect(mostOpen()).toBe(2);
  });

  it("resends the part of a burst a new connection's server refused before its stream limit was known", async () => {
    const { peer, mostOpen } = await startPeerTakingTwoStreams();
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    await expectBurstOfTwentyAnswered(channel);
    expect(mostOpen()).toBe(2);
    expect(peer.connections).toBe(1);
  });

  it("resends, on a new connection, a call above a GOAWAY's last stream id, and finishes the one below it", async () => {
    let first: http2.Http2Session | undefined;
    const held: Array<{ id: number; answer: () => void }> = [];
    const seenBy = new Map<string, number>();
    const peer = await startPeer((stream, _h, body) => {
      const message = messageOf(body);
      const key = Array.from(message).join(",");
      seenBy.set(key, (seenBy.get(key) ?? 0) + 1);
      const answer = (): void => reply(stream, message);
      first ??= stream.session;
      if (stream.session !== first || message[0] !== 9) {
        answer();
        return;
      }
      held.push({ id: stream.id!, answer });
      if (held.length === 2) {
        // Streams 3 and 5 are held: promise to process stream 3 only, answer it, drop 5.
        first!.goaway(http2.constants.NGHTTP2_NO_ERROR, held[0]!.id);
        setTimeout(held[0]!.answer, 20);
      }
    });
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    await channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 10_000 });
    const results = await Promise.all([
      channel.unaryBytes(PATH, new Uint8Array([9, 1]), { timeoutMs: 10_000 }),
      channel.unaryBytes(PATH, new Uint8Array([9, 2]), { timeoutMs: 10_000 }),
    ]);
    expect(results.map((r) => Array.from(r.bytes))).toEqual([[9, 1], [9, 2]]);
    expect(held.map((h) => h.id)).toEqual([3, 5]);
    expect(peer.connections).toBe(2);
    // The one below the last id ran once; the one above it reached the server on both connections.
    expect(seenBy.get("9,1")).toBe(1);
    expect(seenBy.get("9,2")).toBe(2);
  });

  it("answers the server's PING", async () => {
    const peer = await startPeer((stream, _h, body) => reply(stream, messageOf(body)));
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    await channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 10_000 });
    const [session] = [...peer.sessions];
    const rtt = await new Promise<number>((resolve, reject) =>
      session!.ping((err, duration) => (err ? reject(err) : resolve(duration))),
    );
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it("keeps its HPACK table in step when response headers arrive for a call it already gave up on", async () => {
    let n = 0;
    let lateAnswered = false;
    const peer = await startPeer((stream, _h, body) => {
      const i = n++;
      // Every response carries header values nghttp2 adds to its dynamic table, then refers to.
      const extra = { "x-seq": `value-${i % 3}`, "x-late": `late-${i === 0}` };
      if (messageOf(body)[0] === 0) {
        setTimeout(() => {
          reply(stream, messageOf(body), extra);
          lateAnswered = true;
        }, 150);
      } else reply(stream, messageOf(body), extra);
    });
    // The client's RST_STREAM never reaches the server, so the server answers the abandoned call.
    const proxy = await startRstDroppingProxy(peer.baseUrl);
    try {
      const channel = createGrpcHttp2Channel({ baseUrl: proxy.baseUrl });
      const cancelled = await callError(channel.unaryBytes(PATH, new Uint8Array([0]), { timeoutMs: 30 }));
      expect(cancelled.code).toBe(Code.DeadlineExceeded);
      const until = Date.now() + 5_000;
      while (!lateAnswered && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lateAnswered).toBe(true);
      expect(proxy.droppedRstStreams).toBe(1);
      for (let i = 1; i <= 6; i++) {
        const res = await channel.unaryBytes(PATH, new Uint8Array([i]), { timeoutMs: 10_000 });
        expect(res.header.get("x-seq")).toBe(`value-${i % 3}`);
        expect(res.header.get("x-late")).toBe("late-false");
      }
    } finally {
      await proxy.close();
    }
  });

  it("rejects a header name HTTP/2 cannot carry before anything is sent", async () => {
    const peer = await startPeer((stream, _h, body) => reply(stream, messageOf(body)));
    const channel = createGrpcHttp2Channel({ baseUrl: peer.baseUrl });
    const err = await callError(channel.unaryBytes(PATH, new Uint8Array([1]), { headers: { "bad name": "x" } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('"bad name"');
    const err2 = await callError(channel.unaryBytes(PATH, new Uint8Array([1]), { headers: { "x-ok": "a\r\nb" } }));
    expect(err2.code).toBe(Code.InvalidArgument);
    expect(peer.seen).toBe(0);
  });

  it("fails with Unavailable naming a protocol error when the server does not speak HTTP/2, and recovers", async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const channel = createGrpcHttp2Channel({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const err = await callError(channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 5_000 }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/protocol error|connection closed/i);
      expect(requestMayHaveBeenSent(err)).toBeTypeOf("boolean");
      expect(pooledHttp2SessionCount()).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("fails with Unavailable, marked as never sent, when the server refuses the connection", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const channel = createGrpcHttp2Channel({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await callError(channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 5_000 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(requestMayHaveBeenSent(err)).toBe(false);
  });

  it("fails with Unavailable, marked as never sent, when a TLS server offers only HTTP/1.1 through ALPN", async () => {
    const { key, cert } = selfSignedCert();
    // An HTTP/1.1 HTTPS server (ALPN "http/1.1"), like a load balancer without HTTP/2, and a
    // TLS server that does no ALPN at all.
    await expectNoHttp2(https.createServer({ key, cert, ALPNProtocols: ["http/1.1"] }, (_req, res) => res.end("hi")), cert);
    await expectNoHttp2(tls.createServer({ key, cert }, (socket) => socket.on("error", () => {})), cert);
  });

  it("settles every call with a ConnectError or a response when 150 servers answer with random frames", async () => {
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.once("data", () => {
        // A valid empty SETTINGS frame, then frames of random type, flags, stream and payload.
        const parts: Buffer[] = [Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])];
        for (let f = 0, frames = 1 + random(8); f < frames; f++) {
          const length = random(40);
          const header = Buffer.alloc(9);
          header.writeUIntBE(length, 0, 3);
          header[3] = random(11);
          header[4] = random(256);
          header.writeUInt32BE([0, 1, 3, random(1 << 31)][random(4)]!, 5);
          parts.push(header, Buffer.from(Array.from({ length }, () => random(256))));
        }
        socket.end(Buffer.concat(parts));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const channel = createGrpcHttp2Channel({ baseUrl });
      for (let i = 0; i < 150; i++) {
        const outcome = await channel.unaryBytes(PATH, new Uint8Array([i & 0xff]), { timeoutMs: 2_000 }).then(
          () => "response",
          (e: unknown) => (e instanceof ConnectError ? "ConnectError" : `other: ${String(e)}`),
        );
        expect(outcome).toMatch(/^(response|ConnectError)$/);
        await closeAllHttp2Sessions();
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
