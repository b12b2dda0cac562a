// `npm run load`: 20,000 enqueues at 256 in flight over a 3-node dev server, one node restarted
// half way. Exits non-zero when a job is lost or duplicated. `--smoke` runs 2,000.
// Flags: --smoke, --protocol grpc|grpc-web, --in-process (default: dev server in a child process).
import { spawnSync } from "node:child_process";
import { formatReport, runLoad } from "./run-load.js";

const args = process.argv.slice(2);

// Heap numbers mean little without a forced GC: run again with --expose-gc.
if (typeof (globalThis as { gc?: unknown }).gc !== "function" && !process.env.SILO_LOAD_REEXEC) {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, SILO_LOAD_REEXEC: "1" },
  });
  process.exit(r.status ?? 1);
}

const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const smoke = args.includes("--smoke");
const protocol = flag("--protocol") === "grpc-web" ? "grpc-web" : "grpc";

const report = await runLoad({
  total: smoke ? 2_000 : 20_000,
  concurrency: 256,
  nodes: 3,
  protocol,
  server: args.includes("--in-process") ? "in-process" : "child-process",
  log: (line) => console.log(`  ${line}`),
});
console.log(`\nsilo-edge load test${smoke ? " (smoke)" : ""}\n`);
console.log(formatReport(report));
process.exit(report.ok ? 0 : 1);
