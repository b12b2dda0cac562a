import { Code, ConnectError } from "./rpc-error.js";
import { BinaryReader, WireType, base64Decode } from "./wire/proto-wire.js";

// Status handling shared by the gRPC (HTTP/2) and gRPC-web transports. Web-safe: no `node:` imports.

/**
 * Maps a non-OK HTTP status of a gRPC or gRPC-web response to a gRPC code, per
 * https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md.
 */
export function codeFromHttpStatus(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/** `grpc-message` is percent-encoded; a malformed encoding is shown as received rather than failing the call. */
export function decodeGrpcMessage(raw: string): string {
  if (raw.indexOf("%") < 0) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

interface DecodedStatus {
  code: number;
  message: string;
  details: { type: string; value: Uint8Array }[];
}

/**
 * Decodes `grpc-status-details-bin` (a base64 `google.rpc.Status`) with the wire reader the
 * protobuf runtime already ships, so Worker bundles don't pull in the Status schema.
 * Returns undefined when the value is not a valid Status.
 */
export function decodeStatusDetailsBin(value: string): DecodedStatus | undefined {
  try {
    const reader = new BinaryReader(base64Decode(value));
    const status: DecodedStatus = { code: 0, message: "", details: [] };
    while (reader.pos < reader.len) {
      const [fieldNo, wireType] = reader.tag();
      if (fieldNo === 1 && wireType === WireType.Varint) {
        status.code = reader.int32();
      } else if (fieldNo === 2 && wireType === WireType.LengthDelimited) {
        status.message = reader.string();
      } else if (fieldNo === 3 && wireType === WireType.LengthDelimited) {
        const any = new BinaryReader(reader.bytes());
        let typeUrl = "";
        let anyValue: Uint8Array = new Uint8Array(0);
        while (any.pos < any.len) {
          const [anyField, anyWire] = any.tag();
          if (anyField === 1 && anyWire === WireType.LengthDelimited) typeUrl = any.string();
          else if (anyField === 2 && anyWire === WireType.LengthDelimited) anyValue = any.bytes();
          else any.skip(anyWire, anyField);
        }
        status.details.push({ type: typeUrl.substring(typeUrl.lastIndexOf("/") + 1), value: anyValue });
      } else {
        reader.skip(wireType, fieldNo);
      }
    }
    return status;
  } catch {
    return undefined;
  }
}

/**
 * Turns the status fields of a trailer (or of the header of a trailers-only response) into an
 * error. Returns null for OK. `metadata` is only called on error, so a successful call never
 * builds a Headers object. The caller checks that some status was present at all.
 */
export function errorFromGrpcStatus(
  grpcStatus: string | undefined,
  grpcMessage: string | undefined,
  statusDetailsBin: string | undefined,
  metadata: () => Headers,
): ConnectError | null {
  if (grpcStatus === "0") return null;
  const decoded = statusDetailsBin === undefined ? undefined : decodeStatusDetailsBin(statusDetailsBin);
  let code: number;
  let message: string;
  if (grpcStatus !== undefined) {
    code = /^\d{1,2}$/.test(grpcStatus) ? Number(grpcStatus) : -1;
    message = grpcMessage === undefined ? (decoded?.message ?? "") : decodeGrpcMessage(grpcMessage);
  } else if (decoded !== undefined) {
    code = decoded.code;
    message = decoded.message;
  } else {
    return null;
  }
  if (code === 0) return null;
  let error: ConnectError;
  if (code > 0 && code <= 16) {
    error = new ConnectError(message, code as Code, metadata());
  } else {
    error = new ConnectError(`protocol error: invalid grpc-status "${grpcStatus ?? code}"`, Code.Internal, metadata());
  }
  if (decoded !== undefined && decoded.details.length > 0) error.details = decoded.details;
  error.isWireError = true;
  return error;
}

/** gRPC's `grpc-timeout`: at most 8 digits, so long deadlines switch to seconds. */
export function encodeGrpcTimeout(timeoutMs: number): string {
  const ms = Math.max(1, Math.ceil(timeoutMs));
  return ms < 100_000_000 ? `${ms}m` : `${Math.min(99_999_999, Math.ceil(ms / 1000))}S`;
}
