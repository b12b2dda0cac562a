// Cold start, our client with a file topology store (SILO_BENCH_STORE_DIR): a fresh process that
// builds a client and enqueues one job, then prints "acked <ms since process start>".
import { SiloGRPCClient } from "silo-edge";
import { createFileTopologyStore } from "silo-edge/node";
import { ENV, PAYLOAD, reportAck, requireEnv, TASK_GROUP } from "./workload.js";

// In the bundle, every imported module has been evaluated by the time this line runs.
const loadedAtMs = performance.now();

const servers = requireEnv(ENV.servers).split(",");
const client = new SiloGRPCClient({ servers, topologyCache: createFileTopologyStore({ dir: requireEnv(ENV.storeDir) }) });
const handle = await client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant: "acme" });
reportAck(loadedAtMs, handle.id);
process.exit(0);
