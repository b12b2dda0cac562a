// The targets of issue 7, checked against figures of the same run. `--check` exits non-zero when
// one is missed or could not be measured.
import type { ColdStartResult } from "./cold-start.js";
import type { RoundTripResult } from "./round-trips.js";
import { fmt, fmtBytes, KB, type Table } from "./stats.js";
import type { WarmEnqueueResult } from "./warm-enqueue.js";
import type { WorkerBundleResult } from "./worker-bundle.js";
import type { WorkerSocketsResult } from "./worker-sockets.js";

export interface TargetOutcome {
  name: string;
  target: string;
  measured: string;
  /** undefined: not measured in this run (counts as missed for --check). */
  met: boolean | undefined;
}

const MAX_RATIO = 0.5;
/** Unbundled start-up (issue 15): our overhead over bare Node against the unbundled baseline's. */
const MAX_UNBUNDLED_RATIO = 0.3;
const MAX_WORKER_GZIP = 35 * KB;

export interface BenchResults {
  warm?: WarmEnqueueResult;
  cold?: ColdStartResult;
  roundTrips?: RoundTripResult;
  worker?: WorkerBundleResult;
  workerSockets?: WorkerSocketsResult;
}

function sizeTarget(name: string, gzipBytes: number | undefined): TargetOutcome {
  const target = `≤ ${fmtBytes(MAX_WORKER_GZIP)}`;
  return gzipBytes === undefined
    ? { name, target, measured: "not measured", met: undefined }
    : { name, target, measured: fmtBytes(gzipBytes), met: gzipBytes <= MAX_WORKER_GZIP };
}

function ratioTarget(name: string, ours: number | undefined, baseline: number | undefined, unit: string, max = MAX_RATIO): TargetOutcome {
  if (ours === undefined || baseline === undefined || !Number.isFinite(ours) || !Number.isFinite(baseline) || baseline <= 0) {
    return { name, target: `≤ ${max}× baseline`, measured: "not measured", met: undefined };
  }
  const ratio = ours / baseline;
  return { name, target: `≤ ${max}× baseline`, measured: `${ratio.toFixed(2)}× (${fmt(ours)} vs ${fmt(baseline)} ${unit})`, met: ratio <= max };
}

function countTarget(name: string, worst: number | undefined, max: number, digits = 0): TargetOutcome {
  if (worst === undefined || !Number.isFinite(worst)) return { name, target: `${max}`, measured: "not measured", met: undefined };
  // Rounding guards against float dust only (e.g. 1000/1000 computed as 0.9999999).
  return { name, target: `${max}`, measured: `${fmt(worst, digits)} (worst run)`, met: Math.round(worst * 1e9) / 1e9 <= max };
}

export function evaluateTargets(r: BenchResults): TargetOutcome[] {
  const warm = r.warm?.medians;
  const cold = r.cold;
  const rt = r.roundTrips?.worst;
  return [
    ratioTarget("warm client CPU per enqueue, 64 in flight", warm?.ours[64].cpuUsPerCall, warm?.baseline[64].cpuUsPerCall, "µs"),
    ratioTarget("warm client CPU per enqueue, 1 in flight", warm?.ours[1].cpuUsPerCall, warm?.baseline[1].cpuUsPerCall, "µs"),
    ratioTarget("cold start overhead over bare Node", cold?.overheadMs.ours, cold?.overheadMs.baseline, "ms"),
    ratioTarget(
      "unbundled cold start overhead over bare Node",
      cold?.overheadMs["ours-unbundled"],
      cold?.overheadMs["baseline-unbundled"],
      "ms",
      MAX_UNBUNDLED_RATIO,
    ),
    countTarget("round trips per enqueue, warm (enqueue path)", rt?.warm, 1, 3),
    countTarget("round trips per enqueue, cold", rt?.cold, 2),
    countTarget("round trips per enqueue, cold with topology store", rt?.coldStore, 1),
    sizeTarget("minimal enqueue Worker, gzipped", r.worker?.minimalGzipBytes),
    // Issues 14 and 15: the same target for the Worker that speaks gRPC over connect().
    sizeTarget("minimal enqueue Worker over gRPC on connect(), gzipped", r.workerSockets?.grpcGzipBytes),
  ];
}

export function targetsTable(outcomes: TargetOutcome[]): Table {
  return {
    title: "Targets (issue 7), against the baseline of the same run",
    head: ["target", "goal", "measured", "status"],
    rows: outcomes.map((o) => [o.name, o.target, o.measured, o.met === undefined ? "NOT RUN" : o.met ? "met" : "MISSED"]),
    notes: [
      "Ratios compare medians of this run. Round trips are the worst run; warm ones leave out one background topology refresh per batch (see the round-trips table).",
      "`npm run bench -- --check` exits 1 when any target is missed or not run; smoke mode never fails on targets.",
    ],
  };
}
