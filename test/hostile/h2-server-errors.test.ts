// What a caller is told when the server (not the caller) ends a call, when a server breaks flow
// control, and how often the client knocks on a server that is down.
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { SiloError, SiloGRPCClient, SiloUnavailableError } from "silo-edge";
import { startDevServer } from "silo-edge/dev";
import { createGrpcHttp2Channel } from "../../src/node/grpc-http2-channel.js";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";
import { toSiloError } from "../../src/core/errors.js";
import { requestMayHaveBeenSent } from "../../src/core/delivery-failure.js";
import { H2Stream, Http2ClientConnection, type H2StreamHandler } from "../../src/core/h2/client-connection.js";
import { ErrorCode, FrameType, readUint32 } from "../../src/core/h2/frames.js";
import { H2ProtocolError } from "../../src/core/h2/protocol-error.js";
import { nodeByteStream } from "../../src/node/h2/node-byte-stream.js";
import { GRPC_OK_HEADERS, dataFrame, headerBlock, headersFrames, rstFrame, startRawH2Server, type RawH2Server } from "./raw-h2-server.js";
import { MiB, measureFailure } from "./measure.js";

const PATH = "/test.v1.Test/Echo";
const DEADLINE = 4_000;
const servers: RawH2Server[] = [];

afterEach(async () => {
  await closeAllHttp2Sessions();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: Parameters<typeof startRawH2Server>[0]): Promise<RawH2Server> {
  const server = await startRawH2Server(script);
  servers.push(server);
  return server;
}

describe("a call the server cancels", () => {
  it("is Unavailable and possibly processed when the server sends RST_STREAM CANCEL, never the caller's own cancellation", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(rstFrame(streamId, ErrorCode.CANCEL));
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }));
    expect(elapsedMs).toBeLessThan(1_000);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/cancelled the stream \(RST_STREAM CANCEL\); the request may have been processed/);
    expect(requestMayHaveBeenSent(error)).toBe(true);
    const silo = toSiloError(error, "Enqueue");
    expect(silo).toBeInstanceOf(SiloUnavailableError);
    expect(silo.code).toBe("SILO_UNAVAILABLE");
  });

  it("is Unavailable and possibly processed when the server answers grpc-status CANCELLED", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(
          ...headersFrames(streamId, headerBlock([...GRPC_OK_HEADERS, ["grpc-status", "1"], ["grpc-message", "shutting down"]]), true),
        );
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/cancelled the call \(grpc-status CANCELLED: shutting down\)/);
    expect(requestMayHaveBeenSent(error)).toBe(true);
    expect(toSiloError(error, "Enqueue").code).toBe("SILO_UNAVAILABLE");
  });

  it("is still the caller's cancellation when the caller's signal aborts", async () => {
    const server = await serve({});
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE, signal: AbortSignal.timeout(50) }),
    );
    expect(error.code).toBe(Code.Canceled);
  });
});

describe("our receive window", () => {
  it("closes the connection with FLOW_CONTROL_ERROR when the server sends more DATA than the stream's window", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        const chunk = new Uint8Array(16_384);
        const frames = [...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false)];
        // The stream's window is 1 MiB, and the handler's budget grants no more.
        for (let sent = 0; sent <= MiB; sent += chunk.length) frames.push(dataFrame(streamId, chunk));
        connection.send(...frames);
      },
    });
    const url = new URL(server.baseUrl);
    const connection = new Http2ClientConnection(nodeByteStream({ protocol: "http:", hostname: url.hostname, port: Number(url.port) }));
    const failure = await new Promise<{ mayHaveBeenSent: boolean; cause: Error }>((resolve, reject) => {
      const handler: H2StreamHandler = {
        onHeaders: () => {},
        onData: () => {},
        onReset: (code) => reject(new Error(`reset ${code}`)),
        onStreamError: reject,
        onConnectionError: (mayHaveBeenSent, cause) => resolve({ mayHaveBeenSent, cause }),
      };
      const stream = new H2Stream(headerBlock([[":method", "POST"], [":scheme", "http"], [":path", PATH], [":authority", url.host]]), new Uint8Array(0), handler);
      stream.recvBudget = 1000;
      connection.request(stream);
    });
    expect(failure.mayHaveBeenSent).toBe(true);
    expect(failure.cause).toBeInstanceOf(H2ProtocolError);
    expect((failure.cause as H2ProtocolError).errorCode).toBe(ErrorCode.FLOW_CONTROL_ERROR);
    expect(failure.cause.message).toMatch(/more DATA than stream 1's flow-control window allows/);
    const peer = server.connections[0]!;
    for (let i = 0; i < 100 && !peer.frames.some((f) => f.type === FrameType.GOAWAY); i++) await new Promise((r) => setTimeout(r, 10));
    const goaway = peer.frames.find((f) => f.type === FrameType.GOAWAY)!;
    expect(readUint32(goaway.payload, 4)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
  });
});

describe("reconnecting to a server that is down", () => {
  it("keeps 'may have been processed' in the final error when an earlier attempt was written and later ones never left", async () => {
    // The first connection takes the request and dies with the server: later ones are refused.
    const server: RawH2Server = await serve({
      onRequest() {
        void server.close();
      },
    });
    const dev = await startDevServer({ port: 0 });
    try {
      const address = new URL(server.baseUrl).host;
      const client = new SiloGRPCClient({ servers: dev.addresses, useTls: false, shardRouting: { maxRetries: 2 }, timeoutMs: 5_000, addressMap: () => address });
      await client.refreshTopology();
      const error = await client.enqueue({ payload: 1, taskGroup: "g" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SiloUnavailableError);
      expect((error as SiloError).message).toMatch(/could not reach .*an earlier attempt reached the server and may have been processed/);
    } finally {
      await dev.close();
    }
  });

  it("backs off, so 200 failing calls with retries make few connection attempts, and each fails typed within its deadline", async () => {
    // The topology comes from a real dev server; its node's address is mapped to a listener that
    // accepts and at once closes every connection, like a proxy whose backend is gone.
    let attempts = 0;
    const dead = net.createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
    const deadAddress = `127.0.0.1:${(dead.address() as AddressInfo).port}`;
    const dev = await startDevServer({ port: 0 });
    try {
      const client = new SiloGRPCClient({ servers: dev.addresses, useTls: false, timeoutMs: 2_000, addressMap: () => deadAddress });
      await client.refreshTopology();
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.getJob(`job-${i}`).then(() => "resolved", (e: unknown) => e)),
      );
      const elapsed = performance.now() - started;
      for (const outcome of outcomes) {
        expect(outcome).toBeInstanceOf(SiloError);
        expect((outcome as SiloError).code).toMatch(/^SILO_(UNAVAILABLE|DEADLINE_EXCEEDED)$/);
      }
      expect(elapsed).toBeLessThan(2_000 + 1_000);
      // Without backoff every retry of every call reconnected: about 2,000 attempts.
      expect(attempts).toBeGreaterThan(0);
      expect(attempts).toBeLessThan(30);
    } finally {
      await dev.close();
      await new Promise<void>((resolve) => dead.close(() => resolve()));
    }
  });
});
