// The work every client child does per enqueue, identical on both sides.

/** A small JSON-like job payload (MessagePack-encoded by each client). */
export const PAYLOAD = { to: "user@example.com", template: "welcome", n: 42 } as const;

export const TASK_GROUP = "bench";

/** Sixteen tenants, so successive enqueues route to different shards and nodes. */
export const TENANTS = Array.from({ length: 16 }, (_, i) => `tenant-${String(i).padStart(2, "0")}`);

/** The environment variables the parent hands to its client children. */
export const ENV = {
  servers: "SILO_BENCH_SERVERS",
  storeDir: "SILO_BENCH_STORE_DIR",
  protoPath: "SILO_BENCH_PROTO",
} as const;

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; this script is started by bench/run.ts`);
  return v;
}

/** CPU time (user + system) this process has used so far, in ms: less sensitive to a loaded machine than wall time. */
export function cpuMs(): number {
  const { userCPUTime, systemCPUTime } = process.resourceUsage();
  return (userCPUTime + systemCPUTime) / 1000;
}

/** Prints the line the cold-start parent waits for; `loadedAtMs` is when the entry's code began to run. */
export function reportAck(loadedAtMs: number, id: string): void {
  process.stdout.write(`acked ${JSON.stringify({ atMs: performance.now(), cpuMs: cpuMs(), loadedAtMs, id })}\n`);
}
