export { startDevServer } from "./dev-server.js";
export type { DevServer, DevServerOptions } from "./dev-server.js";
export type { ShardInfo } from "./cluster-state.js";
export type { NodeFault } from "./node-interceptors.js";
export type { QueryOptions } from "./query/query-service.js";
export { initialRanges } from "./shard-ranges.js";
export type { HashRange } from "./shard-ranges.js";
export { SHARD_OWNER_ADDR_HEADER, SHARD_OWNER_NODE_HEADER } from "./silo-service.js";
