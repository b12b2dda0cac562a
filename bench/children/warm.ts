// One warm client in its own process, driven over IPC by bench/warm-enqueue.ts. Each "run"
// command enqueues `calls` jobs with `concurrency` in flight and replies with this process's CPU
// time (user + system) and the wall time, so the figures are the client's alone.
import { SiloGRPCClient } from "silo-edge";
import { GrpcJsBaselineClient } from "../baseline/grpc-js-client.js";
import { ENV, PAYLOAD, requireEnv, TASK_GROUP, TENANTS } from "./workload.js";

export type WarmContender = "ours" | "ours-grpc-web" | "baseline";

export interface RunCommand {
  op: "run";
  calls: number;
  concurrency: number;
}

export interface RunResult {
  cpuUs: number;
  wallMs: number;
  calls: number;
}

const contender = process.argv[2] as WarmContender;
const servers = requireEnv(ENV.servers).split(",");

let enqueue: (tenant: string) => Promise<unknown>;
if (contender === "baseline") {
  const client = new GrpcJsBaselineClient({ server: servers[0]!, protoPath: requireEnv(ENV.protoPath) });
  enqueue = (tenant) => client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant });
} else {
  // "ours" takes the runtime's default protocol, whatever transport backs it.
  const client = new SiloGRPCClient({ servers, ...(contender === "ours-grpc-web" ? { protocol: "grpc-web" as const } : {}) });
  enqueue = (tenant) => client.enqueue({ payload: PAYLOAD, taskGroup: TASK_GROUP, tenant });
}

async function run(calls: number, concurrency: number): Promise<RunResult> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const i = next++;
      await enqueue(TENANTS[i % TENANTS.length]!);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, wallMs, calls };
}

process.on("message", (msg: RunCommand) => {
  run(msg.calls, msg.concurrency).then(
    (result) => process.send!({ ok: true, result }),
    (err: unknown) => process.send!({ ok: false, error: String((err as Error)?.stack ?? err) }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send!({ ready: true });
