// Setup file of vitest.runtimes.config.ts: fails every test file of a runtime-matrix leg that is
// not running on the runtime the leg names, so a leg cannot pass on Node 20 by accident.
const expected = process.env.SILO_EDGE_EXPECT_RUNTIME;

/** The runtime this file runs on, in the matrix's names: "bun", "deno" or "node<major>". */
export function currentRuntime(): string {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return `node${process.versions.node.split(".")[0]}`;
}

if (expected !== undefined && expected !== "" && currentRuntime() !== expected) {
  throw new Error(`runtime matrix: expected to run on ${expected}, but this is ${currentRuntime()} (${process.execPath})`);
}
