// Bundles the client children to plain .mjs files, so they start the way a user's built JS does
// (`node file.mjs`) and tsx's compile time never shows up in a start-up figure.
//
// Choice: everything is bundled, node_modules included, on both sides (the shape of a Lambda
// deployed with esbuild), so neither side pays for module resolution across hundreds of
// node_modules files while the other does not. Our package is bundled from src/ through the
// `silo-edge-source` condition; `node` selects the Node platform build.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const CHILD_ENTRIES = ["cold-ours", "cold-ours-store", "cold-baseline", "cold-bare", "warm"] as const;
export type ChildEntry = (typeof CHILD_ENTRIES)[number];

export interface ChildBundles {
  dir: string;
  path(entry: ChildEntry): string;
  dispose(): void;
}

export async function bundleChildren(): Promise<ChildBundles> {
  const dir = mkdtempSync(join(tmpdir(), "silo-edge-bench-"));
  await build({
    entryPoints: Object.fromEntries(CHILD_ENTRIES.map((e) => [e, fileURLToPath(new URL(`./children/${e}.ts`, import.meta.url))])),
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["silo-edge-source", "node"],
    minify: false,
    // CommonJS dependencies (grpc-js, protobufjs) call require() for Node built-ins.
    banner: { js: "import { createRequire as __silo_bench_cr } from 'node:module'; const require = __silo_bench_cr(import.meta.url);" },
    logLevel: "error",
  });
  return {
    dir,
    path: (entry) => join(dir, `${entry}.mjs`),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
