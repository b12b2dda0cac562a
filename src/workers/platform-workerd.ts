import { connect } from "cloudflare:sockets";
import { SiloValidationError } from "../core/errors.js";
import { platform as web } from "../core/platform-web.js";
import type { Platform, PlatformTransportOptions } from "../core/protocol.js";
import type { UnaryChannel } from "../core/unary-channel.js";
import { createGrpcSocketChannel } from "./grpc-socket-channel.js";

// workerd (Cloudflare Workers, miniflare): the fetch protocols of platform-web.ts, plus "grpc"
// over TCP sockets from `connect()`. Picked by the `workerd` condition of `#platform`, so browser
// and Node bundles never see cloudflare:sockets.

/** Workers: gRPC-web by default (unchanged for existing deployments); "grpc" over `connect()`. */
export const platform: Platform = {
  defaultProtocol: web.defaultProtocol,
  unsupported: () => undefined,
  createChannel(options: PlatformTransportOptions): UnaryChannel {
    if (options.protocol !== "grpc") return web.createChannel(options);
    const tls = options.tls;
    if (tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined || tls.servername !== undefined)) {
      throw new SiloValidationError(
        "tls",
        "connect() in Workers verifies TLS against the public trust store only; ca, cert, key and servername cannot be set there",
      );
    }
    return createGrpcSocketChannel({ baseUrl: options.baseUrl, maxReceiveMessageBytes: options.maxReceiveMessageBytes, connect });
  },
};
