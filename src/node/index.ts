export { createFileTopologyStore } from "./file-topology-store.js";
export type { FileTopologyStoreOptions } from "./file-topology-store.js";
export { createGrpcHttp2Transport } from "./grpc-http2-transport.js";
export type { GrpcHttp2TransportOptions } from "./grpc-http2-transport.js";
export { closeAllHttp2Sessions } from "./http2-session-pool.js";
export { Http2DeliveryFailure, requestMayHaveBeenSent } from "../core/delivery-failure.js";
export { H2ProtocolError } from "../core/h2/protocol-error.js";
export type { H2Limits } from "../core/h2/limits.js";
