// `silo-edge/workers-grpc` outside workerd: nothing to do. Node speaks gRPC natively; browsers
// and other fetch-only runtimes cannot open TCP sockets, so "grpc" stays unavailable there.

export { SiloJobClient } from "../core/silo-job-client.js";

/** False: this runtime is not workerd, so importing the entry changed nothing. */
export const workersGrpc: boolean = false;
