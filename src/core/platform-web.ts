import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { SiloValidationError } from "./errors.js";
import { workerdSafeFetch } from "./fetch-compat.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";

const GRPC_UNSUPPORTED =
  '"grpc" needs HTTP/2 with trailers, which this runtime\'s fetch cannot do; use "grpc-web" behind a gRPC-web front (e.g. Envoy\'s grpc_web filter)';

/** Fetch-only runtimes (workerd, browsers, Deno): gRPC-web by default; no HTTP/2 gRPC. */
export const platform: Platform = {
  defaultProtocol: "grpc-web",
  unsupported: (protocol) => (protocol === "grpc" ? GRPC_UNSUPPORTED : undefined),
  createTransport({ baseUrl, protocol, fetch }: PlatformTransportOptions): Transport {
    const safeFetch = workerdSafeFetch(fetch ?? ((input, init) => globalThis.fetch(input, init)));
    switch (protocol) {
      case "grpc-web":
        return createGrpcWebTransport({ baseUrl, fetch: safeFetch });
      case "connect":
        return createConnectTransport({ baseUrl, fetch: safeFetch, useBinaryFormat: true });
      case "grpc":
        throw new SiloValidationError("protocol", GRPC_UNSUPPORTED);
    }
  },
};
