import { createGrpcHttp2Channel } from "../node/grpc-http2-channel.js";
import { platform as web } from "./platform-web.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";
import { createTraceContextChannel } from "./trace-context-channel.js";
import type { UnaryChannel } from "./unary-channel.js";

/** Node: gRPC over HTTP/2 by default, as the stock Silo server speaks it. */
export const platform: Platform = {
  defaultProtocol: "grpc",
  unsupported: () => undefined,
  createChannel(options: PlatformTransportOptions): UnaryChannel {
    if (options.protocol !== "grpc") return createTraceContextChannel(web.createChannel(options));
    return createTraceContextChannel(createGrpcHttp2Channel({ baseUrl: options.baseUrl, maxReceiveMessageBytes: options.maxReceiveMessageBytes }));
  },
};
