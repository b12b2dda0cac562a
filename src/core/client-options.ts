import type { SiloLogger } from "./logger.js";
import type { SiloTlsOptions } from "./tls-options.js";
import type { OtelMeter } from "./otel-types.js";
import type { Protocol } from "./protocol.js";
import type { ServersOption } from "./server-address.js";
import type { TopologyStore } from "./topology-store.js";

/** A token, or a function returning one (called before every RPC, so it may rotate). */
export type TokenOption = string | (() => string | Promise<string>);

/** Options of `new SiloGRPCClient(options)`. */
export interface SiloGRPCClientOptions {
  /** One or more servers to learn the topology from: `"host:port"`, `{ host, port }` or a list. Required. */
  servers: ServersOption;
  /**
   * Use TLS (https / h2). Default true; false when every server is a loopback address
   * (`localhost`, `127.x.x.x`, `::1`), where a local Silo or the dev server speaks plaintext.
   */
  useTls?: boolean;
  /** Sent as `authorization: Bearer <token>` on every RPC. Default: none. */
  token?: TokenOption;
  /** Shard routing and retries (the upstream client's `shardRouting`). */
  shardRouting?: ShardRoutingConfig;
  /**
   * Wire protocol. Default `"grpc"` on Node (HTTP/2, what the stock server speaks) and
   * `"grpc-web"` on fetch-only runtimes (Workers, browsers), which need a gRPC-web front.
   */
  protocol?: Protocol;
  /**
   * Translates node addresses the cluster advertises into reachable ones (NAT, port-forwards,
   * Docker): a map from advertised `host:port` to reachable `host:port`, or a function.
   * Default: use advertised addresses as they are.
   */
  addressMap?: Record<string, string> | ((advertised: string) => string);
  /** Keeps the last known topology across cold starts. Default: none (memory only). */
  topologyCache?: TopologyStore;
  /**
   * Default deadline of each call in ms, retries and their backoff included: a call ends at
   * `shardRouting.maxRetries` or at this deadline, whichever comes first. Default 10000.
   */
  timeoutMs?: number;
  /**
   * Accepted for compatibility with the upstream client (grpc-js channel options). silo-edge runs
   * its own HTTP/2 client, so these are not read: keepalive, the 128 MiB message limits and
   * retries are built in. Default: none.
   */
  grpcClientOptions?: Record<string, unknown>;
  /**
   * Per-call options as the upstream client takes them (an object, or a function called before
   * every call). Read: `meta` (extra request headers, string values), `timeout` (ms: the call's
   * deadline when the call gives none) and `abort` (an `AbortSignal`). Default: none.
   */
  rpcOptions?: RpcOptionsLike | (() => RpcOptionsLike | undefined);
  /**
   * OpenTelemetry Meter for the client's metric (`silo.client.wrong_shard_retries`), on Node.
   * Default: meter `silo-client` of the global MeterProvider when `@opentelemetry/api` is installed.
   */
  meter?: OtelMeter;
  /** fetch used by the fetch-based protocols. Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every RPC. Default: none. */
  headers?: Record<string, string>;
  /**
   * Allow sending `token` without TLS to a non-loopback address, where anyone on the path can
   * read it. Default false: such a client throws `SiloValidationError` for `token`.
   */
  allowInsecureToken?: boolean;
  /**
   * TLS settings of the Node gRPC transport: `ca` (trust a private CA), `cert` and `key` (mutual
   * TLS), `servername` (the name the server's certificate must carry). Setting it turns TLS on.
   * Default: Node's trusted roots, no client certificate, the server's host name.
   */
  tls?: SiloTlsOptions;
  /**
   * Receives structured entries about retries, redirects, topology refreshes and failed
   * background enqueues: `{ debug, info, warn, error }`, each `(fields, message)` (pino's order;
   * `console` works too). Tokens and header values are never logged. Default: silent.
   */
  logger?: SiloLogger;
  /** Largest response message accepted, in bytes; a larger one fails the call at once with `resource_exhausted`. Default 134217728 (128 MiB). */
  maxReceiveMessageBytes?: number;
}

/** The upstream client's `shardRouting` options. */
export interface ShardRoutingConfig {
  /** Retries of a call after a wrong-shard answer or a connectivity error. Default 8. */
  maxRetries?: number;
  /**
   * Wait before the first retry, ms; doubled per retry, capped at 5000, with up to 50% jitter
   * downward. A redirect to the shard's owner is followed at once. Default 250.
   */
  retryDelayMs?: number;
  /**
   * Age in ms after which the next call refreshes the topology in the background; 0 disables.
   * Lazy, not a timer, so nothing runs between calls (Workers, Lambda). Default 30000.
   */
  topologyRefreshIntervalMs?: number;
  /**
   * Deadline of one GetClusterInfo attempt per server, ms. Default 10000, or the client's
   * `timeoutMs` shared among the configured servers when that is less.
   */
  topologyRefreshTimeoutMs?: number;
  /** Shard count you expect. Optional; the topology from `GetClusterInfo` is authoritative. */
  numShards?: number;
}

/** The parts of protobuf-ts's `RpcOptions` that silo-edge reads. */
export interface RpcOptionsLike {
  /** Extra request metadata. */
  meta?: Record<string, string | string[]>;
  /** Deadline in ms (or a Date). */
  timeout?: number | Date;
  /** Cancels the call. */
  abort?: AbortSignal;
  [key: string]: unknown;
}

/** Options of a single call. */
export interface CallOptions {
  /** Deadline of this call in ms, retries included. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Aborts the call; the call then rejects with `SiloCancelledError`. */
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}
