// Cold start: time from spawning a fresh `node file.mjs` to its first enqueue acknowledged, for
// our client (without and with a warm file topology store), the grpc-js baseline, and bare Node
// printing the same line. Overhead = median - bare median. Variants alternate within each round
// in a rotating order. The RPCs the server received during each run are kept for round-trips.ts.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ChildEntry } from "./bundle-children.js";
import { ENV } from "./children/workload.js";
import type { BenchContext } from "./context.js";
import { totalRpcs } from "./server-process.js";
import { fmt, fmtRatio, median, rotate, spread, type Table } from "./stats.js";

export type ColdVariant = "ours" | "ours-store" | "baseline" | "ours-unbundled" | "baseline-unbundled" | "bare";

const LABEL: Record<ColdVariant, string> = {
  ours: "silo-edge, no topology store",
  "ours-store": "silo-edge, warm file topology store",
  baseline: "grpc-js baseline",
  "ours-unbundled": "silo-edge unbundled (dist/ from node_modules)",
  "baseline-unbundled": "grpc-js baseline unbundled (node_modules)",
  bare: "bare Node (node file.mjs printing one line)",
};

/** What each variant's "overhead vs baseline" compares against. */
const BASELINE_OF: Partial<Record<ColdVariant, ColdVariant>> = {
  ours: "baseline",
  "ours-store": "baseline",
  "ours-unbundled": "baseline-unbundled",
};

export interface ColdStartResult {
  /** Median spawn-to-ack ms per variant. */
  medianMs: Record<ColdVariant, number>;
  /** Median minus the bare-Node median. */
  overheadMs: Record<ColdVariant, number>;
  /** RPCs the server saw during each run, per variant. */
  rpcsPerRun: Record<ColdVariant, number[]>;
  /** `node -e 0` spawn-to-exit median, for reference. */
  nodeE0Ms: number;
  tables: Table[];
}

interface RunSample {
  spawnToAckMs: number;
  /** The child's own performance.now() at ack: start-up inside the process, spawn cost excluded. */
  inProcessMs: number;
  /** The child's CPU time (user + system) at ack. */
  cpuMs: number;
  /** The child's performance.now() when its bundled code had been evaluated (before any I/O). */
  loadedAtMs: number;
}

/** Spawns one child and resolves when it prints its "acked" line and has exited. */
function spawnToAck(file: string, env: NodeJS.ProcessEnv): Promise<RunSample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [file], { env, stdio: ["ignore", "pipe", "pipe"] });
    let sample: RunSample | undefined;
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (sample || !line.startsWith("acked ")) return;
      const spawnToAckMs = performance.now() - t0;
      const ack = JSON.parse(line.slice("acked ".length)) as { atMs: number; cpuMs: number; loadedAtMs: number };
      sample = { spawnToAckMs, inProcessMs: ack.atMs, cpuMs: ack.cpuMs, loadedAtMs: ack.loadedAtMs };
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (sample && code === 0) resolve(sample);
      else reject(new Error(`${file} exited with code ${code} before acknowledging an enqueue:\n${stderr}`));
    });
  });
}

function spawnToExit(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - t0));
  });
}

