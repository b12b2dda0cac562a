import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { Flag, FrameType, FRAME_HEADER_LENGTH, readUint31, writeFrameHeader, writeUint32 } from "../../src/core/h2/frames.js";
import { concatBlocks, encodeField } from "../../src/core/h2/hpack.js";

// A scriptable HTTP/2 server on loopback that writes whatever frames a test tells it to, in
// order to play a hostile or broken server: floods, oversized blocks, window violations. It does
// the minimum of HTTP/2 itself (reads the preface, sends SETTINGS, acknowledges the client's
// SETTINGS) and tells the script about every request stream the client opens.

/** One frame the client sent. */
export interface ClientFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

/** One accepted client connection, as a script drives it. */
export interface RawH2Connection {
  readonly socket: net.Socket;
  /** Every frame the client sent on this connection so far. */
  readonly frames: ClientFrame[];
  /** Writes raw bytes (frames) to the client. Returns false when the socket buffer is full. */
  send(...frames: Uint8Array[]): boolean;
  /** Stops reading from the client (its writes pile up in the kernel and then in its own buffer). */
  stopReading(): void;
}

export interface RawH2Server {
  readonly baseUrl: string;
  /** Connections accepted so far. */
  readonly connections: RawH2Connection[];
  close(): Promise<void>;
}

export interface RawH2Script {
  /** A request stream opened (its HEADERS block complete). */
  onRequest?(connection: RawH2Connection, streamId: number): void;
  /** A connection was accepted and the preface read. */
  onConnection?(connection: RawH2Connection): void;
}

const PREFACE_LENGTH = 24;

export async function startRawH2Server(script: RawH2Script): Promise<RawH2Server> {
  const connections: RawH2Connection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const connection: RawH2Connection = {
      socket,
      frames: [],
      send: (...frames) => (socket.destroyed ? false : socket.write(concatBlocks(frames))),
      stopReading: () => {
        socket.pause();
      },
    };
    connections.push(connection);
    let input: Buffer = Buffer.alloc(0);
    let prefaceRead = false;
    socket.on("data", (chunk: Buffer) => {
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk]);
      if (!prefaceRead) {
        if (input.length < PREFACE_LENGTH) return;
        input = input.subarray(PREFACE_LENGTH);
        prefaceRead = true;
        connection.send(h2Frame(FrameType.SETTINGS, 0, 0));
        script.onConnection?.(connection);
      }
      while (input.length >= FRAME_HEADER_LENGTH) {
        const length = (input[0]! << 16) | (input[1]! << 8) | input[2]!;
        if (input.length < FRAME_HEADER_LENGTH + length) break;
        const frame: ClientFrame = {
          type: input[3]!,
          flags: input[4]!,
          streamId: readUint31(input, 5),
          payload: input.subarray(FRAME_HEADER_LENGTH, FRAME_HEADER_LENGTH + length),
        };
        input = input.subarray(FRAME_HEADER_LENGTH + length);
        connection.frames.push(frame);
        if (frame.type === FrameType.SETTINGS && (frame.flags & Flag.ACK) === 0) {
          connection.send(h2Frame(FrameType.SETTINGS, Flag.ACK, 0));
        }
        const endsBlock =
          (frame.type === FrameType.HEADERS || frame.type === FrameType.CONTINUATION) && (frame.flags & Flag.END_HEADERS) !== 0;
        if (endsBlock) script.onRequest?.(connection, frame.streamId);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One HTTP/2 frame. */
export function h2Frame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

/** An HPACK block of literal fields (never added to the client's dynamic table). */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  return concatBlocks(fields.map(([name, value]) => encodeField(name, value)));
}

/** The response headers of a successful gRPC call. */
export const GRPC_OK_HEADERS: ReadonlyArray<readonly [string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc+proto"],
];

/** A header block split into HEADERS and CONTINUATION frames of at most `frameSize` bytes. */
export function headersFrames(streamId: number, block: Uint8Array, endStream: boolean, frameSize = 16_384): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < block.length; at += frameSize) {
    const part = block.subarray(at, at + frameSize);
    const last = at + frameSize >= block.length;
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (at === 0 && endStream ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0);
    frames.push(h2Frame(type, flags, streamId, part));
  }
  return frames;
}

/** A DATA frame. */
export function dataFrame(streamId: number, payload: Uint8Array, endStream = false): Uint8Array {
  return h2Frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, payload);
}

/** A RST_STREAM frame. */
export function rstFrame(streamId: number, errorCode: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeUint32(payload, 0, errorCode);
  return h2Frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A PING frame. */
export function pingFrame(n: number): Uint8Array {
  const payload = new Uint8Array(8);
  writeUint32(payload, 0, 0x5a5a5a5a);
  writeUint32(payload, 4, n >>> 0);
  return h2Frame(FrameType.PING, 0, 0, payload);
}

/** The 5-byte gRPC message prefix declaring `length` bytes. */
export function grpcPrefix(length: number): Uint8Array {
  const out = new Uint8Array(5);
  writeUint32(out, 1, length);
  return out;
}
