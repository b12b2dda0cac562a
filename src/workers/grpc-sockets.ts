import { connect } from "cloudflare:sockets";
import { SiloValidationError } from "../core/errors.js";
import { setGrpcChannelFactory } from "../core/platform-web.js";
import { createGrpcSocketChannel } from "./grpc-socket-channel.js";

// `import "silo-edge/workers-grpc"` (workerd only): lets protocol "grpc" run in a Worker, over
// TCP sockets from `connect()`. An opt-in entry rather than part of the Workers platform, so a
// gRPC-web Worker does not carry the HTTP/2 client (about 11 KB gzipped) it never uses.

setGrpcChannelFactory((options) => {
  const tls = options.tls;
  if (tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined || tls.servername !== undefined)) {
    throw new SiloValidationError(
      "tls",
      "connect() in Workers verifies TLS against the public trust store only; ca, cert, key and servername cannot be set there",
    );
  }
  return createGrpcSocketChannel({ baseUrl: options.baseUrl, maxReceiveMessageBytes: options.maxReceiveMessageBytes, connect });
});

/** True: importing this entry made protocol "grpc" available in this Worker. */
export const workersGrpc = true;
