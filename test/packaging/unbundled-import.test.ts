import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RECORD_LOADS = fileURLToPath(new URL("./fixtures/record-loads.mjs", import.meta.url));

/** Imports `specifier` in a fresh Node process, unbundled, and returns every module URL it loaded. */
function modulesLoadedBy(specifier: string): Promise<string[]> {
  const log = join(mkdtempSync(join(tmpdir(), "silo-edge-loads-")), "loads.txt");
  const args = ["--conditions=silo-edge-source", "--import", "tsx", "--import", RECORD_LOADS, "--input-type=module", "-e", `await import(${JSON.stringify(specifier)});`];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, SILO_EDGE_LOAD_LOG: log } }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`importing ${specifier} failed: ${err.message}\n${stderr}`));
      else resolve(readFileSync(log, "utf8").split("\n").filter((line) => line !== ""));
    });
  });
}

const fromConnectOrProtobuf = (urls: string[]): string[] => urls.filter((u) => /\/node_modules\/(@connectrpc|@bufbuild\/protobuf)\//.test(u));

describe("an unbundled import", () => {
  it.each(["silo-edge", "silo-edge/hono", "silo-edge/express", "silo-edge/lambda", "silo-edge/fetch", "silo-edge/fastify", "silo-edge/worker"])(
    "of %s loads no module of @connectrpc/* or @bufbuild/protobuf",
    async (specifier) => {
      const urls = await modulesLoadedBy(specifier);
      // The recorder works: the package's own source was seen.
      expect(urls.some((u) => u.includes("/src/core/silo-client.ts") || u.includes("/src/worker/worker.ts"))).toBe(true);
      expect(fromConnectOrProtobuf(urls)).toEqual([]);
    },
  );

  it("of silo-edge/connect, the Connect Transport helpers, is where @connectrpc/connect gets loaded", async () => {
    const urls = await modulesLoadedBy("silo-edge/connect");
    expect(urls.some((u) => u.includes("/node_modules/@connectrpc/connect/"))).toBe(true);
  });
});
