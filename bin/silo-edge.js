#!/usr/bin/env node
// In a source checkout (src/ and this package's own tsx present) re-runs Node with tsx on the
// TypeScript entry point, so a stale dist/ is never what runs; the project-private
// "silo-edge-source" condition resolves the package's own imports to src/. An installed package
// runs the built CLI.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "dev-server", "cli.js");
const source = join(root, "src", "dev-server", "cli.ts");
const sourceCheckout = existsSync(source) && existsSync(join(root, "node_modules", "tsx"));

if (!sourceCheckout) {
  if (!existsSync(built)) {
    console.error("silo-edge: dist/ is missing; run `npm run build` first");
    process.exit(1);
  }
  await import(pathToFileURL(built).href);
} else {
  const child = spawn(
    process.execPath,
    ["--conditions=silo-edge-source", "--import", "tsx", source, ...process.argv.slice(2)],
    { stdio: "inherit", cwd: root },
  );
  // The child handles Ctrl-C itself; forward signals so kill(pid) on this wrapper works too.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  // Our own parent gone without a signal to us (e.g. SIGKILLed): stop the server too. The child
  // watches its own parent (this wrapper) the same way.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) child.kill("SIGTERM");
  }, 1_000).unref();
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128 + (signal === "SIGINT" ? 2 : 15)));
  });
}
