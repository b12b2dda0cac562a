#!/usr/bin/env node
// Runs the upstream Silo TypeScript client's own test files (gadget-inc/silo,
// typescript_client/test/) against silo-edge and its dev server, with only the import paths
// changed: "../src/…" becomes "silo-edge". Nothing of upstream's is kept in this repository: pass
// a checkout of gadget-inc/silo and the files are copied into upstream-suite/ (git-ignored) for
// the run.
//
//   node scripts/upstream-suite.mjs /path/to/silo [vitest args…]
//
// The dev server is started the way upstream's CI starts Silo (two nodes on 7450 and 7451, eight
// shards, tenancy on; example_configs/dev-node1.toml). Files that need toxiproxy or upstream's own
// package build are left out and named.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [upstreamArg, ...vitestArgs] = process.argv.slice(2);
const upstream = upstreamArg ?? process.env.UPSTREAM_SILO_DIR;
if (upstream === undefined || !existsSync(join(upstream, "typescript_client", "test"))) {
  console.error("usage: node scripts/upstream-suite.mjs <checkout of gadget-inc/silo> [vitest args]");
  process.exit(2);
}

/** Left out, and why. */
export const LEFT_OUT = {
  "toxiproxy-integration.test.ts": "needs toxiproxy in front of the servers",
  "cluster-info-cache-integration.test.ts": "needs toxiproxy in front of the servers",
  "are-the-types-wrong.test.ts": "checks upstream's own package build (attw --pack)",
};

const out = join(root, "upstream-suite");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const testDir = join(upstream, "typescript_client", "test");
const copied = [];
for (const name of readdirSync(testDir).sort()) {
  if (!name.endsWith(".test.ts")) continue;
  if (name in LEFT_OUT) {
    console.log(`left out ${name}: ${LEFT_OUT[name]}`);
    continue;
  }
  const text = readFileSync(join(testDir, name), "utf8").replace(/(from\s+|import\()(["'])\.\.\/src(?:\/[\w/.-]*)?\2/g, "$1$2silo-edge$2");
  writeFileSync(join(out, name), text);
  copied.push(name);
}
console.log(`running ${copied.length} upstream test files: ${copied.join(", ")}`);
const result = spawnSync("npx", ["vitest", "run", "--config", "scripts/upstream-suite.vitest.config.mjs", ...vitestArgs], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "true", SILO_SERVERS: "localhost:7450,localhost:7451" },
});
process.exit(result.status ?? 1);
