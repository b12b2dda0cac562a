import { connect } from "cloudflare:sockets";
import { SiloValidationError } from "../core/errors.js";
import { setGrpcChannelFactory } from "../core/platform-web.js";
import { createGrpcSocketChannel } from "./grpc-socket-channel.js";

// `silo-edge/workers-grpc` in workerd: importing it lets protocol "grpc" run in a Worker, over TCP
// sockets from `connect()`. An opt-in entry rather than part of the Workers platform, so a
// gRPC-web Worker does not carry the HTTP/2 client (about 11 KB gzipped) it never uses.
//
// It also exports `SiloJobClient`, the class under the one `silo-edge` exports: it speaks only
// gRPC here, so a Worker that uses it (and no client class of `silo-edge`) leaves the fetch
// channels out of its bundle (platform-web.ts).

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

export { SiloJobClient } from "../core/silo-job-client.js";

/** True: importing this entry made protocol "grpc" available in this Worker. */
export const workersGrpc = true;
