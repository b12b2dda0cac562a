#!/usr/bin/env node
// Runs the built CLI when there is one; in a source checkout, re-runs Node with tsx on the
// TypeScript entry point (the "source" condition resolves the package's own imports to src/).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "dev-server", "cli.js");

if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(root, "src", "dev-server", "cli.ts"), ...process.argv.slice(2)],
    { stdio: "inherit", cwd: root },
  );
  // The child handles Ctrl-C itself; forward signals so kill(pid) on this wrapper works too.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128 + (signal === "SIGINT" ? 2 : 15)));
  });
}
