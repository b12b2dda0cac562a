import { ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

// Runs a call that a hostile server makes fail and measures what the failure cost: how long it
// took and how far the process's JavaScript heap plus array buffers grew above where they were.

export interface MeasuredFailure {
  error: ConnectError;
  elapsedMs: number;
  /** Largest growth of heapUsed + arrayBuffers seen while the call ran, in bytes. */
  memoryGrowth: number;
}

export const MiB = 1 << 20;

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export async function measureFailure(call: () => Promise<unknown>): Promise<MeasuredFailure> {
  const before = used();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, used());
  }, 10);
  const started = performance.now();
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  } finally {
    clearInterval(sampler);
  }
  const elapsedMs = performance.now() - started;
  peak = Math.max(peak, used());
  if (error === undefined) throw new Error("expected the call to fail");
  expect(error).toBeInstanceOf(ConnectError);
  return { error: error as ConnectError, elapsedMs, memoryGrowth: peak - before };
}

/** The chain of causes under an error, outermost first. */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let c = (error as { cause?: unknown }).cause; c !== undefined; c = (c as { cause?: unknown }).cause) chain.push(c);
  return chain;
}
