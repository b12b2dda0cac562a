// The README's SiloWorker example, compiled so it stays correct; wrapped in a function so
// nothing runs.
import { expect, it } from "vitest";
import { SiloGRPCClient, SiloWorker, TaskLeaseLostError } from "silo-edge";

declare function alreadyDone(reportId: number): Promise<boolean>;
declare function buildReport(reportId: number, options: { signal: AbortSignal }): Promise<string>;
declare const metrics: { increment(name: string): void };

export function readmeExample(): SiloWorker<{ reportId: number }> {
  const worker = new SiloWorker<{ reportId: number }>({
    client: new SiloGRPCClient({ servers: ["silo-1.internal:7450"] }),
    workerId: `reports-${process.pid}`,
    taskGroup: "reports",
    maxConcurrentTasks: 8,
    handler: async ({ task, cancellationSignal, cancel }) => {
      if (await alreadyDone(task.payload.reportId)) {
        await cancel();
        return { type: "cancelled" };
      }
      const url = await buildReport(task.payload.reportId, { signal: cancellationSignal });
      return { type: "success", result: { url } };
    },
    onError: (error, ctx) => {
      if (error instanceof TaskLeaseLostError) metrics.increment("lost_leases");
      else console.error(ctx?.taskId, error);
    },
  });
  worker.start();
  process.on("SIGTERM", () => void worker.stop(30_000));
  return worker;
}

it("compiles the README's SiloWorker example", () => {
  expect(typeof readmeExample).toBe("function");
});
