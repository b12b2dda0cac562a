import { startDevServer, type DevServer, type DevServerOptions } from "../../src/dev-server/index.js";
import { SiloGRPCClient } from "../../src/index.js";
import type { WorkerErrorEvent } from "../../src/worker/index.js";

export interface Cluster {
  server: DevServer;
  client: SiloGRPCClient;
}

/** A dev server on free ports and a client for it. */
export async function startCluster(options: DevServerOptions = {}): Promise<Cluster> {
  const server = await startDevServer({ port: 0, ...options });
  const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  return { server, client };
}

let counter = 0;
/** A task group no other test uses, so tests sharing a server do not lease each other's jobs. */
export function uniqueGroup(prefix = "w"): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `check` until it returns a truthy value. */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 5_000, intervalMs = 10, what = "condition" } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

/** Collects the errors a worker survived, so a test can assert there were none. */
export function errorLog(): { events: WorkerErrorEvent[]; onError: (event: WorkerErrorEvent) => void } {
  const events: WorkerErrorEvent[] = [];
  return { events, onError: (event) => events.push(event) };
}
