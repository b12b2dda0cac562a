import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { SiloGRPCClient } from "../../src/index.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/lambda-invocation.ts", import.meta.url));
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
});
afterAll(() => server?.close());

it("lets the process end right after the handler returns, without the client being closed", async () => {
  const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", SCRIPT], {
    env: { ...process.env, SILO_SERVERS: server.addresses.join(","), SILO_USE_TLS: "false", SILO_PROTOCOL: "grpc", SILO_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exit = await new Promise<{ code: number | null; at: number }>((resolve) => child.on("exit", (code) => resolve({ code, at: Date.now() })));
  expect(exit.code, stderr).toBe(0);
  const { id, returnedAt } = JSON.parse(stdout.trim()) as { id: string; returnedAt: number };
  // An open session holding the event loop would keep the process for seconds (or forever).
  expect(exit.at - returnedAt).toBeLessThan(1_000);
  const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  expect((await client.getJob(id, "exit-tenant")).payload).toEqual({ n: 1 });
}, 30_000);
