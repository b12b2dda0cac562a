import type { SiloTlsOptions } from "./tls-options.js";
import type { SiloLogger } from "./logger.js";
import type { UnaryChannel } from "./unary-channel.js";

/**
 * Wire protocol of a client: `"grpc"` (HTTP/2, what the stock Silo server speaks; Node only),
 * `"grpc-web"` (over fetch; needs a gRPC-web front such as Envoy, or the dev server) or
 * `"connect"` (over fetch; the dev server and Connect servers).
 */
export type Protocol = "grpc" | "grpc-web" | "connect";

export const PROTOCOLS: readonly Protocol[] = ["grpc", "grpc-web", "connect"];

/** What a platform needs to build the channel to one node. */
export interface PlatformTransportOptions {
  /** `http://host:port` or `https://host:port`. */
  baseUrl: string;
  protocol: Protocol;
  /** fetch implementation for the fetch-based protocols. Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Largest response message accepted, in bytes. Default 128 MiB. */
  maxReceiveMessageBytes?: number;
  /** TLS settings of the Node gRPC transport. Default: Node's. */
  tls?: SiloTlsOptions;
  /** Where the Node gRPC transport reports its connections' reconnects. Default: nowhere. */
  logger?: SiloLogger;
}

/** The part of a runtime that differs between Node and fetch-only runtimes. */
export interface Platform {
  /** `"grpc"` on Node, `"grpc-web"` on fetch-only runtimes. */
  readonly defaultProtocol: Protocol;
  /** Why a protocol cannot run here, or undefined when it can. */
  unsupported(protocol: Protocol): string | undefined;
  /** The raw unary channel to one node over `protocol`. */
  createChannel(options: PlatformTransportOptions): UnaryChannel;
}
