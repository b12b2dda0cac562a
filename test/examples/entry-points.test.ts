import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Starts an example's main as its README says, configured only through the environment. */
function runMain(file: string, env: Record<string, string>): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start listening:\n${output}`)), 15_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening:\n${output}`));
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  // Scripts that never listen leave this promise unawaited: never report it as unhandled.
  url.catch(() => undefined);
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, url, exit, output: () => output };
}

describe.each([
  ["Express", "examples/express/server.ts"],
  ["Hono on Node", "examples/hono-node/server.ts"],
  ["Fastify", "examples/fastify/server.ts"],
])("the %s example's main", (_name, file) => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("listens on $PORT with the client from SILO_SERVERS, serves orders, and stops on SIGTERM", async () => {
    const main = runMain(file, { SILO_SERVERS: server.addresses.join(","), SILO_USE_TLS: "false", PORT: "0" });
    try {
      const url = await main.url;
      const res = await fetch(`${url}/orders`, {
        method: "POST",
        headers: { "x-tenant-id": "acme", "content-type": "application/json" },
        body: JSON.stringify({ items: [] }),
      });
      const body = (await res.json()) as { id: string };
      expect(res.status, JSON.stringify(body)).toBe(202);
      expect(server.jobIds()).toContain(body.id);

      main.child.kill("SIGTERM");
      expect(await main.exit, main.output()).toBe(0);
    } finally {
      main.child.kill("SIGKILL");
    }
  }, 30_000);
});

describe("the Lambda example's invoke-local script", () => {
  it("starts its own dev server, invokes the handler and the drain, and exits 0", async () => {
    const main = runMain("examples/lambda-api-gateway/invoke-local.ts", {});
    const code = await main.exit;
    expect(code, main.output()).toBe(0);
    expect(main.output()).toMatch(/POST \/orders\s+-> 202/);
    expect(main.output()).toMatch(/POST, no x-tenant-id -> 400/);
    expect(main.output()).toMatch(/GET \/orders\/\{id\}\s+-> 200 .*"status":"Succeeded","result":\{"items":1,"total":9\}/);
  }, 30_000);
});
