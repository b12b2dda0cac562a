// Shared by the upstream-compat SiloWorker tests: a dev server on free ports and the small waits
// an upstream user's test would write. Statuses are compared case-insensitively, so these tests
// read the same before and after the JobStatus values take upstream's spelling.
import { startDevServer, type DevServer, type DevServerOptions } from "silo-edge/dev";
import { SiloGRPCClient } from "silo-edge";

export interface Cluster {
  server: DevServer;
  client: SiloGRPCClient;
}

export async function startCluster(options: DevServerOptions = {}): Promise<Cluster> {
  const server = await startDevServer({ port: 0, ...options });
  const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  return { server, client };
}

let counter = 0;
/** A task group no other test uses. */
export function uniqueGroup(prefix = "sw"): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits until the job's status is `status` (any spelling) and returns the job with attempts. */
export async function waitForStatus(client: SiloGRPCClient, id: string, status: string, tenant?: string) {
  return waitFor(async () => {
    const job = await client.getJob(id, tenant, { includeAttempts: true });
    return String(job.status).toLowerCase() === status.toLowerCase() ? job : undefined;
  }, `job ${id} to be ${status}`);
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
