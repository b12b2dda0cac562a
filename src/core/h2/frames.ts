// HTTP/2 (RFC 9113) frame constants, the 9-byte frame header and the small control frames, for the
// client connection of client-connection.ts. Like Go's http2.Framer this knows frames, not
// connections: no state lives here. Plain Uint8Array throughout, so it runs on any runtime.

export const FRAME_HEADER_LENGTH = 9;

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Largest window and stream id (2^31 - 1). */
export const MAX_WINDOW = 0x7fffffff;

/** Frame payload size every peer must accept (RFC 9113 §4.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

/** Initial flow-control window of a connection and of each stream (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;

/** Writes a frame header at `offset` of `target`. */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  target[offset] = (length >>> 16) & 0xff;
  target[offset + 1] = (length >>> 8) & 0xff;
  target[offset + 2] = length & 0xff;
  target[offset + 3] = type;
  target[offset + 4] = flags;
  writeUint31(target, offset + 5, streamId);
}

/** Writes a 32-bit big-endian value (the reserved bit cleared). */
export function writeUint31(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 24) & 0x7f;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** Reads a 32-bit big-endian value with the reserved bit masked off. */
export function readUint31(source: Uint8Array, offset: number): number {
  return (
    ((source[offset]! & 0x7f) << 24) |
    (source[offset + 1]! << 16) |
    (source[offset + 2]! << 8) |
    source[offset + 3]!
  );
}

/** Writes a 32-bit big-endian unsigned value. */
export function writeUint32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 24) & 0xff;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** Reads a 32-bit big-endian unsigned value. */
export function readUint32(source: Uint8Array, offset: number): number {
  return (
    ((source[offset]! << 24) >>> 0) +
    ((source[offset + 1]! << 16) | (source[offset + 2]! << 8) | source[offset + 3]!)
  );
}

/** A frame with an (up to 8-byte) payload and no stream, as one buffer. */
export function controlFrame(type: number, flags: number, streamId: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  writeFrameHeader(frame, 0, payload.length, type, flags, streamId);
  frame.set(payload, FRAME_HEADER_LENGTH);
  return frame;
}

/** A WINDOW_UPDATE frame. */
export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + 4);
  writeFrameHeader(frame, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  writeUint31(frame, FRAME_HEADER_LENGTH, increment);
  return frame;
}

/** A RST_STREAM frame. */
export function rstStreamFrame(streamId: number, errorCode: number): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + 4);
  writeFrameHeader(frame, 0, 4, FrameType.RST_STREAM, 0, streamId);
  writeUint32(frame, FRAME_HEADER_LENGTH, errorCode >>> 0);
  return frame;
}

/** A GOAWAY frame. */
export function goawayFrame(lastStreamId: number, errorCode: number): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + 8);
  writeFrameHeader(frame, 0, 8, FrameType.GOAWAY, 0, 0);
  writeUint31(frame, FRAME_HEADER_LENGTH, lastStreamId);
  writeUint32(frame, FRAME_HEADER_LENGTH + 4, errorCode >>> 0);
  return frame;
}

/** A SETTINGS frame from [id, value] pairs. */
export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + 6 * settings.length);
  writeFrameHeader(frame, 0, 6 * settings.length, FrameType.SETTINGS, 0, 0);
  let o = FRAME_HEADER_LENGTH;
  for (const [id, value] of settings) {
    frame[o] = (id >>> 8) & 0xff;
    frame[o + 1] = id & 0xff;
    writeUint32(frame, o + 2, value >>> 0);
    o += 6;
  }
  return frame;
}
