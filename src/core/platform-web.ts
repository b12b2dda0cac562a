import { SiloValidationError } from "./errors.js";
import type { Platform, PlatformTransportOptions, Protocol } from "./protocol.js";
import type { UnaryChannel } from "./unary-channel.js";

// Fetch-only runtimes (workerd, browsers, Deno). Which protocols a bundle can speak depends on
// what it uses, so that it carries only the code of those:
// - "grpc-web" and "connect" come with the client classes `silo-edge` exports (`SiloJobClient`,
//   `SiloGRPCClient`), whose constructors call fetch-protocols-web.ts;
// - "grpc" comes with `silo-edge/workers-grpc` in workerd (TCP sockets from `connect()`).
// A Worker that uses only the `SiloJobClient` of `silo-edge/workers-grpc` (the class under the
// root one) speaks gRPC alone and leaves the fetch channels out of its bundle.

const GRPC_UNSUPPORTED =
  '"grpc" needs HTTP/2 with trailers, which this runtime\'s fetch cannot do; in a Cloudflare Worker, import "silo-edge/workers-grpc" once to speak it over TCP sockets; elsewhere use "grpc-web" behind a gRPC-web front (e.g. Envoy\'s grpc_web filter)';

/** Builds the channel to one node over one protocol. */
type ChannelFactory = (options: PlatformTransportOptions) => UnaryChannel;
let grpcChannel: ChannelFactory | undefined;
let fetchChannel: ChannelFactory | undefined;

/** Makes protocol "grpc" available on this platform; `silo-edge/workers-grpc` calls it in workerd. */
export function setGrpcChannelFactory(factory: ChannelFactory): void {
  grpcChannel = factory;
}

/** Makes protocols "grpc-web" and "connect" available; `useFetchProtocols` (fetch-protocols-web.ts) calls it. */
export function setFetchChannelFactory(factory: ChannelFactory): void {
  fetchChannel = factory;
}

function unsupported(protocol: Protocol): string | undefined {
  if (protocol === "grpc") return grpcChannel === undefined ? GRPC_UNSUPPORTED : undefined;
  return fetchChannel === undefined
    ? `"${protocol}"${protocol === "grpc-web" ? " (the default here)" : ""} is not available to the SiloJobClient of "silo-edge/workers-grpc", which speaks gRPC only so that a Worker's bundle leaves the fetch channels out: pass protocol: "grpc", or import the client from "silo-edge" for the fetch-based protocols`
    : undefined;
}

/** gRPC-web by default; HTTP/2 gRPC only once `silo-edge/workers-grpc` was imported in workerd. */
export const platform: Platform = {
  defaultProtocol: "grpc-web",
  unsupported,
  createChannel(options: PlatformTransportOptions): UnaryChannel {
    const factory = options.protocol === "grpc" ? grpcChannel : fetchChannel;
    if (factory === undefined) throw new SiloValidationError("protocol", unsupported(options.protocol)!);
    return factory(options);
  },
};
