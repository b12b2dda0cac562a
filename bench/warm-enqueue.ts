// Warm enqueue: client CPU per enqueue and throughput at 1 and 64 in flight. Each client runs in
// its own long-lived process and reports its own `process.cpuUsage()` delta per run; the dev
// server is another process. Each round runs every contender once per concurrency, in a rotating
// order; tables show medians over rounds and ratios against the grpc-js baseline.
import { fork, type ChildProcess } from "node:child_process";
import type { RunResult, WarmContender } from "./children/warm.js";
import type { BenchContext } from "./context.js";
import { totalRpcs } from "./server-process.js";
import { fmt, fmtRatio, median, rotate, type Table } from "./stats.js";

export const CONCURRENCIES = [1, 64] as const;
export type Concurrency = (typeof CONCURRENCIES)[number];

const LABEL: Record<WarmContender, string> = {
  ours: "silo-edge, default Node protocol (grpc)",
  baseline: "grpc-js baseline",
  "ours-grpc-web": "silo-edge, grpc-web over fetch (info)",
};

export interface WarmSample {
  cpuUsPerCall: number;
  callsPerSec: number;
  rpcsPerCall: number;
}

export interface WarmEnqueueResult {
  /** Medians by contender and concurrency. */
  medians: Record<WarmContender, Record<Concurrency, WarmSample>>;
  /** RPCs per enqueue of every run, by contender (all concurrencies). */
  rpcsPerCall: Record<WarmContender, number[]>;
  /**
   * The same without one GetClusterInfo per run: the client refreshes its topology in the
   * background every 60 s, off the enqueue path, and a run is shorter than that.
   */
  enqueuePathRpcsPerCall: Record<WarmContender, number[]>;
  tables: Table[];
}

interface WarmChild {
  run(calls: number, concurrency: number): Promise<RunResult>;
  close(): void;
}

