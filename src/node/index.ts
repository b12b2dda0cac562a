export { createFileTopologyStore } from "./file-topology-store.js";
export type { FileTopologyStoreOptions } from "./file-topology-store.js";
