// Message size caps of the HTTP/2 transport against servers that send too much: the receive cap
// (default 128 MiB, the upstream client's grpc.max_receive_message_length in
// typescript_client/src/client.ts) is enforced as bytes arrive, the read stops and the call fails
// at once; the send cap is checked before anything goes out.
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { SiloGRPCClient, SiloResourceExhaustedError, SiloValidationError } from "silo-edge";
import { startDevServer } from "silo-edge/dev";
import { createGrpcHttp2Channel } from "../../src/node/grpc-http2-channel.js";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";
import { ErrorCode, FrameType, readUint32 } from "../../src/core/h2/frames.js";
import {
  GRPC_OK_HEADERS,
  dataFrame,
  grpcPrefix,
  headerBlock,
  headersFrames,
  startRawH2Server,
  type RawH2Connection,
  type RawH2Server,
} from "./raw-h2-server.js";
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

/** Sends 16 KiB DATA frames on the stream until the client resets it or closes the connection. */
function streamData(connection: RawH2Connection, streamId: number, limitBytes = Infinity): void {
  const frame = dataFrame(streamId, new Uint8Array(16_384).fill(1));
  let sent = 0;
  const pump = (): void => {
    while (!connection.socket.destroyed && sent < limitBytes && !resetBy(connection, streamId)) {
      sent += 16_384;
      if (!connection.send(frame)) {
        connection.socket.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

function resetBy(connection: RawH2Connection, streamId: number): boolean {
  return connection.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId === streamId);
}

describe("the HTTP/2 receive cap", () => {
  it("fails a response that declares 1 GiB as soon as its length prefix arrives, resets the stream and buffers nothing", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false), dataFrame(streamId, grpcPrefix(1 << 30)));
        streamData(connection, streamId);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(DEADLINE + 1_000);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toBe("the response message declares 1073741824 bytes, over maxReceiveMessageBytes (134217728)");
    expect(memoryGrowth).toBeLessThan(64 * MiB);
    const connection = server.connections[0]!;
    for (let i = 0; i < 200 && !resetBy(connection, 1); i++) await new Promise((r) => setTimeout(r, 10));
    const rst = connection.frames.find((f) => f.type === FrameType.RST_STREAM)!;
    expect(readUint32(rst.payload, 0)).toBe(ErrorCode.CANCEL);
  });

  it("fails a response that sends more than the cap without a prefix saying so, at the cap", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        // A prefix within the cap, then endless DATA: the bytes after the message are a second one.
        connection.send(...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false), dataFrame(streamId, grpcPrefix(2 * MiB)));
        streamData(connection, streamId);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl, maxReceiveMessageBytes: 4 * MiB });
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(DEADLINE + 1_000);
    expect(error.rawMessage).toMatch(/extra output message/);
    expect(memoryGrowth).toBeLessThan(64 * MiB);
  });

  it("fails a streamed response over a configured cap once its bytes cross it, however the server splits them", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        // The prefix arrives split over two DATA frames.
        const prefix = grpcPrefix(3 * MiB);
        connection.send(
          ...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false),
          dataFrame(streamId, prefix.subarray(0, 2)),
          dataFrame(streamId, prefix.subarray(2)),
        );
        streamData(connection, streamId);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl, maxReceiveMessageBytes: MiB });
    const { error, memoryGrowth } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toMatch(/declares 3145728 bytes, over maxReceiveMessageBytes \(1048576\)/);
    expect(memoryGrowth).toBeLessThan(64 * MiB);
  });

  it("holds the deadline against a server that trickles a response forever", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false), dataFrame(streamId, grpcPrefix(MiB)));
        const timer = setInterval(() => {
          if (connection.socket.destroyed || resetBy(connection, streamId)) clearInterval(timer);
          else connection.send(dataFrame(streamId, new Uint8Array(1)));
        }, 5);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: 500 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(elapsedMs).toBeLessThan(500 + 1_000);
  });

  it("accepts a response exactly at the cap", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(
          ...headersFrames(streamId, headerBlock(GRPC_OK_HEADERS), false),
          dataFrame(streamId, grpcPrefix(1000)),
          dataFrame(streamId, new Uint8Array(1000).fill(3)),
          ...headersFrames(streamId, headerBlock([["grpc-status", "0"]]), true),
        );
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl, maxReceiveMessageBytes: 1000 });
    const res = await channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE });
    expect(res.bytes.length).toBe(1000);
  });
});

describe("the HTTP/2 send cap", () => {
  it("fails a request message over maxSendMessageBytes before opening a stream", async () => {
    const server = await serve({});
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl, maxSendMessageBytes: 1024 });
    const { error } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array(1025), { timeoutMs: DEADLINE }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toBe("the request message of 1025 bytes is over maxSendMessageBytes (1024); nothing was sent");
    expect(server.connections).toHaveLength(0);
  });
});

describe("the client's maxReceiveMessageBytes", () => {
  it("makes a response larger than it a SiloResourceExhaustedError over gRPC", async () => {
    const dev = await startDevServer({ port: 0 });
    try {
      const writer = new SiloGRPCClient({ servers: dev.addresses, useTls: false });
      const handle = await writer.enqueue({ payload: { blob: "x".repeat(8_000) }, taskGroup: "caps" });
      const reader = new SiloGRPCClient({ servers: dev.addresses, useTls: false, maxReceiveMessageBytes: 4_000 });
      await expect(reader.getJob(handle.id)).rejects.toBeInstanceOf(SiloResourceExhaustedError);
      await expect(reader.getJob(handle.id)).rejects.toThrow(/over maxReceiveMessageBytes \(4000\)/);
      // The writer, with the default cap, shares no connection settings with the reader.
      expect((await writer.getJob(handle.id)).id).toBe(handle.id);
    } finally {
      await dev.close();
    }
  });

  it("rejects a value that is not a byte count before any network call, naming the option", () => {
    expect(() => new SiloGRPCClient({ servers: "127.0.0.1:1", maxReceiveMessageBytes: -1 })).toThrow(SiloValidationError);
    expect(() => new SiloGRPCClient({ servers: "127.0.0.1:1", maxReceiveMessageBytes: 1.5 })).toThrow(/maxReceiveMessageBytes/);
  });
});
