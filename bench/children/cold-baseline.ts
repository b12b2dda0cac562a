// Cold start, the grpc-js baseline: same steps as cold-ours.ts.
import { GrpcJsBaselineClient } from "../baseline/grpc-js-client.js";
import { ENV, PAYLOAD, reportAck, requireEnv, TASK_GROUP } from "./workload.js";

const loadedAtMs = performance.now();

const [server] = requireEnv(ENV.servers).split(",");
const client = new GrpcJsBaselineClient({ server: server!, protoPath: requireEnv(ENV.protoPath) });
const id = await client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant: "acme" });
reportAck(loadedAtMs, id);
process.exit(0);
