import { createConnectFetchChannel } from "./connect-fetch-channel.js";
import { createGrpcWebFetchChannel } from "./grpc-web-fetch-channel.js";
import type { PlatformTransportOptions } from "./protocol.js";
import type { UnaryChannel } from "./unary-channel.js";

/** The channel of a fetch-based protocol ("grpc-web" or "connect") to one node. */
export function createFetchChannel(options: PlatformTransportOptions): UnaryChannel {
  const { baseUrl, protocol, fetch, maxReceiveMessageBytes } = options;
  // Looked up per call, so a fetch patched after the client was built (tests, polyfills) is used.
  const doFetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
  return protocol === "connect"
    ? createConnectFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes })
    : createGrpcWebFetchChannel({ baseUrl, fetch: doFetch, maxReceiveMessageBytes });
}
