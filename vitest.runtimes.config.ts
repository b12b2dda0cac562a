import { createRequire } from "node:module";
import { join } from "node:path";
import { mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

// The suite's own config, for the runtime matrix (scripts/runtime-matrix.mjs), which runs the
// suite's files under Node 22/24, Bun and Deno. Two knobs, both read from the environment:
// - SILO_EDGE_EXPECT_RUNTIME ("node22", "node24", "bun", "deno"): every test file first checks that
//   it really runs there (test/support/expect-runtime.ts), so a leg can never pass on the wrong one.
// - SILO_EDGE_MINIFLARE_FROM: a directory whose node_modules holds the miniflare to import instead
//   of the pinned one (the matrix's current miniflare, which needs Node 22 or later).
const miniflareFrom = process.env.SILO_EDGE_MINIFLARE_FROM;
const alias: Record<string, string> = {};
if (miniflareFrom !== undefined && miniflareFrom !== "") {
  alias.miniflare = createRequire(join(miniflareFrom, "package.json")).resolve("miniflare");
}

const config = mergeConfig(base, {
  resolve: { alias },
  test: { setupFiles: ["test/support/expect-runtime.ts"] },
});
// `npm test`'s speed-ups (two workers, node files sharing a process: issue #11) were measured on
// Node 20 only; the matrix keeps vitest's defaults, one process per file and cores - 1 workers.
delete config.test?.maxWorkers;
for (const project of config.test?.projects ?? []) {
  if (typeof project === "object" && "test" in project && project.test !== undefined) project.test.isolate = true;
}

export default config;
