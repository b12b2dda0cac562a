import { SiloError, SiloGRPCClient, clearTopologyCache, type Protocol } from "silo-edge";
import { childProcessServer, inProcessServer, type ServerControl } from "./server-control.js";

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Enqueues to run. Default 20000. */
  total?: number;
  /** Enqueues in flight at once. Default 256. */
  concurrency?: number;
  /** Dev server nodes. Default 3. */
  nodes?: number;
  /** Dev server shards. Default 12. */
  shards?: number;
  /** Distinct tenants the jobs spread over. Default 500. */
  tenants?: number;
  /** Wire protocol. Default "grpc". */
  protocol?: Protocol;
  /** Stop this node when half the enqueues are acknowledged; -1 for none. Default 1. */
  restartNode?: number;
  /** How long the node stays down. Default 1000 ms. */
  downMs?: number;
  /** Where the dev server runs. Default "in-process". */
  server?: "in-process" | "child-process";
  /** Progress lines. Default: silent. */
  log?: (line: string) => void;
}

/** What a load run observed. */
export interface LoadReport {
  options: Required<Omit<LoadOptions, "log">>;
  acknowledged: number;
  failed: number;
  /** Failed calls by SiloError code; "untyped" counts anything that was not a SiloError. */
  failuresByCode: Record<string, number>;
  /** One message per failure code, to show what callers saw. */
  sampleMessages: Record<string, string>;
  /** Acknowledged ids the server does not hold. */
  lost: number;
  /** Ids acknowledged twice (a second job behind one acknowledgement would show here or in `extra`). */
  duplicateAcks: number;
  /** Jobs on the server that no call acknowledged. Failed calls may account for up to `failed` of them. */
  extra: number;
  /** Jobs the server holds after the run. */
  serverJobs: number;
  elapsedMs: number;
  enqueuesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Heap in bytes after a forced GC when available (`gcForced`). */
  heapBefore: number;
  /** Heap once a tenth of the enqueues were acknowledged (connections and topology warm). */
  heapWarm: number;
  heapAfter: number;
  gcForced: boolean;
  /** When the node went down and came back, ms from the start. */
  restart: { stoppedAtMs: number; startedAtMs: number } | undefined;
  /** True when nothing was lost and nothing duplicated. */
  ok: boolean;
}

