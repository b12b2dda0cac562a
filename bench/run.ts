// Runs every benchmark of issue 7 side by side against the grpc-js baseline, prints the tables and
// writes bench/RESULTS.md.
//
//   npm run bench                  full run (~3-5 min on 2 cores), writes bench/RESULTS.md
//   npm run bench -- --check       same, then exits 1 if a target is missed
//   npm run bench -- --smoke       tiny counts for CI (< 60 s); writes to a temp file instead,
//                                  fails only on crashes, never on timings
//   npm run bench -- --only=warm,cold,hash,worker,many   a subset (RESULTS.md is not written)
//
// The dev server runs in a child process; every client runs in its own child, bundled with
// esbuild to plain .mjs (see bundle-children.ts), so figures are the client's alone.
import { writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleChildren } from "./bundle-children.js";
import { ENV } from "./children/workload.js";
import { runColdStart } from "./cold-start.js";
import { runEnqueueMany } from "./enqueue-many.js";
import type { BenchContext } from "./context.js";
import { summariseRoundTrips } from "./round-trips.js";
import { startServerProcess } from "./server-process.js";
import { renderTable, type Table } from "./stats.js";
import { evaluateTargets, targetsTable, type BenchResults } from "./targets.js";
import { runTenantHash } from "./tenant-hash.js";
import { runWarmEnqueue } from "./warm-enqueue.js";
import { runWorkerBundle } from "./worker-bundle.js";
import { runWorkerSockets } from "./worker-sockets.js";

const BENCHES = ["hash", "warm", "cold", "worker", "many"] as const;
type BenchName = (typeof BENCHES)[number];

const { values } = parseArgs({
  options: { smoke: { type: "boolean", default: false }, check: { type: "boolean", default: false }, only: { type: "string" } },
  strict: true,
});
const smoke = values.smoke!;
const only = values.only?.split(",").map((s) => s.trim()) as BenchName[] | undefined;
for (const name of only ?? []) {
  if (!BENCHES.includes(name)) throw new Error(`--only: unknown benchmark "${name}"; use ${BENCHES.join(", ")}`);
}
const selected = (name: BenchName): boolean => !only || only.includes(name);

const root = fileURLToPath(new URL("..", import.meta.url));
const started = new Date();
const startLoad = loadavg()[0]!;
const t0 = performance.now();

const print = (table: Table): void => {
  process.stdout.write(`\n${renderTable(table)}\n`);
};

const tables: Table[] = [];
const results: BenchResults = {};
const bundles = await bundleChildren();
const server = await startServerProcess();
try {
  const ctx: BenchContext = {
    smoke,
    server,
    bundles,
    childEnv: { ...process.env, [ENV.servers]: server.addresses.join(","), [ENV.protoPath]: join(root, "proto/silo/v1/silo.proto") },
    progress: (line) => process.stderr.write(`  ${line}\n`),
  };
  if (selected("hash")) {
    const r = await runTenantHash(ctx);
    r.tables.forEach(print);
    tables.push(...r.tables);
  }
  if (selected("warm")) {
    results.warm = await runWarmEnqueue(ctx);
    results.warm.tables.forEach(print);
    tables.push(...results.warm.tables);
  }
  if (selected("cold")) {
    results.cold = await runColdStart(ctx);
    results.cold.tables.forEach(print);
    tables.push(...results.cold.tables);
  }
  if (results.warm || results.cold) {
    results.roundTrips = summariseRoundTrips(results.cold, results.warm);
    results.roundTrips.tables.forEach(print);
    tables.push(...results.roundTrips.tables);
  }
  if (selected("many")) {
    const r = await runEnqueueMany(ctx);
    r.tables.forEach(print);
    tables.push(...r.tables);
  }
  if (selected("worker")) {
    results.worker = await runWorkerBundle(ctx);
    results.worker.tables.forEach(print);
    tables.push(...results.worker.tables);
    results.workerSockets = await runWorkerSockets(ctx);
    results.workerSockets.tables.forEach(print);
    tables.push(...results.workerSockets.tables);
  }
} finally {
  await server.close();
  bundles.dispose();
}

const outcomes = evaluateTargets(results);
const targets = targetsTable(outcomes);
print(targets);

const seconds = (performance.now() - t0) / 1000;
const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
const header = [
  "# silo-edge benchmarks",
  "",
  `Run ${started.toISOString()} with \`npm run bench${smoke ? " -- --smoke" : ""}\` in ${seconds.toFixed(0)} s.`,
  `Machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}; 1-min load average at start ${startLoad.toFixed(2)}.`,
  "",
  "> Figures are from one run on a shared, noisy machine (other jobs were running). Absolute numbers move",
  "> from run to run; the ratios are more stable because both sides run alternately in the same run against",
  "> the same dev server. Regenerate with `npm run bench`; `npm run bench -- --check` fails on a missed target.",
  ...(smoke ? ["", "> SMOKE RUN: tiny counts, figures meaningless."] : []),
  "",
];
const markdown = `${[header.join("\n"), renderTable(targets), ...tables.map(renderTable)].join("\n\n").replace(/\n{3,}/g, "\n\n")}\n`;
const out = smoke || only ? join(tmpdir(), `silo-edge-bench-results-${process.pid}.md`) : join(root, "bench/RESULTS.md");
writeFileSync(out, markdown);
process.stdout.write(`\nWrote ${out} (${seconds.toFixed(0)} s).\n`);

const missed = outcomes.filter((o) => o.met !== true);
if (values.check && !smoke && missed.length) {
  process.stderr.write(`--check: ${missed.length} target(s) missed or not run: ${missed.map((o) => o.name).join("; ")}\n`);
  process.exitCode = 1;
}
