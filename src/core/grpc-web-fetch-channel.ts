import { Code, ConnectError } from "./rpc-error.js";
import { encodeGrpcFrame, splitUnaryGrpcBody } from "./grpc-frame.js";
import type { UnaryGrpcBody } from "./grpc-frame.js";
import { codeFromHttpStatus, decodeGrpcMessage, encodeGrpcTimeout, errorFromGrpcStatus } from "./grpc-status.js";
import { sealGrpcFrame, type UnaryBytesOptions, type UnaryBytesResponse, type UnaryChannel } from "./unary-channel.js";
import {
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  GRPC_WEB_BODY_OVERHEAD_BYTES,
  grpcFrameLengthCheck,
  readBoundedBody,
  receiveLimitError,
} from "./bounded-body-reader.js";

// Unary binary gRPC-web over fetch without protobuf: framed bytes in, bytes out. The Connect
// `Transport` of grpc-web-fetch-transport.ts and the client's `SiloRpc` both run on it.
// Web-safe (Cloudflare workerd, browsers, Node): fetch, Headers, TextDecoder, AbortSignal only.

/** Options of {@link createGrpcWebFetchChannel}. */
export interface FetchChannelOptions {
  /** Where the endpoint listens, e.g. `https://silo.example.com`. A path prefix is kept. Required. */
  baseUrl: string;
  /** fetch implementation, e.g. a Worker service binding's `fetch`. Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number | undefined;
  /**
   * Largest response message accepted, in bytes; a larger one stops the read and fails the call
   * with RESOURCE_EXHAUSTED. Default 128 MiB (`DEFAULT_MAX_RECEIVE_MESSAGE_BYTES`).
   */
  maxReceiveMessageBytes?: number | undefined;
}

export const contentTypeProto = "application/grpc-web+proto";
export const userAgent = "silo-edge (grpc-web-fetch)";

/** The fetch of a channel: the option, else `globalThis.fetch`. */
export function channelFetch(name: string, fetchOption: typeof globalThis.fetch | undefined): typeof globalThis.fetch {
  const fetchFn = fetchOption ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new ConnectError(`${name}: no fetch available; pass the \`fetch\` option`, Code.InvalidArgument);
  }
  return fetchFn;
}

/**
 * Creates a unary binary gRPC-web channel over `fetch`. Redirects are never followed
 * (`redirect: "manual"`; workerd rejects `"error"`): a 3xx answer fails the call. It sets no
 * `mode` or `credentials`, which workerd does not implement.
 */
export function createGrpcWebFetchChannel(options: FetchChannelOptions): UnaryChannel {
  const fetchFn = channelFetch("createGrpcWebFetchTransport", options.fetch);
  const base = parseBaseUrl(options.baseUrl);
  const defaultTimeoutMs = options.defaultTimeoutMs;
  const read = grpcWebReader(receiveLimit(options.maxReceiveMessageBytes));
  const unaryFrame = (path: string, frame: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> => {
    const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
    let h: Headers | Record<string, string>;
    if (headers === undefined) {
      h = { "content-type": contentTypeProto, "x-grpc-web": "1", "x-user-agent": userAgent };
      if (timeout !== undefined) h["grpc-timeout"] = encodeGrpcTimeout(timeout);
    } else {
      h = new Headers(headers);
      setProtocolHeaders(h, timeout);
    }
    return fetchUnary(fetchFn, base + path, h, sealGrpcFrame(frame) as Uint8Array<ArrayBuffer>, signal, timeout, read);
  };
  return {
    unaryFrame,
    unaryBytes: (path, bytes, options) => unaryFrame(path, encodeGrpcFrame(bytes), options),
  };
}

/** The `maxReceiveMessageBytes` option, checked; the default when undefined. */
export function receiveLimit(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ConnectError(`maxReceiveMessageBytes must be a positive integer, got ${String(value)}`, Code.InvalidArgument);
  }
  return value;
}

