// Cold start, our client: a fresh process that builds a client and enqueues one job, then prints
// "acked <ms since process start>". The variant with a file topology store is cold-ours-store.ts:
// a separate bundle, as a user without a store never imports (or bundles) silo-edge/node.
import { SiloGRPCClient } from "silo-edge";
import { ENV, PAYLOAD, reportAck, requireEnv, TASK_GROUP } from "./workload.js";

// In the bundle, every imported module has been evaluated by the time this line runs.
const loadedAtMs = performance.now();

const servers = requireEnv(ENV.servers).split(",");
const client = new SiloGRPCClient({ servers });
const handle = await client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant: "acme" });
reportAck(loadedAtMs, handle.id);
process.exit(0);
