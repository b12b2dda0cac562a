// A setup file of the `node` test project, which runs its files without isolation (vitest.config.ts):
// one worker process runs many files, and they share module instances. Before each file, forget
// what the client keeps per process, so every file starts as it would in a process of its own:
// no cached topology, no pooled HTTP/2 session, no reconnect backoff from an earlier file's servers
// (whose ports a later file's servers may get again).
import { beforeAll } from "vitest";
import { clearTopologyCache } from "silo-edge";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";

beforeAll(async () => {
  clearTopologyCache();
  await closeAllHttp2Sessions();
});
