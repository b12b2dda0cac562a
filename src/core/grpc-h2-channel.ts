import { Code, ConnectError } from "./rpc-error.js";
import { encodeGrpcFrame } from "./grpc-frame.js";
import { sealGrpcFrame, type UnaryBytesOptions, type UnaryBytesResponse, type UnaryChannel } from "./unary-channel.js";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, DEFAULT_MAX_SEND_MESSAGE_BYTES } from "./message-size-limits.js";
import { GrpcRequestHeaders, type RequestHeaderRecord } from "./grpc-request-headers.js";
import { UnaryCall, type Http2UnaryResult, type H2SessionSource, type UnaryCallState } from "./grpc-h2-unary-call.js";
import { resolveH2Limits, type H2Limits } from "./h2/limits.js";

// Unary gRPC over our own HTTP/2 client connection (h2/client-connection.ts), without protobuf:
// framed bytes in, bytes out. Runtime-neutral; the runtime supplies where connections come from
// (Node: the per-origin pool of src/node/http2-session-pool.ts; Workers: one connection per
// request over cloudflare:sockets, src/workers/grpc-socket-channel.ts).

/** Options every HTTP/2 gRPC channel takes. */
export interface GrpcH2ChannelOptions {
  /**
   * Where the Silo server listens: `http://host:port` for cleartext HTTP/2 (h2c) or
   * `https://host:port` for HTTP/2 over TLS. A path prefix is kept. Required.
   */
  baseUrl: string;
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number | undefined;
  /**
   * Largest response message accepted, in bytes. A response that declares or sends more fails
   * at once with `ResourceExhausted`; its stream is reset, so nothing past the cap is buffered.
   * Default: 134_217_728 (128 MiB, the upstream client's).
   */
  maxReceiveMessageBytes?: number | undefined;
  /** Largest request message sent, in bytes; a larger one fails before anything is sent. Default: 134_217_728 (128 MiB). */
  maxSendMessageBytes?: number | undefined;
  /**
   * HTTP/2 flood and size limits (CONTINUATION frames per header block, header block and header
   * list sizes, queued acknowledgements, SETTINGS entries); each field defaults as nghttp2 does,
   * see `H2Limits`.
   */
  http2Limits?: Partial<H2Limits> | undefined;
}

/** A gRPC-over-HTTP/2 channel to one origin; `send` is the transport's lower-level entry. */
export interface GrpcH2Channel extends UnaryChannel {
  readonly origin: string;
  /** Path of the base URL without a trailing slash; usually "". */
  readonly pathPrefix: string;
  /**
   * Sends a framed request with complete HTTP/2 request headers (`:path` included; `:scheme`
   * and `:authority` are added when missing).
   */
  send(headers: RequestHeaderRecord, frame: Uint8Array, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Http2UnaryResult>;
}

/**
 * A unary gRPC channel over HTTP/2. `sessions` is called once, after the options are checked,
 * with the parsed base URL and the resolved HTTP/2 limits; it may throw a ConnectError for its
 * own bad options.
 */
export function createGrpcH2Channel(options: GrpcH2ChannelOptions, sessions: (url: ParsedBaseUrl, limits: H2Limits) => H2SessionSource): GrpcH2Channel {
  const {
    baseUrl,
    defaultTimeoutMs,
    maxReceiveMessageBytes = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    maxSendMessageBytes = DEFAULT_MAX_SEND_MESSAGE_BYTES,
  } = options;
  checkMessageCap("maxReceiveMessageBytes", maxReceiveMessageBytes);
  checkMessageCap("maxSendMessageBytes", maxSendMessageBytes);
  const url = parseBaseUrl(baseUrl);
  let limits: H2Limits;
  try {
    limits = resolveH2Limits(options.http2Limits);
  } catch (e) {
    throw new ConnectError((e as Error).message, Code.InvalidArgument);
  }
  const state: UnaryCallState = { sessions: sessions(url, limits), maxReceiveMessageBytes };
  const encoder = new GrpcRequestHeaders(url.scheme, url.authority);
  const call = (block: () => Uint8Array, frame: Uint8Array, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Http2UnaryResult> => {
    if (frame.length - 5 > maxSendMessageBytes) {
      return Promise.reject(
        new ConnectError(
          `the request message of ${frame.length - 5} bytes is over maxSendMessageBytes (${maxSendMessageBytes}); nothing was sent`,
          Code.ResourceExhausted,
        ),
      );
    }
    let headerBlock: Uint8Array;
    try {
      headerBlock = block();
    } catch (e) {
      return Promise.reject(ConnectError.from(e, Code.InvalidArgument));
    }
    return new UnaryCall(state, headerBlock, frame, signal, timeoutMs).promise;
  };
  const pathPrefix = url.pathPrefix;
  return {
    origin: url.origin,
    pathPrefix,
    send: (headers, frame, signal, timeoutMs) => call(() => encoder.fromRecord(headers), frame, signal, timeoutMs),
    unaryBytes(path: string, bytes: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> {
      const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
      return call(() => encoder.forCall(pathPrefix + path, timeout, metadataRecord(headers)), encodeGrpcFrame(bytes), signal, timeout);
    },
    unaryFrame(path: string, frame: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> {
      const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
      return call(() => encoder.forCall(pathPrefix + path, timeout, metadataRecord(headers)), sealGrpcFrame(frame), signal, timeout);
    },
  };
}

function checkMessageCap(field: string, value: number): void {
  // The gRPC length prefix is a uint32.
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ConnectError(`${field} must be an integer between 0 and 4294967295, got ${String(value)}`, Code.InvalidArgument);
  }
}

/** A base URL as the channel uses it. */
export interface ParsedBaseUrl {
  origin: string;
  scheme: "http" | "https";
  /** host[:port] as the URL spells it, for `:authority`. */
  authority: string;
  /** Path of the base URL without a trailing slash; usually "". */
  pathPrefix: string;
}

function parseBaseUrl(baseUrl: string): ParsedBaseUrl {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new ConnectError(
      `baseUrl "${baseUrl}" is not a valid URL; pass e.g. "http://127.0.0.1:7450" or "https://silo.example.com"`,
      Code.InvalidArgument,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConnectError(
      `baseUrl "${baseUrl}" must start with http:// (h2c) or https:// (h2 over TLS)`,
      Code.InvalidArgument,
    );
  }
  return {
    origin: parsed.origin,
    scheme: parsed.protocol === "https:" ? "https" : "http",
    authority: parsed.host,
    pathPrefix: parsed.pathname.replace(/\/+$/, ""),
  };
}

/**
 * Call metadata as a plain record. A record (what the client sends: names and values it
 * validated when they were configured) is used as is, so the Node path never touches the
 * global `Headers`, whose first use loads all of undici (~25 ms of a cold start).
 */
function metadataRecord(header: UnaryBytesOptions["headers"]): Readonly<Record<string, string>> | undefined {
  if (header === undefined || !isHeadersObject(header)) return header;
  const record: Record<string, string> = {};
  header.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

export function isHeadersObject(value: object): value is Headers {
  // Duck-typed: `instanceof Headers` would itself load undici.
  return typeof (value as Headers).forEach === "function" && typeof (value as Headers).get === "function";
}
