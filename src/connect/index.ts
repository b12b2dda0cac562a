// silo-edge/connect: Connect `Transport`s over this package's own channels, for code that talks to
// Silo through generated Connect clients. Kept off the root entry so `import("silo-edge")` loads
// nothing from @connectrpc/* or @bufbuild/protobuf.

export { createGrpcWebFetchTransport } from "../core/grpc-web-fetch-transport.js";
export type { GrpcWebFetchTransportOptions } from "../core/grpc-web-fetch-transport.js";
