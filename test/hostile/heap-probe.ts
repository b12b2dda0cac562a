import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Peak memory growth while a call runs: the JS heap plus memory outside it (ArrayBuffers, which
// is where response bodies live), sampled every few ms against a baseline taken after a full GC.

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Runs `fn` and resolves with its outcome, the time it took, and the peak memory growth in bytes. */
export async function measure<T>(fn: () => Promise<T>): Promise<{ outcome: T | unknown; ms: number; peakGrowth: number }> {
  gc();
  const baseline = used();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, 5);
  const started = Date.now();
  let outcome: T | unknown;
  try {
    outcome = await fn();
  } catch (e) {
    outcome = e;
  }
  const ms = Date.now() - started;
  clearInterval(timer);
  peak = Math.max(peak, used());
  return { outcome, ms, peakGrowth: peak - baseline };
}

export const MiB = 1024 * 1024;