async function startWarmChild(ctx: BenchContext, contender: WarmContender): Promise<WarmChild> {
  const child: ChildProcess = fork(ctx.bundles.path("warm"), [contender], {
    execArgv: [],
    env: ctx.childEnv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Whatever is waiting on the child fails if it dies.
  let fail: (err: Error) => void = () => undefined;
  child.once("exit", (code) => fail(new Error(`warm ${contender} child exited with code ${code}`)));
  await new Promise<void>((resolve, reject) => {
    fail = reject;
    child.once("message", () => resolve());
  });
  return {
    run: (calls, concurrency) =>
      new Promise((resolve, reject) => {
        fail = reject;
        child.once("message", (msg: { ok: boolean; result?: RunResult; error?: string }) =>
          msg.ok ? resolve(msg.result!) : reject(new Error(`warm ${contender}: ${msg.error}`)),
        );
        child.send({ op: "run", calls, concurrency });
      }),
    close: () => {
      fail = () => undefined;
      if (child.connected) child.disconnect();
    },
  };
}

/**
 * Runs a contender until V8 has optimized its per-call path at both concurrencies. At one call in
 * flight every call reads and writes the socket, so the stream code of Node (and of the client)
 * runs hot only there; with 100 calls of warm-up, --trace-opt showed both clients still being
 * optimized through the first measured rounds, whose CPU per call was 2–4× the settled figure.
 * Each phase stops at its call count or after 4 s (the gRPC-web contender is slow at 1 in flight).
 */
async function warmUp(child: WarmChild, smoke: boolean): Promise<void> {
  if (smoke) {
    await child.run(30, 64);
    await child.run(6, 1);
    return;
  }
  const phases = [
    { concurrency: 64, calls: 3_000, batch: 500 },
    { concurrency: 1, calls: 1_500, batch: 100 },
  ];
  for (const { concurrency, calls, batch } of phases) {
    const until = performance.now() + 4_000;
    for (let done = 0; done < calls && performance.now() < until; done += batch) await child.run(batch, concurrency);
  }
}

/**
 * Calls per run at each concurrency: enough for the slowest of `children` to run about `seconds`,
 * the same count for each of them, so a loaded machine stretches nothing beyond its budget.
 * `info` sizes the information-only contender, with lower floors.
 */
async function sizeRuns(children: WarmChild[], smoke: boolean, info = false): Promise<Record<Concurrency, number>> {
  if (smoke) return { 1: 30, 64: 120 };
  const budget: Record<Concurrency, { seconds: number; min: number; max: number; probe: number }> = {
    1: { seconds: 1, min: info ? 50 : 300, max: 2_000, probe: info ? 30 : 100 },
    64: { seconds: 1.5, min: info ? 320 : 1_280, max: 6_000, probe: 640 },
  };
  const calls = {} as Record<Concurrency, number>;
  for (const concurrency of CONCURRENCIES) {
    const b = budget[concurrency];
    let slowest = Infinity;
    for (const child of children) {
      const r = await child.run(b.probe, concurrency);
      slowest = Math.min(slowest, (r.calls / r.wallMs) * 1000);
    }
    calls[concurrency] = Math.max(b.min, Math.min(b.max, Math.round((slowest * b.seconds) / 10) * 10));
  }
  return calls;
}

export async function runWarmEnqueue(ctx: BenchContext): Promise<WarmEnqueueResult> {
  const rounds = ctx.smoke ? 1 : 5;
  let callsAt: Record<Concurrency, number> = { 1: 0, 64: 0 };
  let infoCallsAt: Record<Concurrency, number> = { 1: 0, 64: 0 };
  const contenders: WarmContender[] = ["ours", "baseline", "ours-grpc-web"];
  const children = new Map<WarmContender, WarmChild>();
  const samples = new Map<string, WarmSample[]>();
  const rpcsPerCall = Object.fromEntries(contenders.map((c) => [c, [] as number[]])) as Record<WarmContender, number[]>;
  const enqueuePathRpcsPerCall = Object.fromEntries(contenders.map((c) => [c, [] as number[]])) as Record<WarmContender, number[]>;
  try {
    for (const c of contenders) children.set(c, await startWarmChild(ctx, c));
    // Warm-up: topology learned, connections open, JIT settled.
    for (const c of contenders) await warmUp(children.get(c)!, ctx.smoke);
    // The contenders with targets share one count. The gRPC-web row (information only) is sized on
    // its own: at 1 in flight it managed ~60 enqueues/s here, which held the others to 300-call
    // runs (0.3 s of ours), where the CPU of waking up after the other contenders' turns weighed
    // more than the calls themselves (1.5-2x the CPU per call of a long run, in a probe).
    callsAt = await sizeRuns([children.get("ours")!, children.get("baseline")!], ctx.smoke);
    infoCallsAt = await sizeRuns([children.get("ours-grpc-web")!], ctx.smoke, true);
    for (let round = 0; round < rounds; round++) {
      ctx.progress(`warm enqueue: round ${round + 1}/${rounds}`);
      for (const concurrency of CONCURRENCIES) {
        for (const c of rotate(contenders, round)) {
          await ctx.server.resetRpcCounts();
          const r = await children.get(c)!.run((c === "ours-grpc-web" ? infoCallsAt : callsAt)[concurrency], concurrency);
          const counts = await ctx.server.rpcCounts();
          const rpcs = totalRpcs(counts);
          const key = `${c}@${concurrency}`;
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key)!.push({ cpuUsPerCall: r.cpuUs / r.calls, callsPerSec: (r.calls / r.wallMs) * 1000, rpcsPerCall: rpcs / r.calls });
          rpcsPerCall[c].push(rpcs / r.calls);
          enqueuePathRpcsPerCall[c].push((rpcs - Math.min(1, counts.GetClusterInfo ?? 0)) / r.calls);
        }
      }
    }
  } finally {
    for (const child of children.values()) child.close();
  }

  const medians = {} as Record<WarmContender, Record<Concurrency, WarmSample>>;
  for (const c of contenders) {
    medians[c] = {} as Record<Concurrency, WarmSample>;
    for (const concurrency of CONCURRENCIES) {
      const s = samples.get(`${c}@${concurrency}`)!;
      medians[c][concurrency] = {
        cpuUsPerCall: median(s.map((x) => x.cpuUsPerCall)),
        callsPerSec: median(s.map((x) => x.callsPerSec)),
        rpcsPerCall: median(s.map((x) => x.rpcsPerCall)),
      };
    }
  }
  const rows: string[][] = [];
  for (const concurrency of CONCURRENCIES) {
    const base = medians.baseline[concurrency];
    for (const c of contenders) {
      const m = medians[c][concurrency];
      rows.push([
        `${LABEL[c]} @ ${concurrency}`,
        fmt(m.cpuUsPerCall),
        c === "baseline" ? "1.00×" : fmtRatio(m.cpuUsPerCall, base.cpuUsPerCall),
        fmt(m.callsPerSec, 0),
        c === "baseline" ? "1.00×" : fmtRatio(m.callsPerSec, base.callsPerSec),
      ]);
    }
  }
  return {
    medians,
    rpcsPerCall,
    enqueuePathRpcsPerCall,
    tables: [
      {
        title: `Warm enqueue (median of ${rounds} rounds; ${callsAt[1]} calls at 1 in flight, ${callsAt[64]} at 64; gRPC-web ${infoCallsAt[1]} and ${infoCallsAt[64]})`,
        head: ["client @ in flight", "client CPU µs/enqueue", "CPU vs baseline", "enqueues/s", "throughput vs baseline"],
        rows,
        notes: [
          "Client CPU is user + system time of the client's own process (process.cpuUsage()); the dev server runs in another process.",
          "Same payload, 16 tenants routed over 4 shards on 2 nodes, for every client. The gRPC-web row is for information (no target).",
          "Calls per run are sized after warm-up so the slower of silo-edge (grpc) and the baseline runs about 1–1.5 s, the same count for both; the gRPC-web row is sized on its own.",
        ],
      },
    ],
  };
}
