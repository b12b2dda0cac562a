// The built dist/ as plain Node loads it from node_modules, no bundler in front (a Lambda deployed
// as files, any `node server.js`): which modules an `import` pulls in, and that the entry points
// still share one copy of each module now that dist/ is bundled per entry point with shared chunks
// (scripts/build-dist.mjs). unbundled-import.test.ts checks the same imports from src/ (tsx).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./consumer.js";
import { ensureBuilt } from "../support/ensure-built.js";

const RECORD_LOADS = fileURLToPath(new URL("./fixtures/record-loads.mjs", import.meta.url));

interface Loaded {
  /** Every module URL the process loaded. */
  urls: string[];
  /** The package's own source files (src/..., from the loaded dist/ files' source maps) they hold. */
  sources: string[];
  /** What the script printed. */
  stdout: string;
}

/** Runs `script` (ESM) in a fresh Node process in this checkout, where `silo-edge` resolves to dist/. */
function runRecorded(script: string): Promise<Loaded> {
  const log = join(mkdtempSync(join(tmpdir(), "silo-edge-loads-")), "loads.txt");
  const args = ["--import", RECORD_LOADS, "--input-type=module", "-e", script];
  return new Promise((done, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, SILO_EDGE_LOAD_LOG: log } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`node -e ${script} failed: ${err.message}\n${stderr}`));
      const urls = readFileSync(log, "utf8").split("\n").filter((line) => line !== "");
      done({ urls, sources: sourcesOf(urls), stdout });
    });
  });
}

/** The src/ files behind the loaded dist/ files, read from their source maps. */
function sourcesOf(urls: string[]): string[] {
  const sources = new Set<string>();
  for (const url of urls) {
    if (!url.startsWith("file:")) continue;
    const file = fileURLToPath(url);
    if (!relative(join(ROOT, "dist"), file).match(/^[^.]/) || !existsSync(`${file}.map`)) continue;
    const map = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[]; sourceRoot?: string };
    for (const source of map.sources) sources.add(relative(ROOT, resolve(dirname(file), map.sourceRoot ?? "", source)));
  }
  return [...sources].sort();
}

const importOf = (specifier: string): Promise<Loaded> => runRecorded(`await import(${JSON.stringify(specifier)});`);
const fromConnectOrProtobuf = (urls: string[]): string[] => urls.filter((u) => /\/node_modules\/(@connectrpc|@bufbuild\/protobuf)\//.test(u));

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe("the built dist/, imported without a bundler", () => {
  it.each([
    "silo-edge",
    "silo-edge/hono",
    "silo-edge/express",
    "silo-edge/lambda",
    "silo-edge/fetch",
    "silo-edge/fastify",
    "silo-edge/worker",
    "silo-edge/workers-grpc",
  ])("of %s loads no module of @connectrpc/* or @bufbuild/protobuf", async (specifier) => {
    const { urls, sources } = await importOf(specifier);
    // The recorder works: files of dist/ were loaded and their sources found.
    expect(urls.some((u) => u.includes("/dist/"))).toBe(true);
    expect(sources.length).toBeGreaterThan(0);
    expect(fromConnectOrProtobuf(urls)).toEqual([]);
  });

  it("of silo-edge/connect, the Connect Transport helpers, is where @connectrpc/connect gets loaded", async () => {
    const { urls } = await importOf("silo-edge/connect");
    expect(urls.some((u) => u.includes("/node_modules/@connectrpc/connect/"))).toBe(true);
  });

  it("of silo-edge on Node loads the gRPC client but not the gRPC-web and Connect channels over fetch, which only protocol other than grpc uses", async () => {
    const { sources } = await importOf("silo-edge");
    expect(sources).toContain("src/core/silo-client.ts");
    expect(sources).toContain("src/core/platform-node.ts");
    expect(sources).toContain("src/node/grpc-http2-channel.ts");
    expect(sources.filter((s) => /(grpc-web-fetch-channel|connect-fetch-channel|platform-web)\.ts$/.test(s))).toEqual([]);
  });

  it("of silo-edge reads its code from a few files of dist/: entry points and shared chunks, not one file per source file", async () => {
    const { urls, sources } = await importOf("silo-edge");
    const distFiles = urls.filter((u) => u.startsWith("file:") && u.includes("/dist/"));
    // The root, the Node platform and telemetry files and the chunks they share (8 at the time
    // of writing); the ~75 source files behind them used to be as many files.
    expect(sources.length).toBeGreaterThan(50);
    expect(distFiles.length).toBeLessThanOrEqual(10);
  });

  it("of silo-edge loads everything the first enqueue needs: it loads no further module, @opentelemetry/api included while nothing registered with it", async () => {
    // @opentelemetry/api is installed in this checkout (a dev dependency), so it could be found.
    const { urls, stdout } = await runRecorded(
      [
        'import { appendFileSync } from "node:fs";',
        'const { startDevServer } = await import("silo-edge/dev");',
        "const server = await startDevServer({ port: 0 });",
        'const { SiloGRPCClient } = await import("silo-edge");',
        "const client = new SiloGRPCClient({ servers: server.addresses });",
        'appendFileSync(process.env.SILO_EDGE_LOAD_LOG, "enqueue\\n");',
        'const handle = await client.enqueue({ payload: { n: 1 }, taskGroup: "cold" });',
        'appendFileSync(process.env.SILO_EDGE_LOAD_LOG, "acked\\n");',
        "console.log(handle.id);",
        "await server.close();",
      ].join("\n"),
    );
    expect(stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(urls.indexOf("acked")).toBeGreaterThan(urls.indexOf("enqueue"));
    expect(urls.slice(urls.indexOf("enqueue") + 1, urls.indexOf("acked"))).toEqual([]);
    expect(urls.filter((u) => u.includes("/node_modules/@opentelemetry/"))).toEqual([]);
  });

  it("keeps one copy of each module across entry points: the same functions and error classes", async () => {
    const { stdout } = await runRecorded(
      [
        'const root = await import("silo-edge");',
        'const hono = await import("silo-edge/hono");',
        'const worker = await import("silo-edge/worker");',
        "console.log(JSON.stringify({",
        "  sameResolver: hono.fromHeader === root.fromHeader,",
        '  workerErrorIsSiloError: new worker.LeaseLostError("lost") instanceof root.SiloError,',
        "}));",
      ].join("\n"),
    );
    expect(JSON.parse(stdout)).toEqual({ sameResolver: true, workerErrorIsSiloError: true });
  });
});
