import { Code, ConnectError } from "@connectrpc/connect";
import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { encodeGrpcFrame } from "./grpc-frame.js";

// Messages in and out of our Connect `Transport`s (gRPC over HTTP/2, gRPC-web over fetch): the
// same normalization, framing and error wrapping as Connect's own transports. Web-safe.

/** A message as given (init shape or message) as a message of `schema`. */
export function normalizeMessage<I extends DescMessage>(schema: I, input: MessageInitShape<I>): MessageShape<I> {
  return isMessage(input, schema) ? (input as MessageShape<I>) : create(schema, input);
}

/** Serializes a request into one uncompressed gRPC frame; INTERNAL when it cannot be serialized. */
export function frameRequest<I extends DescMessage>(schema: I, message: MessageShape<I>): Uint8Array<ArrayBuffer> {
  try {
    return encodeGrpcFrame(toBinary(schema, message));
  } catch (e) {
    throw new ConnectError(`failed to serialize ${schema.typeName}`, Code.Internal, undefined, undefined, e);
  }
}

/** Parses a response message; INTERNAL with the response's metadata when it is not valid. */
export function parseResponse<O extends DescMessage>(schema: O, bytes: Uint8Array, metadata: () => Headers): MessageShape<O> {
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    throw new ConnectError(`protocol error: failed to decode ${schema.typeName}`, Code.Internal, metadata(), undefined, e);
  }
}

/** A call's deadline: its own `timeoutMs` (`<= 0` means none), else the transport's default. */
export function callTimeout(timeoutMs: number | undefined, defaultTimeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
}
