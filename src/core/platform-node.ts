import type { Transport } from "@connectrpc/connect";
import { createGrpcHttp2Transport } from "../node/grpc-http2-transport.js";
import { platform as web } from "./platform-web.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";

/** Node: gRPC over HTTP/2 by default, as the stock Silo server speaks it. */
export const platform: Platform = {
  defaultProtocol: "grpc",
  unsupported: () => undefined,
  createTransport(options: PlatformTransportOptions): Transport {
    if (options.protocol !== "grpc") return web.createTransport(options);
    return createGrpcHttp2Transport({ baseUrl: options.baseUrl });
  },
};
