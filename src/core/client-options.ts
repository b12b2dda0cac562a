import type { SiloLogger } from "./logger.js";
import type { SiloTlsOptions } from "./tls-options.js";
import type { Protocol } from "./protocol.js";
import type { ServersOption } from "./server-address.js";
import type { TopologyStore } from "./topology-store.js";

/** A token, or a function returning one (called before every RPC, so it may rotate). */
export type TokenOption = string | (() => string | Promise<string>);

/** Options of `new SiloGRPCClient(options)`. */
export interface SiloClientOptions {
  /** One or more servers to learn the topology from: `"host:port"`, `{ host, port }` or a list. Required. */
  servers: ServersOption;
  /**
   * Use TLS (https / h2). Default true; false when every server is a loopback address
   * (`localhost`, `127.x.x.x`, `::1`), where a local Silo or the dev server speaks plaintext.
   */
  useTls?: boolean;
  /** Sent as `authorization: Bearer <token>` on every RPC. Default: none. */
  token?: TokenOption;
  /** Shard routing. */
  shardRouting?: {
    /**
     * Shard count you expect. Optional; the topology from `GetClusterInfo` is authoritative, and
     * a mismatch is reported by `refreshTopology()` callers through `topology.numShards`.
     */
    numShards?: number;
    /** Age after which the topology is refreshed lazily on the next call; 0 disables. Default 60000. */
    topologyRefreshIntervalMs?: number;
  };
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
  /** Retries after redirects and transient errors, per call; the deadline bounds them too. Default 10. */
  maxRetries?: number;
  /** Default deadline of each call in ms, retries included. Default 10000. */
  timeoutMs?: number;
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
