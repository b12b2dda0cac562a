import type { UnaryBytesOptions, UnaryBytesResponse, UnaryChannel } from "./unary-channel.js";

/**
 * A channel built on its first call by `load`, which may import the module that makes it: code a
 * process never calls (on Node, the fetch channels of protocols "grpc-web" and "connect") is then
 * never loaded at `import "silo-edge"`. `load` runs once; when it fails, every call rejects with
 * its error.
 */
export function createLazyUnaryChannel(load: () => Promise<UnaryChannel>): UnaryChannel {
  let channel: UnaryChannel | undefined;
  let loading: Promise<UnaryChannel> | undefined;
  const call =
    (method: "unaryBytes" | "unaryFrame") =>
    (path: string, body: Uint8Array, options: UnaryBytesOptions): Promise<UnaryBytesResponse> => {
      if (channel !== undefined) return channel[method](path, body, options);
      loading ??= load().then((loaded) => (channel = loaded));
      return loading.then((loaded) => loaded[method](path, body, options));
    };
  return { unaryBytes: call("unaryBytes"), unaryFrame: call("unaryFrame") };
}
