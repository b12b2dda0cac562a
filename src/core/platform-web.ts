import { createConnectFetchChannel } from "./connect-fetch-channel.js";
import { SiloValidationError } from "./errors.js";
import { createGrpcWebFetchChannel } from "./grpc-web-fetch-channel.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";
import type { UnaryChannel } from "./unary-channel.js";

const GRPC_UNSUPPORTED =
  '"grpc" needs HTTP/2 with trailers, which this runtime\'s fetch cannot do; in a Cloudflare Worker, import "silo-edge/workers-grpc" once to speak it over TCP sockets; elsewhere use "grpc-web" behind a gRPC-web front (e.g. Envoy\'s grpc_web filter)';

/** Builds "grpc" channels where the runtime can (src/workers/grpc-sockets.ts in workerd). */
type GrpcChannelFactory = (options: PlatformTransportOptions) => UnaryChannel;
let grpcChannel: GrpcChannelFactory | undefined;

/** Makes protocol "grpc" available on this platform; `silo-edge/workers-grpc` calls it in workerd. */
export function setGrpcChannelFactory(factory: GrpcChannelFactory): void {
  grpcChannel = factory;
}

/**
 * Fetch-only runtimes (workerd, browsers, Deno): gRPC-web by default; HTTP/2 gRPC only once
 * `silo-edge/workers-grpc` was imported in workerd.
 */
export const platform: Platform = {
  defaultProtocol: "grpc-web",
  unsupported: (protocol) => (protocol === "grpc" && grpcChannel === undefined ? GRPC_UNSUPPORTED : undefined),
  createChannel(options: PlatformTransportOptions): UnaryChannel {
    const { baseUrl, protocol, fetch, maxReceiveMessageBytes } = options;
    // Looked up per call, so a fetch patched after the client was built (tests, polyfills) is used.
    const doFetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    switch (protocol) {
      case "grpc-web":
        return createGrpcWebFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes });
      case "connect":
        return createConnectFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes });
      case "grpc":
        if (grpcChannel === undefined) throw new SiloValidationError("protocol", GRPC_UNSUPPORTED);
        return grpcChannel({ baseUrl, protocol, maxReceiveMessageBytes, ...(options.tls ? { tls: options.tls } : {}) });
    }
  },
};
