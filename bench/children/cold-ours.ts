// Cold start, our client: a fresh process that builds a client and enqueues one job, then prints
// "acked <ms since process start>". With SILO_BENCH_STORE_DIR set it uses a file topology store.
import { SiloGRPCClient } from "silo-edge";
import { ENV, PAYLOAD, reportAck, requireEnv, TASK_GROUP } from "./workload.js";

// In the bundle, every imported module has been evaluated by the time this line runs.
const loadedAtMs = performance.now();

const servers = requireEnv(ENV.servers).split(",");
const dir = process.env[ENV.storeDir];
// Only the store variant loads the Node entry, as a user without a store would not import it.
const topologyCache = dir ? (await import("silo-edge/node")).createFileTopologyStore({ dir }) : undefined;
const client = new SiloGRPCClient({ servers, ...(topologyCache ? { topologyCache } : {}) });
const handle = await client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant: "acme" });
reportAck(loadedAtMs, handle.id);
process.exit(0);