function heapNow(): { bytes: number; forced: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return { bytes: process.memoryUsage().heapUsed, forced: gc !== undefined };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Enqueues `total` jobs with `concurrency` in flight over a multi-node dev server, stops one node
 * half way and starts it again `downMs` later, then checks the server against the acknowledgements.
 */
export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const o: Required<Omit<LoadOptions, "log">> = {
    total: options.total ?? 20_000,
    concurrency: options.concurrency ?? 256,
    nodes: options.nodes ?? 3,
    shards: options.shards ?? 12,
    tenants: options.tenants ?? 500,
    protocol: options.protocol ?? "grpc",
    restartNode: options.restartNode ?? 1,
    downMs: options.downMs ?? 1_000,
    server: options.server ?? "in-process",
  };
  const log = options.log ?? (() => undefined);
  const serverOptions = { port: 0, nodes: o.nodes, shards: o.shards, tenancy: true };
  const server: ServerControl = o.server === "child-process" ? await childProcessServer(serverOptions) : await inProcessServer(serverOptions);
  try {
    clearTopologyCache();
    const client = new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol: o.protocol });
    const tenants = Array.from({ length: o.tenants }, (_, i) => `load-tenant-${i}`);
    const before = new Set(await server.jobIds());
    const heapBefore = heapNow();

    const acked: string[] = [];
    const latencies: number[] = [];
    const failuresByCode: Record<string, number> = {};
    const sampleMessages: Record<string, string> = {};
    let failed = 0;
    let next = 0;
    let heapWarm = 0;
    let restart: LoadReport["restart"];
    let restartDone: Promise<void> = Promise.resolve();
    const started = Date.now();
    let lastLog = started;

    const bounce = async (): Promise<void> => {
      const stoppedAtMs = Date.now() - started;
      log(`stopping node ${o.restartNode} after ${acked.length} acknowledgements`);
      await server.stopNode(o.restartNode);
      await new Promise((r) => setTimeout(r, o.downMs));
      await server.startNode(o.restartNode);
      restart = { stoppedAtMs, startedAtMs: Date.now() - started };
      log(`node ${o.restartNode} is back`);
    };

    const worker = async (): Promise<void> => {
      while (next < o.total) {
        const i = next++;
        const t0 = performance.now();
        try {
          const handle = await client.enqueue({ payload: { i, at: Date.now() }, taskGroup: "load", tenant: tenants[i % tenants.length]! });
          acked.push(handle.id);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failed++;
          const code = err instanceof SiloError ? err.code : "untyped";
          failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
          sampleMessages[code] ??= err instanceof Error ? err.message : String(err);
        }
        if (heapWarm === 0 && acked.length >= o.total / 10) heapWarm = heapNow().bytes;
        if (restart === undefined && o.restartNode >= 0 && acked.length >= o.total / 2 && restartDone === noRestart) {
          restartDone = bounce();
        }
        if (Date.now() - lastLog > 2_000) {
          lastLog = Date.now();
          log(`${acked.length + failed}/${o.total} done, ${failed} failed`);
        }
      }
    };
    const noRestart = restartDone;
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    await restartDone;
    const elapsedMs = Date.now() - started;

    const after = await server.jobIds();
    const created = after.filter((id) => !before.has(id));
    const createdSet = new Set(created);
    const ackedSet = new Set(acked);
    const lost = acked.filter((id) => !createdSet.has(id)).length;
    const extra = created.filter((id) => !ackedSet.has(id)).length;
    const duplicateAcks = acked.length - ackedSet.size;
    // The acknowledged ids stay alive for the check; everything else the run made may be collected.
    const heapAfter = heapNow();
    latencies.sort((a, b) => a - b);
    const ok = lost === 0 && duplicateAcks === 0 && extra <= failed && created.length === createdSet.size && (failed > 0 || created.length === acked.length);
    return {
      options: o,
      acknowledged: acked.length,
      failed,
      failuresByCode,
      sampleMessages,
      lost,
      duplicateAcks,
      extra,
      serverJobs: created.length,
      elapsedMs,
      enqueuesPerSecond: Math.round((acked.length / elapsedMs) * 1000),
      latencyMs: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies.at(-1) ?? 0) },
      heapBefore: heapBefore.bytes,
      heapWarm,
      heapAfter: heapAfter.bytes,
      gcForced: heapBefore.forced,
      restart,
      ok,
    };
  } finally {
    await server.close();
  }
}

/** The report as a two-column table. */
export function formatReport(r: LoadReport): string {
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
  const rows: Array<[string, string]> = [
    ["enqueues", `${r.options.total} at ${r.options.concurrency} in flight, ${r.options.protocol}`],
    ["cluster", `${r.options.nodes} nodes, ${r.options.shards} shards, ${r.options.tenants} tenants, dev server ${r.options.server}`],
    ["node restart", r.restart ? `node ${r.options.restartNode} down at ${r.restart.stoppedAtMs} ms, back at ${r.restart.startedAtMs} ms` : "none"],
    ["acknowledged", String(r.acknowledged)],
    ["failed (typed)", String(r.failed - (r.failuresByCode.untyped ?? 0))],
    ["failed (untyped)", String(r.failuresByCode.untyped ?? 0)],
    ...Object.entries(r.failuresByCode).map(([code, n]): [string, string] => [`  by code: ${code}`, `${n}  e.g. ${r.sampleMessages[code]?.slice(0, 140) ?? ""}`]),
    ["jobs on server", String(r.serverJobs)],
    ["lost (acked, not on server)", String(r.lost)],
    ["duplicated acknowledgements", String(r.duplicateAcks)],
    ["jobs nobody acknowledged", `${r.extra}${r.extra > 0 ? ` (failed calls may account for up to ${r.failed})` : ""}`],
    ["elapsed", `${r.elapsedMs} ms (${r.enqueuesPerSecond} enqueues/s)`],
    ["latency p50 / p99 / max", `${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.max} ms`],
    [
      `heap before / at 10% / after${r.gcForced ? " (after gc)" : " (no --expose-gc)"}`,
      `${mb(r.heapBefore)} / ${mb(r.heapWarm)} / ${mb(r.heapAfter)} (${r.heapAfter >= r.heapBefore ? "+" : ""}${mb(r.heapAfter - r.heapBefore)}; the ${r.acknowledged} ids kept for the check take about ${mb(r.acknowledged * 100)})`,
    ],
    ["result", r.ok ? "OK: nothing lost, nothing duplicated" : "FAIL: lost or duplicated jobs"],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}
