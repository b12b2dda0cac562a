import { Code, ConnectError } from "./rpc-error.js";

// gRPC length-prefixed framing shared by the gRPC (HTTP/2) and gRPC-web transports. Web-safe.
// A frame is 1 flag byte, a 4-byte big-endian length, then the payload.

/** Flag bit of a compressed message frame. */
export const grpcFrameCompressed = 0x01;

/** Flag bit of a gRPC-web trailer frame. */
export const grpcWebTrailerFlag = 0x80;

/** Wraps one serialized message in an uncompressed frame (one allocation, one copy). */
export function encodeGrpcFrame(payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const len = payload.byteLength;
  const frame = new Uint8Array(len + 5);
  frame[1] = len >>> 24;
  frame[2] = (len >>> 16) & 0xff;
  frame[3] = (len >>> 8) & 0xff;
  frame[4] = len & 0xff;
  frame.set(payload, 5);
  return frame;
}

/** What a unary response body holds once its frames are split. */
export interface UnaryGrpcBody {
  /** Payload of the one message frame, or undefined when the body had none. */
  message: Uint8Array | undefined;
  /** Payload of the gRPC-web trailer frame, or undefined when there was none. */
  trailer: Uint8Array | undefined;
}

/**
 * Splits the body of a unary response into its message and (gRPC-web only) trailer frame.
 * Throws a ConnectError on anything a conforming server does not send: truncated frames,
 * compressed frames (we never advertise compression), a second message, unknown flags.
 */
export function splitUnaryGrpcBody(body: Uint8Array, allowTrailerFrame: boolean): UnaryGrpcBody {
  const result: UnaryGrpcBody = { message: undefined, trailer: undefined };
  const end = body.byteLength;
  let pos = 0;
  while (pos < end) {
    if (result.trailer !== undefined) {
      throw new ConnectError("protocol error: data after the gRPC-web trailer frame", Code.Internal);
    }
    if (end - pos < 5) {
      throw new ConnectError(
        `protocol error: truncated gRPC frame header (${end - pos} of 5 bytes)`,
        Code.Internal,
      );
    }
    const flags = body[pos] as number;
    const len =
      (((body[pos + 1] as number) << 24) >>> 0) +
      ((body[pos + 2] as number) << 16) +
      ((body[pos + 3] as number) << 8) +
      (body[pos + 4] as number);
    pos += 5;
    if (end - pos < len) {
      throw new ConnectError(
        `protocol error: truncated gRPC frame (${end - pos} of ${len} payload bytes)`,
        Code.Internal,
      );
    }
    const payload = body.subarray(pos, pos + len);
    pos += len;
    if (allowTrailerFrame && (flags & grpcWebTrailerFlag) === grpcWebTrailerFlag) {
      result.trailer = payload;
      continue;
    }
    if (flags === grpcFrameCompressed) {
      throw new ConnectError(
        "protocol error: received a compressed message, but no compression was negotiated",
        Code.Internal,
      );
    }
    if (flags !== 0) {
      throw new ConnectError(`protocol error: unknown gRPC frame flags 0x${flags.toString(16)}`, Code.Internal);
    }
    if (result.message !== undefined) {
      throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
    }
    result.message = payload;
  }
  return result;
}
