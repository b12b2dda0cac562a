import type { ConnectionOptions } from "node:tls";
import { encodeGrpcTimeout } from "../core/grpc-status.js";
import type { H2Limits } from "../core/h2/limits.js";
import { contentTypeProto, protocolHeaders, userAgent } from "../core/grpc-request-headers.js";
import { Http2UnaryResult, type H2SessionSource } from "../core/grpc-h2-unary-call.js";
import { createGrpcH2Channel, isHeadersObject, type GrpcH2Channel } from "../core/grpc-h2-channel.js";
import {
  dropSession,
  getPooledSession,
  needsLivenessCheck,
  reconnectDelay,
  releaseSession,
  retainSession,
  verifySession,
} from "./http2-session-pool.js";
import type { Http2SessionTarget, PooledHttp2Session } from "./http2-session-pool.js";
import { watchReconnects } from "./pool-reconnect-log.js";
import type { SiloLogger } from "../core/logger.js";

export { Http2UnaryResult };

// Unary gRPC over our own HTTP/2 client connection (core/h2/client-connection.ts), without protobuf:
// framed bytes in, bytes out. The Connect `Transport` of grpc-http2-transport.ts and the
// client's `SiloRpc` both run on it.

/** Options of {@link createGrpcHttp2Channel}. */
export interface GrpcHttp2ChannelOptions {
  /**
   * Where the Silo server listens: `http://host:port` for cleartext HTTP/2 (h2c) or
   * `https://host:port` for HTTP/2 over TLS. A path prefix is kept. Required.
   */
  baseUrl: string;
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number | undefined;
  /**
   * Close a pooled session that carried no call for this long. The first channel that opens a
   * session for an origin sets it. `0` keeps sessions open until the server closes them.
   * Default: 60_000.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * Before reusing a session that has been idle longer than this, ping it and replace it if it
   * does not answer, so a connection that died unnoticed (Lambda freeze/thaw, NAT timeout) is
   * replaced without failing the call. Default: 5_000.
   */
  pingIdleAfterMs?: number | undefined;
  /** How long the liveness ping of an idle session may take before the session is replaced. Default: 1_000. */
  pingTimeoutMs?: number | undefined;
  /**
   * TLS options for `https` base URLs, for example `{ ca }` for a private CA or `servername`.
   * Channels with TLS options get their own session pool entry. Default: Node's TLS defaults.
   */
  tlsOptions?: ConnectionOptions | undefined;
  /**
   * HTTP/2 flood and size limits (see `GrpcH2ChannelOptions`). The first channel that opens a
   * session for an origin sets them.
   */
  http2Limits?: Partial<H2Limits> | undefined;
  /**
   * Largest response message accepted, in bytes. A response that declares or sends more fails
   * at once with `ResourceExhausted`; its stream is reset, so nothing past the cap is buffered.
   * Default: 134_217_728 (128 MiB, the upstream client's).
   */
  maxReceiveMessageBytes?: number | undefined;
  /** Largest request message sent, in bytes; a larger one fails before anything is sent. Default: 134_217_728 (128 MiB). */
  maxSendMessageBytes?: number | undefined;
  /**
   * Gets the pool's entries about this origin's connections: lost (`info`), each reconnect attempt
   * (`debug`), each failed attempt with its backoff (`warn`), reconnected (`info`). Connections
   * are shared, so every channel's logger for the origin gets them. Default: none.
   */
  logger?: SiloLogger | undefined;
}

/** A gRPC-over-HTTP/2 channel to one origin; `send` is the transport's lower-level entry. */
export type GrpcHttp2Channel = GrpcH2Channel;

// `HeadersInit` is a DOM lib type; this package compiles against Node's types only.
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/**
 * Creates a unary gRPC channel over HTTP/2, with connections pooled per origin and shared by
 * all channels and transports.
 */
export function createGrpcHttp2Channel(options: GrpcHttp2ChannelOptions): GrpcHttp2Channel {
  const { idleTimeoutMs = 60_000, pingIdleAfterMs = 5_000, pingTimeoutMs = 1_000, tlsOptions } = options;
  return createGrpcH2Channel(options, (url, limits) => {
    const target: Http2SessionTarget = {
      key: tlsOptions === undefined ? url.origin : `${url.origin}#tls${tlsOptionsId(tlsOptions)}`,
      origin: url.origin,
      tlsOptions,
      idleTimeoutMs,
      limits,
    };
    if (options.logger !== undefined) watchReconnects(target.key, options.logger);
    return pooledSessions(target, pingIdleAfterMs, pingTimeoutMs);
  });
}

/** The per-origin pool (http2-session-pool.ts) as the calls' session source. */
function pooledSessions(target: Http2SessionTarget, pingIdleAfterMs: number, pingTimeoutMs: number): H2SessionSource {
  return {
    origin: target.origin,
    reconnectDelay: () => reconnectDelay(target),
    get: () => getPooledSession(target),
    needsLivenessCheck: (entry) => needsLivenessCheck(entry as PooledHttp2Session, pingIdleAfterMs),
    verify: (entry) => verifySession(entry as PooledHttp2Session, pingTimeoutMs),
    retain: (entry) => retainSession(entry as PooledHttp2Session),
    release: (entry) => releaseSession(entry as PooledHttp2Session),
    drop: (entry) => dropSession(entry as PooledHttp2Session),
  };
}




const tlsOptionIds = new WeakMap<ConnectionOptions, number>();
let nextTlsOptionsId = 1;
function tlsOptionsId(tlsOptions: ConnectionOptions): number {
  let id = tlsOptionIds.get(tlsOptions);
  if (id === undefined) {
    id = nextTlsOptionsId++;
    tlsOptionIds.set(tlsOptions, id);
  }
  return id;
}

/** The complete request headers of a call, for the Connect `Transport`'s unary path. */
export function outgoingHeaders(
  path: string,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    ":method": "POST",
    ":path": path,
    "content-type": contentTypeProto,
    te: "trailers",
    "user-agent": userAgent,
  };
  if (timeoutMs !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(timeoutMs);
  if (header !== undefined) {
    // Going through Headers validates names and values and joins repeated names, so each name
    // arrives once; a caller's user-agent wins.
    (isHeadersObject(header as object) ? (header as Headers) : new Headers(header)).forEach((value, name) => {
      if (!(name in protocolHeaders)) headers[name] = value;
    });
  }
  return headers;
}


