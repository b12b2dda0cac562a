// The raw unary call our transports expose beside Connect's `Transport`: serialized request in,
// serialized response out, with Connect's `ConnectError` (code and metadata) on failure. The
// client's `SiloRpc` encodes and decodes with the hand-written silo.v1 codec on top of it, so no
// protobuf reflection runs on a call. Web-safe.

/** Per-call options of {@link UnaryChannel.unaryBytes}. */
export interface UnaryBytesOptions {
  /** Cancels the call. Default: none. */
  signal?: AbortSignal | undefined;
  /** Deadline of the call in ms; `undefined` or `<= 0` means none. Default: none. */
  timeoutMs?: number | undefined;
  /**
   * Request metadata. Protocol headers (content type, deadline) are the channel's own. A plain
   * record must hold valid header names and values (the client checks them when configured).
   * Default: none.
   */
  headers?: Headers | Readonly<Record<string, string>> | undefined;
}

/** A successful unary response. */
export interface UnaryBytesResponse {
  /** The serialized response message. */
  readonly bytes: Uint8Array;
  /** Response headers (built on first read). */
  readonly header: Headers;
  /** Response trailers (built on first read). */
  readonly trailer: Headers;
}

/** One node's unary calls, on one wire protocol. */
export interface UnaryChannel {
  /**
   * Calls `path` (`/silo.v1.Silo/Enqueue`; the channel adds its base URL) with a serialized
   * request. Rejects with a `ConnectError` carrying the response's headers and trailers as
   * metadata, like the Connect `Transport` of the same protocol.
   */
  unaryBytes(path: string, bytes: Uint8Array, options: UnaryBytesOptions): Promise<UnaryBytesResponse>;
  /**
   * Like `unaryBytes`, for a request serialized after {@link FRAME_HEADER_BYTES} reserved bytes,
   * which a gRPC channel fills with the frame header and a Connect channel drops: the message is
   * written once, never copied into a frame.
   */
  unaryFrame(path: string, frame: Uint8Array, options: UnaryBytesOptions): Promise<UnaryBytesResponse>;
}

/** Size of the gRPC length-prefixed frame header (flags byte, 4-byte big-endian length). */
export const FRAME_HEADER_BYTES = 5;

/** Fills the header of an uncompressed gRPC frame whose message follows 5 reserved bytes. */
export function sealGrpcFrame(frame: Uint8Array): Uint8Array {
  const len = frame.length - FRAME_HEADER_BYTES;
  frame[0] = 0;
  frame[1] = len >>> 24;
  frame[2] = (len >>> 16) & 0xff;
  frame[3] = (len >>> 8) & 0xff;
  frame[4] = len & 0xff;
  return frame;
}
