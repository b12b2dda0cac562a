import { Code, ConnectError } from "./rpc-error.js";
import { base64Decode } from "./wire/proto-wire.js";
import { channelFetch, discardBody, fetchUnary, parseBaseUrl, receiveLimit } from "./grpc-web-fetch-channel.js";
import { readBoundedBody } from "./bounded-body-reader.js";
import type { FetchChannelOptions, UnaryWireResult } from "./grpc-web-fetch-channel.js";
import { codeFromHttpStatus } from "./grpc-status.js";
import { FRAME_HEADER_BYTES, type UnaryBytesOptions, type UnaryBytesResponse, type UnaryChannel } from "./unary-channel.js";

// Unary calls of the Connect protocol (https://connectrpc.com/docs/protocol) over fetch, binary
// only: the request body is the bare message, errors come back as a JSON body, trailers as
// `trailer-` prefixed headers. Stands in for connect-web's transport, whose JSON codec the
// client never needs. Web-safe.

const contentTypeProto = "application/proto";

const codes: Record<string, Code> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

/** Most bytes of a JSON error body read; a Connect error is a code, a message and small details. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/**
 * Creates a unary Connect-protocol channel (binary `application/proto`) over `fetch`. Like the
 * gRPC-web channel it never follows redirects and caps what it reads.
 */
export function createConnectFetchChannel(options: FetchChannelOptions): UnaryChannel {
  const fetchFn = channelFetch("createConnectFetchChannel", options.fetch);
  const base = parseBaseUrl(options.baseUrl);
  const defaultTimeoutMs = options.defaultTimeoutMs;
  const limit = receiveLimit(options.maxReceiveMessageBytes);
  const read = (response: Response, aborted: () => ConnectError | undefined): Promise<UnaryWireResult> => readConnectUnaryResponse(response, aborted, limit);
  const unaryBytes = (path: string, bytes: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> => {
    const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
    let h: Headers | Record<string, string>;
    if (headers === undefined) {
      h = { "content-type": contentTypeProto, "connect-protocol-version": "1" };
      if (timeout !== undefined) h["connect-timeout-ms"] = String(timeout);
    } else {
      h = new Headers(headers);
      h.set("content-type", contentTypeProto);
      h.set("connect-protocol-version", "1");
      if (timeout !== undefined) h.set("connect-timeout-ms", String(timeout));
      else h.delete("connect-timeout-ms");
    }
    return fetchUnary(fetchFn, base + path, h, bytes as Uint8Array<ArrayBuffer>, signal, timeout, read);
  };
  return {
    unaryBytes,
    unaryFrame: (path, frame, options) => unaryBytes(path, frame.subarray(FRAME_HEADER_BYTES), options),
  };
}

/** Splits response headers into headers and (`trailer-` prefixed) trailers. */
function demux(all: Headers): { header: Headers; trailer: Headers } {
  const header = new Headers();
  const trailer = new Headers();
  all.forEach((value, name) => {
    if (name.startsWith("trailer-")) trailer.append(name.substring(8), value);
    else header.append(name, value);
  });
  return { header, trailer };
}

function metadataOf(all: Headers): Headers {
  const metadata = new Headers();
  all.forEach((value, name) => metadata.append(name.startsWith("trailer-") ? name.substring(8) : name, value));
  return metadata;
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

async function readConnectUnaryResponse(
  response: Response,
  aborted: () => ConnectError | undefined,
  maxReceiveMessageBytes: number,
): Promise<UnaryWireResult> {
  const contentType = (response.headers.get("content-type") ?? "").toLowerCase();
  const metadata = (): Headers => metadataOf(response.headers);
  if (response.status !== 200) {
    if (!contentType.startsWith("application/json")) {
      discardBody(response);
      throw errorFromJsonBody(undefined, contentType, response.status, metadata());
    }
    const limit = Math.min(maxReceiveMessageBytes, MAX_ERROR_BODY_BYTES);
    let text: string | undefined;
    try {
      const bytes = await readBoundedBody(response, { maxBytes: limit, limitName: "the error body limit", limitBytes: limit, aborted, metadata });
      text = (textDecoder ??= new TextDecoder()).decode(bytes);
    } catch (e) {
      // The call's own abort wins; an oversized or broken error body still reports the HTTP status.
      const a = aborted();
      if (a) throw a;
      if (e instanceof ConnectError && e.code === Code.ResourceExhausted) throw e;
    }
    throw errorFromJsonBody(text, contentType, response.status, metadata());
  }
  if (contentType !== contentTypeProto && !contentType.startsWith(`${contentTypeProto};`)) {
    discardBody(response);
    throw new ConnectError(
      `protocol error: unexpected content-type "${contentType}" (want ${contentTypeProto}); ` +
        `is ${response.url || "the server"} a Connect endpoint?`,
      Code.Unknown,
      metadataOf(response.headers),
    );
  }
  const bytes = await readBoundedBody(response, {
    maxBytes: maxReceiveMessageBytes,
    limitName: "maxReceiveMessageBytes",
    limitBytes: maxReceiveMessageBytes,
    aborted,
    metadata,
  });
  const { header, trailer } = demux(response.headers);
  return { header, trailer, bytes };
}

interface JsonErrorDetail {
  type?: unknown;
  value?: unknown;
  debug?: unknown;
}

function errorFromJsonBody(text: string | undefined, contentType: string, httpStatus: number, metadata: Headers): ConnectError {
  const fallback = codeFromHttpStatus(httpStatus);
  if (text !== undefined && contentType.startsWith("application/json")) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (typeof body === "object" && body !== null) {
      const { code, message, details } = body as { code?: unknown; message?: unknown; details?: unknown };
      const parsedCode = typeof code === "string" ? codes[code] : undefined;
      const error = new ConnectError(typeof message === "string" ? message : "", parsedCode ?? fallback, metadata);
      if (Array.isArray(details)) {
        for (const d of details as JsonErrorDetail[]) {
          if (typeof d?.type !== "string" || typeof d.value !== "string") continue;
          try {
            error.details.push({ type: d.type, value: base64Decode(d.value), debug: d.debug as never });
          } catch {
            // A malformed detail is left out rather than hiding the error itself.
          }
        }
      }
      return error;
    }
  }
  return new ConnectError(`HTTP ${httpStatus}`, fallback, metadata);
}
