// Global setup of scripts/upstream-suite.mjs: the dev server as upstream's CI cluster
// (example_configs/dev-node1.toml and dev-node2.toml: nodes on 7450 and 7451, 8 shards, tenancy).
import { startDevServer, type DevServer } from "../src/dev-server/index.js";

let server: DevServer | undefined;

export async function setup(): Promise<void> {
  server = await startDevServer({ host: "127.0.0.1", port: 7450, nodes: 2, shards: 8, tenancy: true });
}

export async function teardown(): Promise<void> {
  await server?.close();
}
