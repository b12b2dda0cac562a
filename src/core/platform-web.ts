import { createConnectFetchChannel } from "./connect-fetch-channel.js";
import { SiloValidationError } from "./errors.js";
import { createGrpcWebFetchChannel } from "./grpc-web-fetch-channel.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";
import type { UnaryChannel } from "./unary-channel.js";

const GRPC_UNSUPPORTED =
  '"grpc" needs HTTP/2 with trailers, which this runtime\'s fetch cannot do; use "grpc-web" behind a gRPC-web front (e.g. Envoy\'s grpc_web filter)';

/** Fetch-only runtimes (workerd, browsers, Deno): gRPC-web by default; no HTTP/2 gRPC. */
export const platform: Platform = {
  defaultProtocol: "grpc-web",
  unsupported: (protocol) => (protocol === "grpc" ? GRPC_UNSUPPORTED : undefined),
  createChannel({ baseUrl, protocol, fetch, maxReceiveMessageBytes }: PlatformTransportOptions): UnaryChannel {
    // Looked up per call, so a fetch patched after the client was built (tests, polyfills) is used.
    const doFetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    switch (protocol) {
      case "grpc-web":
        return createGrpcWebFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes });
      case "connect":
        return createConnectFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes });
      case "grpc":
        throw new SiloValidationError("protocol", GRPC_UNSUPPORTED);
    }
  },
};
