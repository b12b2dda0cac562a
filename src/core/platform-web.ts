import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SiloValidationError } from "./errors.js";
import { workerdSafeFetch } from "./fetch-compat.js";
import { createGrpcWebFetchTransport } from "./grpc-web-fetch-transport.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";

const GRPC_UNSUPPORTED =
  '"grpc" needs HTTP/2 with trailers, which this runtime\'s fetch cannot do; use "grpc-web" behind a gRPC-web front (e.g. Envoy\'s grpc_web filter)';

/** Fetch-only runtimes (workerd, browsers, Deno): gRPC-web by default; no HTTP/2 gRPC. */
export const platform: Platform = {
  defaultProtocol: "grpc-web",
  unsupported: (protocol) => (protocol === "grpc" ? GRPC_UNSUPPORTED : undefined),
  createTransport({ baseUrl, protocol, fetch }: PlatformTransportOptions): Transport {
    // Looked up per call, so a fetch patched after the client was built (tests, polyfills) is used.
    const doFetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    switch (protocol) {
      case "grpc-web":
        return createGrpcWebFetchTransport({ baseUrl, fetch: doFetch });
      case "connect":
        return createConnectTransport({ baseUrl, fetch: workerdSafeFetch(doFetch), useBinaryFormat: true });
      case "grpc":
        throw new SiloValidationError("protocol", GRPC_UNSUPPORTED);
    }
  },
};
