// Batch enqueue: 1,000 jobs for 16 tenants through client.enqueueMany() against the same jobs
// enqueued one at a time (each awaited before the next), same client, same dev server. Runs in the
// bench process itself: what is compared is wall time to the last acknowledgement.
import { SiloGRPCClient } from "silo-edge";
import type { BenchContext } from "./context.js";
import { fmt, type Table } from "./stats.js";

export interface EnqueueManyBenchResult {
  tables: Table[];
}

export async function runEnqueueMany(ctx: BenchContext): Promise<EnqueueManyBenchResult> {
  const count = ctx.smoke ? 50 : 1_000;
  const client = new SiloGRPCClient({ servers: ctx.server.addresses });
  const jobs = (round: string) =>
    Array.from({ length: count }, (_, i) => ({ payload: { i }, taskGroup: `bench-many-${round}`, tenant: `tenant-${i % 16}` }));
  // Warm-up: topology and connections, so neither row pays for them.
  await client.enqueueMany(jobs("warm").slice(0, 32));

  ctx.progress(`enqueue many: ${count} jobs one at a time`);
  let t = performance.now();
  for (const job of jobs("serial")) await client.enqueue(job);
  const serialMs = performance.now() - t;

  ctx.progress(`enqueue many: ${count} jobs through enqueueMany`);
  t = performance.now();
  const results = await client.enqueueMany(jobs("batch"));
  const batchMs = performance.now() - t;
  const failed = results.filter((r) => r.status === "rejected").length;
  if (failed > 0) throw new Error(`enqueueMany: ${failed} of ${count} jobs failed`);

  return {
    tables: [
      {
        title: `Batch enqueue: ${count.toLocaleString("en-US")} jobs, 16 tenants, one client (ms)`,
        head: ["how", "total", "per job", "vs one at a time"],
        rows: [
          ["one at a time (`await client.enqueue(job)` in a loop)", fmt(serialMs), fmt(serialMs / count, 3), "1.00×"],
          ["`client.enqueueMany(jobs)` (concurrency 16)", fmt(batchMs), fmt(batchMs / count, 3), `${(batchMs / serialMs).toFixed(2)}×`],
        ],
        notes: ["Wall time to the last acknowledgement, after a warm-up batch; every job of both rows is stored."],
      },
    ],
  };
}
