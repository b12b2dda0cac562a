// Round trips: RPCs the dev server received per enqueue, from its per-method counts. The runs
// are the cold-start and warm-enqueue runs themselves (counts reset before each run, read after
// the run's process exited or its batch finished), so no extra processes are needed.
import type { ColdStartResult } from "./cold-start.js";
import { fmt, median, type Table } from "./stats.js";
import type { WarmEnqueueResult } from "./warm-enqueue.js";

export interface RoundTripResult {
  /** Worst run, RPCs per enqueue: what the targets are checked against (warm: on the enqueue path). */
  worst: { warm: number; cold: number; coldStore: number; baselineWarm: number; baselineCold: number };
  tables: Table[];
}

export function summariseRoundTrips(cold: ColdStartResult | undefined, warm: WarmEnqueueResult | undefined): RoundTripResult {
  const max = (v: number[] | undefined): number => (v && v.length ? Math.max(...v) : Number.NaN);
  const med = (v: number[] | undefined): number => (v && v.length ? median(v) : Number.NaN);
  const worst = {
    warm: max(warm?.enqueuePathRpcsPerCall.ours),
    cold: max(cold?.rpcsPerRun.ours),
    coldStore: max(cold?.rpcsPerRun["ours-store"]),
    baselineWarm: max(warm?.rpcsPerCall.baseline),
    baselineCold: max(cold?.rpcsPerRun.baseline),
  };
  const row = (label: string, values: number[] | undefined, digits: number): string[] => [label, fmt(med(values), digits), fmt(max(values), digits), String(values?.length ?? 0)];
  return {
    worst,
    tables: [
      {
        title: "Round trips: RPCs received by the server per enqueue",
        head: ["case", "median", "worst run", "runs"],
        rows: [
          row("silo-edge warm", warm?.rpcsPerCall.ours, 3),
          row("silo-edge warm, on the enqueue path (target)", warm?.enqueuePathRpcsPerCall.ours, 3),
          row("silo-edge cold", cold?.rpcsPerRun.ours, 0),
          row("silo-edge cold, warm topology store", cold?.rpcsPerRun["ours-store"], 0),
          row("silo-edge grpc-web warm (info)", warm?.rpcsPerCall["ours-grpc-web"], 3),
          row("grpc-js baseline warm", warm?.rpcsPerCall.baseline, 3),
          row("grpc-js baseline cold", cold?.rpcsPerRun.baseline, 0),
        ],
        notes: [
          "Warm: all RPCs of a batch divided by its enqueues; a background topology refresh (every 60 s by default, off the enqueue path) shows as a small fraction above 1. \"On the enqueue path\" leaves out one GetClusterInfo per batch (batches last seconds), so a client that refreshed more often, or made 2 RPCs per enqueue, still misses the target.",
          "Cold: all RPCs the server saw while one fresh process enqueued once (counted after the process exited).",
        ],
      },
    ],
  };
}
