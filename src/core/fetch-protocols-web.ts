import { createFetchChannel } from "./fetch-channels.js";
import { setFetchChannelFactory } from "./platform-web.js";

/**
 * `#fetch-protocols` on fetch-only runtimes: makes "grpc-web" and "connect" available to every
 * client. Called by the constructor of the `SiloJobClient` that `silo-edge` exports (and so of
 * `SiloGRPCClient`), so that a bundle carries the fetch channels exactly when it uses one of
 * those classes: see platform-web.ts.
 */
export function useFetchProtocols(): void {
  setFetchChannelFactory(createFetchChannel);
}
