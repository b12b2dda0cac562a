import { createGrpcHttp2Channel } from "../node/grpc-http2-channel.js";
import { createLazyUnaryChannel } from "./lazy-unary-channel.js";
import type { Platform, PlatformTransportOptions } from "./protocol.js";
import { createTraceContextChannel } from "./trace-context-channel.js";
import type { UnaryChannel } from "./unary-channel.js";
import type { PemInput, SiloTlsOptions } from "./tls-options.js";
import type { ConnectionOptions } from "node:tls";

/**
 * `#fetch-protocols` on Node: nothing to do, since this platform loads the fetch channels itself
 * on first use (see platform-web.ts for the fetch-only runtimes).
 */
export function useFetchProtocols(): void {}

/** Node: gRPC over HTTP/2 by default, as the stock Silo server speaks it. */
export const platform: Platform = {
  defaultProtocol: "grpc",
  unsupported: () => undefined,
  createChannel(options: PlatformTransportOptions): UnaryChannel {
    // The fetch channels load on first use: a gRPC process never reads their code.
    if (options.protocol !== "grpc") {
      return createTraceContextChannel(createLazyUnaryChannel(() => import("./fetch-channels.js").then(({ createFetchChannel }) => createFetchChannel(options))));
    }
    return createTraceContextChannel(
      createGrpcHttp2Channel({
        baseUrl: options.baseUrl,
        maxReceiveMessageBytes: options.maxReceiveMessageBytes,
        ...(options.tls ? { tlsOptions: nodeTlsOptions(options.tls) } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      }),
    );
  },
};

/** The client's `tls` option as node:tls takes it (Buffers, not plain Uint8Arrays). */
function nodeTlsOptions(tls: SiloTlsOptions): ConnectionOptions {
  const pem = (v: PemInput): string | Buffer => (typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  return {
    ...(tls.ca !== undefined ? { ca: Array.isArray(tls.ca) ? tls.ca.map(pem) : pem(tls.ca) } : {}),
    ...(tls.cert !== undefined ? { cert: pem(tls.cert) } : {}),
    ...(tls.key !== undefined ? { key: pem(tls.key) } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  };
}
