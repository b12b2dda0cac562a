import { useFetchProtocols } from "#fetch-protocols";
import type { SiloGRPCClientOptions } from "./client-options.js";
import { SiloJobClient as CoreJobClient } from "./silo-job-client.js";

/**
 * The application side of the Silo client (see silo-job-client.ts), as `silo-edge` exports it:
 * it speaks every protocol the runtime has. On fetch-only runtimes its constructor makes
 * "grpc-web" and "connect" available; by calling a function rather than importing a module for
 * its side effect, a bundle carries the fetch channels exactly when it constructs this class or
 * `SiloGRPCClient`, however the bundler splits or shakes modules. `silo-edge/workers-grpc`
 * exports the class underneath, which a gRPC-only Worker uses to leave them out.
 */
export class SiloJobClient extends CoreJobClient {
  constructor(options: SiloGRPCClientOptions) {
    useFetchProtocols();
    super(options);
  }
}