export async function runColdStart(ctx: BenchContext): Promise<ColdStartResult> {
  const rounds = ctx.smoke ? 1 : 15;
  const variants: ColdVariant[] = ["ours", "ours-store", "baseline", "ours-unbundled", "baseline-unbundled", "bare"];
  const entry: Record<ColdVariant, ChildEntry> = {
    ours: "cold-ours",
    "ours-store": "cold-ours-store",
    baseline: "cold-baseline",
    "ours-unbundled": "cold-ours",
    "baseline-unbundled": "cold-baseline",
    bare: "cold-bare",
  };
  const fileOf = (v: ColdVariant): string =>
    v === "ours-unbundled" ? ctx.bundles.unbundledPath("cold-ours") : v === "baseline-unbundled" ? ctx.bundles.unbundledPath("cold-baseline") : ctx.bundles.path(entry[v]);
  const storeDir = mkdtempSync(join(tmpdir(), "silo-edge-bench-store-"));
  const envOf = (v: ColdVariant): NodeJS.ProcessEnv => (v === "ours-store" ? { ...ctx.childEnv, [ENV.storeDir]: storeDir } : ctx.childEnv);
  const samples = Object.fromEntries(variants.map((v) => [v, [] as RunSample[]])) as Record<ColdVariant, RunSample[]>;
  const rpcsPerRun = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<ColdVariant, number[]>;
  const nodeE0: number[] = [];
  try {
    // One untimed run of each warms the OS file cache, so round 1 is not an outlier.
    for (const v of variants) await spawnToAck(fileOf(v), envOf(v));
    for (let round = 0; round < rounds; round++) {
      ctx.progress(`cold start: round ${round + 1}/${rounds}`);
      // Refresh the store untimed each round, so it is "warm" (younger than the client's 60 s
      // refresh interval) the way a store written by the previous invocation is.
      await spawnToAck(ctx.bundles.path("cold-ours-store"), envOf("ours-store"));
      for (const v of rotate(variants, round)) {
        await ctx.server.resetRpcCounts();
        samples[v].push(await spawnToAck(fileOf(v), envOf(v)));
        rpcsPerRun[v].push(totalRpcs(await ctx.server.rpcCounts()));
      }
      nodeE0.push(await spawnToExit(["-e", "0"]));
    }
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }

  const medianMs = {} as Record<ColdVariant, number>;
  const overheadMs = {} as Record<ColdVariant, number>;
  for (const v of variants) medianMs[v] = median(samples[v].map((s) => s.spawnToAckMs));
  for (const v of variants) overheadMs[v] = medianMs[v] - medianMs.bare;
  const nodeE0Ms = median(nodeE0);

  const cpuOver = (v: ColdVariant): number => median(samples[v].map((s) => s.cpuMs)) - median(samples.bare.map((s) => s.cpuMs));
  const rows = variants.map((v) => {
    const [lo, hi] = spread(samples[v].map((s) => s.spawnToAckMs));
    return [
      LABEL[v],
      fmt(medianMs[v]),
      `${fmt(lo)}–${fmt(hi)}`,
      v === "bare" ? "0" : fmt(overheadMs[v]),
      BASELINE_OF[v] === undefined ? "" : fmtRatio(overheadMs[v], overheadMs[BASELINE_OF[v]]),
      fmt(median(samples[v].map((s) => s.loadedAtMs))),
      fmt(median(samples[v].map((s) => s.inProcessMs))),
      fmt(median(samples[v].map((s) => s.cpuMs))),
      v === "bare" ? "0" : BASELINE_OF[v] === undefined ? fmt(cpuOver(v)) : `${fmt(cpuOver(v))} (${fmtRatio(cpuOver(v), cpuOver(BASELINE_OF[v]))})`,
    ];
  });
  rows.push(["`node -e 0` (spawn to exit, reference)", fmt(nodeE0Ms), `${fmt(Math.min(...nodeE0))}–${fmt(Math.max(...nodeE0))}`, "", "", "", "", "", ""]);
  return {
    medianMs,
    overheadMs,
    rpcsPerRun,
    nodeE0Ms,
    tables: [
      {
        title: `Cold start to first acknowledged enqueue (ms, median of ${rounds} fresh processes each)`,
        head: ["variant", "spawn→ack", "min–max", "overhead over bare", "overhead vs baseline", "in-process: code loaded", "in-process: ack", "child CPU at ack", "CPU over bare (vs baseline)"],
        rows,
        notes: [
          "Each child is an esbuild bundle run as `node file.mjs`; node_modules are bundled on both sides (as a Lambda built with esbuild is), so tsx and module resolution cost nothing to either side.",
          "silo-edge's two variants are separate bundles: only the store variant imports silo-edge/node (statically, so unused exports are tree-shaken), as a user without a store would not bundle it.",
          "spawn→ack: from spawn() in the parent to the child's \"acked\" line on stdout; overhead subtracts the bare-Node row, which prints the same line from the same kind of file.",
          "in-process: the child's own performance.now() (time since its process started, without the parent's spawn cost) when the bundle's code had been evaluated, and at ack; the gap is building the client, the RPCs and their connections. child CPU at ack: its user + system CPU time by then (process.resourceUsage()), for information: steadier than wall time on a loaded machine.",
          "Unbundled rows: only the child's own file is compiled; `import \"silo-edge\"` loads the built dist/ (one file per entry point plus shared chunks, as published) and its dependencies file by file from node_modules, and the baseline loads @grpc/grpc-js, @grpc/proto-loader and protobufjs from node_modules, the way an app deployed without a bundler starts. Their overhead ratio compares the two unbundled rows.",
          "The topology store is a file store written by an untimed run at the start of each round. The baseline parses silo.proto at start-up, as @grpc/proto-loader users do.",
        ],
      },
    ],
  };
}