/** The response reader of a gRPC-web channel with a receive limit. */
export function grpcWebReader(maxReceiveMessageBytes: number): (response: Response, aborted: () => ConnectError | undefined) => Promise<UnaryWireResult> {
  return (response, aborted) => readUnaryResponse(response, aborted, maxReceiveMessageBytes);
}

export function parseBaseUrl(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new ConnectError(
      `baseUrl "${baseUrl}" is not a valid URL; pass e.g. "https://silo.example.com"`,
      Code.InvalidArgument,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConnectError(`baseUrl "${baseUrl}" must start with http:// or https://`, Code.InvalidArgument);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

export function setProtocolHeaders(header: Headers, timeoutMs: number | undefined): void {
  header.set("content-type", contentTypeProto);
  header.set("x-grpc-web", "1");
  if (!header.has("x-user-agent")) header.set("x-user-agent", userAgent);
  if (timeoutMs !== undefined) header.set("grpc-timeout", encodeGrpcTimeout(timeoutMs));
  else header.delete("grpc-timeout");
}

export interface UnaryWireResult {
  header: Headers;
  trailer: Headers;
  /** The serialized response message. */
  bytes: Uint8Array;
}

export async function fetchUnary(
  fetchFn: typeof globalThis.fetch,
  url: string,
  headers: Headers | Record<string, string>,
  body: Uint8Array<ArrayBuffer>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  read: (response: Response, aborted: () => ConnectError | undefined) => Promise<UnaryWireResult> = defaultReader,
): Promise<UnaryWireResult> {
  // A deadline needs a controller of our own; without one the caller's signal goes to fetch as is.
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  if (timeoutMs !== undefined) {
    const c = (controller = new AbortController());
    timer = setTimeout(
      () => c.abort(new ConnectError(`the call exceeded its deadline of ${timeoutMs} ms`, Code.DeadlineExceeded)),
      timeoutMs,
    );
    if (signal !== undefined) {
      if (signal.aborted) c.abort(signal.reason);
      else signal.addEventListener("abort", (onAbort = () => c.abort(signal.reason)), { once: true });
    }
  }
  const callSignal = controller?.signal ?? signal;
  const aborted = (): ConnectError | undefined =>
    callSignal?.aborted === true ? ConnectError.from(callSignal.reason, Code.Canceled) : undefined;
  try {
    if (callSignal?.aborted === true) throw aborted();
    let response: Response;
    try {
      // "manual", never "follow": a redirect must not carry the token or the request to another
      // origin. (workerd rejects "error".)
      response = await fetchFn(url, { method: "POST", headers, body, signal: callSignal, redirect: "manual" });
    } catch (e) {
      throw (
        aborted() ??
        new ConnectError(
          `could not reach ${url}: ${e instanceof Error ? e.message : String(e)}`,
          Code.Unavailable,
          undefined,
          undefined,
          e,
        )
      );
    }
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      discardBody(response);
      throw redirectError(url, response);
    }
    return await read(response, aborted);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

const defaultReader = grpcWebReader(DEFAULT_MAX_RECEIVE_MESSAGE_BYTES);

/** A 3xx answer: never followed, so nothing (token, headers, request) reaches another origin. */
function redirectError(url: string, response: Response): ConnectError {
  const location = response.headers.get("location");
  const status = response.type === "opaqueredirect" ? "a redirect" : `HTTP ${response.status}`;
  return new ConnectError(
    `${url} answered ${status}${location === null ? "" : ` to ${location.slice(0, 200)}`}, which silo-edge does not follow: ` +
      "a gRPC endpoint never redirects, and following one could send the token elsewhere. Point `servers` (or the addressMap) at the final address",
    Code.Unknown,
    metadataOf(response.headers, undefined),
  );
}

async function readUnaryResponse(
  response: Response,
  aborted: () => ConnectError | undefined,
  maxReceiveMessageBytes: number,
): Promise<UnaryWireResult> {
  const header = response.headers;
  const headerStatus = header.get("grpc-status") ?? undefined;
  if (response.status < 200 || response.status > 299) {
    discardBody(response);
    const message = header.get("grpc-message");
    throw new ConnectError(
      message === null ? `HTTP ${response.status}` : decodeGrpcMessage(message),
      codeFromHttpStatus(response.status),
      metadataOf(header, undefined),
    );
  }
  const contentType = header.get("content-type") ?? "";
  if (!isGrpcWebProtoContentType(contentType)) {
    discardBody(response);
    // A trailers-only error from a proxy may carry an odd content type; its status still counts.
    if (headerStatus !== undefined) {
      const headerError = errorFromGrpcStatus(headerStatus, header.get("grpc-message") ?? undefined, undefined, () =>
        metadataOf(header, undefined),
      );
      if (headerError !== null) throw headerError;
    }
    throw new ConnectError(
      `protocol error: unexpected content-type "${contentType}" (want ${contentTypeProto}); ` +
        `is ${response.url || "the server"} a gRPC-web endpoint?`,
      Code.Unknown,
      metadataOf(header, undefined),
    );
  }
  const metadata = (): Headers => metadataOf(header, undefined);
  const bytes = await readBoundedBody(response, {
    maxBytes: maxReceiveMessageBytes + GRPC_WEB_BODY_OVERHEAD_BYTES,
    limitName: "maxReceiveMessageBytes",
    limitBytes: maxReceiveMessageBytes,
    aborted,
    metadata,
    inspect: grpcFrameLengthCheck(maxReceiveMessageBytes, "maxReceiveMessageBytes", metadata),
  });
  let frames: UnaryGrpcBody;
  try {
    frames = splitUnaryGrpcBody(bytes, true);
  } catch (e) {
    const error = ConnectError.from(e, Code.Internal);
    throw new ConnectError(error.rawMessage, error.code, metadataOf(header, undefined));
  }
  const trailer = frames.trailer === undefined ? new Headers() : parseTrailer(frames.trailer);
  const statusSource = trailer.has("grpc-status") ? trailer : header;
  const grpcStatus = statusSource.get("grpc-status") ?? undefined;
  const detailsBin = statusSource.get("grpc-status-details-bin") ?? undefined;
  if (grpcStatus === undefined && detailsBin === undefined) {
    throw new ConnectError(
      frames.trailer === undefined && bytes.byteLength > 0
        ? "protocol error: the response ended without a gRPC-web trailer frame"
        : "protocol error: the response carries no grpc-status",
      Code.Internal,
      metadataOf(header, trailer),
    );
  }
  const statusError = errorFromGrpcStatus(grpcStatus, statusSource.get("grpc-message") ?? undefined, detailsBin, () =>
    metadataOf(header, trailer),
  );
  if (statusError !== null) throw statusError;
  if (frames.message === undefined) {
    throw new ConnectError(
      "protocol error: missing output message for unary method",
      Code.Unimplemented,
      metadataOf(header, trailer),
    );
  }
  if (frames.message.byteLength > maxReceiveMessageBytes) {
    throw receiveLimitError(`a response message of ${frames.message.byteLength} bytes`, "maxReceiveMessageBytes", maxReceiveMessageBytes, metadataOf(header, trailer));
  }
  return { header, trailer, bytes: frames.message };
}

export function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {});
}

function isGrpcWebProtoContentType(value: string): boolean {
  const ct = value.toLowerCase();
  return (
    ct === contentTypeProto ||
    ct === "application/grpc-web" ||
    ct.startsWith("application/grpc-web+proto;") ||
    ct.startsWith("application/grpc-web;")
  );
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/** A gRPC-web trailer frame is an HTTP/1-style header block: `name: value` lines separated by CRLF. */
function parseTrailer(data: Uint8Array): Headers {
  const trailer = new Headers();
  const text = (textDecoder ??= new TextDecoder()).decode(data);
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.substring(start, end);
    start = end + 1;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    try {
      trailer.append(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
    } catch {
      // An invalid field name or value is dropped; the status fields are checked separately.
    }
  }
  return trailer;
}

export function metadataOf(header: Headers, trailer: Headers | undefined): Headers {
  const metadata = new Headers(header);
  trailer?.forEach((value, name) => metadata.append(name, value));
  return metadata;
}
