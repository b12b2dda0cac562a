// Our HTTP/2 client against a server that floods or oversizes header blocks and control frames.
// Each limit is nghttp2's (what node:http2 runs on): the connection is closed with GOAWAY and its
// calls fail at once, typed, with memory bounded, instead of waiting for their deadlines.
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { createGrpcHttp2Channel } from "../../src/node/grpc-http2-channel.js";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";
import { encodeGrpcFrame } from "../../src/core/grpc-frame.js";
import { ErrorCode, Flag, FrameType, Setting, readUint32 } from "../../src/core/h2/frames.js";
import { H2ProtocolError } from "../../src/core/h2/protocol-error.js";
import { Http2DeliveryFailure, requestMayHaveBeenSent } from "../../src/core/delivery-failure.js";
import {
  GRPC_OK_HEADERS,
  dataFrame,
  h2Frame,
  headerBlock,
  headersFrames,
  pingFrame,
  startRawH2Server,
  type RawH2Connection,
  type RawH2Server,
} from "./raw-h2-server.js";
import { MiB, causes, measureFailure } from "./measure.js";

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

/** Writes `frame` over and over until the client closes the connection. */
function flood(connection: RawH2Connection, frame: Uint8Array): void {
  const batch = new Uint8Array(frame.length * 256);
  for (let i = 0; i < 256; i++) batch.set(frame, i * frame.length);
  const pump = (): void => {
    while (!connection.socket.destroyed) {
      if (!connection.send(batch)) {
        connection.socket.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

/** Answers a call with OK, a one-byte message and trailers, with extra response headers. */
function answer(connection: RawH2Connection, streamId: number, extra: ReadonlyArray<readonly [string, string]> = []): void {
  connection.send(
    ...headersFrames(streamId, headerBlock([...GRPC_OK_HEADERS, ...extra]), false),
    dataFrame(streamId, encodeGrpcFrame(new Uint8Array([7]))),
    ...headersFrames(streamId, headerBlock([["grpc-status", "0"]]), true),
  );
}

/** The GOAWAY error codes the client sent on a connection. */
function goawayCodes(connection: RawH2Connection): number[] {
  return connection.frames.filter((f) => f.type === FrameType.GOAWAY).map((f) => readUint32(f.payload, 4));
}

/** The limit named by the H2ProtocolError under a failed call. */
function limitOf(error: unknown): string | undefined {
  const protocolError = causes(error).find((c) => c instanceof H2ProtocolError) as H2ProtocolError | undefined;
  return protocolError?.limit;
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("HTTP/2 flood and size limits", () => {
  it("closes the connection on a flood of zero-length CONTINUATION frames and fails all its calls at once (CVE-2024-27983)", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        connection.send(h2Frame(FrameType.HEADERS, 0, streamId, headerBlock(GRPC_OK_HEADERS)));
        flood(connection, h2Frame(FrameType.CONTINUATION, 0, streamId));
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const other = channel.unaryBytes(PATH, new Uint8Array([2]), { timeoutMs: DEADLINE }).catch((e: unknown) => e);
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(DEADLINE + 1_000);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/more than 8 CONTINUATION frames/);
    expect(limitOf(error)).toBe("maxContinuations");
    expect(requestMayHaveBeenSent(error)).toBe(true);
    expect(memoryGrowth).toBeLessThan(64 * MiB);
    // The other call on the connection failed with it, not at its deadline.
    expect(limitOf(await other)).toBe("maxContinuations");
    await waitFor(() => goawayCodes(server.connections[0]!).length > 0);
    expect(goawayCodes(server.connections[0]!)).toEqual([ErrorCode.ENHANCE_YOUR_CALM]);
  });

  it("closes the connection on a header block over maxHeaderBlockBytes", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        const block = headerBlock([...GRPC_OK_HEADERS, ["x-big", "b".repeat(100_000)]]);
        connection.send(...headersFrames(streamId, block, false));
      },
    });
    const channel = createGrpcHttp2Channel({
      baseUrl: server.baseUrl,
      http2Limits: { maxHeaderBlockBytes: 64 << 10, maxContinuations: 100 },
    });
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(DEADLINE + 1_000);
    expect(error.code).toBe(Code.Unavailable);
    expect(limitOf(error)).toBe("maxHeaderBlockBytes");
    expect(memoryGrowth).toBeLessThan(64 * MiB);
    expect(error.rawMessage).toMatch(/header block of more than 65536 bytes/);
  });

  it("advertises SETTINGS_MAX_HEADER_LIST_SIZE and accepts an 80 KiB header value in a 100 KiB header list, as node:http2 does", async () => {
    const server = await serve({
      onRequest(connection, streamId) {
        answer(connection, streamId, [
          ["x-big", "v".repeat(80 << 10)],
          ["x-more", "m".repeat(20 << 10)],
        ]);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const res = await channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE });
    expect(res.header.get("x-big")).toHaveLength(80 << 10);
    expect(res.header.get("x-more")).toHaveLength(20 << 10);
    const settings = server.connections[0]!.frames.find((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0)!;
    const advertised = new Map<number, number>();
    for (let o = 0; o < settings.payload.length; o += 6) {
      advertised.set((settings.payload[o]! << 8) | settings.payload[o + 1]!, readUint32(settings.payload, o + 2));
    }
    expect(advertised.get(Setting.MAX_HEADER_LIST_SIZE)).toBe(128 << 10);
  });

  it("fails a call whose response header list is over the advertised limit with a typed error that says the request reached the server, and keeps the connection", async () => {
    let calls = 0;
    const server = await serve({
      onRequest(connection, streamId) {
        if (++calls > 1) {
          answer(connection, streamId);
          return;
        }
        // A 4 KB field added to the HPACK table once and then referenced 40 times: a 160 KB
        // header list in a block of about 4 KiB.
        const name = "x-repeated";
        const value = "r".repeat(4000);
        const literal = new Uint8Array(3 + name.length + 3 + value.length);
        let o = 0;
        literal[o++] = 0x40; // literal with incremental indexing, new name
        literal[o++] = name.length;
        for (const c of name) literal[o++] = c.charCodeAt(0);
        literal[o++] = 0x7f; // 7-bit prefix full: 127 + continuation octets
        let rest = value.length - 127;
        while (rest >= 0x80) {
          literal[o++] = (rest & 0x7f) | 0x80;
          rest >>>= 7;
        }
        literal[o++] = rest;
        for (const c of value) literal[o++] = c.charCodeAt(0);
        const indexed = new Uint8Array(40).fill(0x80 | 62); // dynamic table entry 62
        const block = new Uint8Array([...headerBlock(GRPC_OK_HEADERS), ...literal.subarray(0, o), ...indexed]);
        connection.send(...headersFrames(streamId, block, false));
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(1_000);
    expect(memoryGrowth).toBeLessThan(64 * MiB);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toMatch(/header list of \d+ bytes, over our SETTINGS_MAX_HEADER_LIST_SIZE of 131072/);
    expect(error.rawMessage).toMatch(/may have been processed/);
    expect(error.rawMessage).not.toMatch(/reset the stream/);
    expect(error.cause).toBeInstanceOf(Http2DeliveryFailure);
    expect(requestMayHaveBeenSent(error)).toBe(true);
    expect(limitOf(error)).toBe("maxHeaderListSize");
    // Only the stream was reset: the next call runs on the same connection.
    const res = await channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE });
    expect(Array.from(res.bytes)).toEqual([7]);
    expect(server.connections).toHaveLength(1);
  });

  it.each([
    ["PING", pingFrame(1)],
    ["SETTINGS", h2Frame(FrameType.SETTINGS, 0, 0)],
  ])("closes the connection when the server floods %s frames while not reading our acknowledgements", async (_name, frame) => {
    const server = await serve({
      onRequest(connection) {
        connection.stopReading();
        flood(connection, frame);
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs, memoryGrowth } = await measureFailure(() =>
      channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }),
    );
    expect(elapsedMs).toBeLessThan(DEADLINE + 1_000);
    expect(error.code).toBe(Code.Unavailable);
    expect(limitOf(error)).toBe("maxOutboundAcks");
    expect(error.rawMessage).toMatch(/more than 1000 SETTINGS\/PING frames/);
    expect(memoryGrowth).toBeLessThan(64 * MiB);
  });

  it("closes the connection on a SETTINGS frame with more than 32 entries", async () => {
    const server = await serve({
      onRequest(connection) {
        const payload = new Uint8Array(6 * 40);
        for (let i = 0; i < 40; i++) payload[i * 6 + 1] = 0x10 + i; // unknown settings, value 0
        connection.send(h2Frame(FrameType.SETTINGS, 0, 0, payload));
      },
    });
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const { error, elapsedMs } = await measureFailure(() => channel.unaryBytes(PATH, new Uint8Array([1]), { timeoutMs: DEADLINE }));
    expect(elapsedMs).toBeLessThan(1_000);
    expect(error.code).toBe(Code.Unavailable);
    expect(limitOf(error)).toBe("maxSettingsEntries");
  });

  it("rejects a limit that is not a positive integer before any connection, naming it", () => {
    expect(() => createGrpcHttp2Channel({ baseUrl: "http://127.0.0.1:1", http2Limits: { maxContinuations: 0 } })).toThrow(
      /http2Limits\.maxContinuations must be a positive integer/,
    );
  });
});
