// Cold start of bare Node run the same way as the clients (`node file.mjs`, ESM): prints the
// same line at once, so its median is the floor the clients' overhead is measured from.
import { reportAck } from "./workload.js";

reportAck(performance.now(), "");
process.exit(0);
