// Bundles the client children to plain .mjs files, so they start the way a user's built JS does
// (`node file.mjs`) and tsx's compile time never shows up in a start-up figure.
//
// Choice: everything is bundled, node_modules included, on both sides (the shape of a Lambda
// deployed with esbuild), so neither side pays for module resolution across hundreds of
// node_modules files while the other does not. Our package is bundled from src/ through the
// `silo-edge-source` condition; `node` selects the Node platform build.
//
// The unbundled cold-start children are the other shape (a Lambda deployed as plain node_modules,
// or any `node server.js`): only the child's own file is compiled; silo-edge resolves to the
// built dist/ and the baseline's @grpc/* to node_modules, each loading its files one by one.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { ensureBuilt } from "../test/support/ensure-built.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const CHILD_ENTRIES = ["cold-ours", "cold-ours-store", "cold-baseline", "cold-bare", "warm"] as const;
export type ChildEntry = (typeof CHILD_ENTRIES)[number];
export const UNBUNDLED_ENTRIES = ["cold-ours", "cold-baseline"] as const;
export type UnbundledEntry = (typeof UNBUNDLED_ENTRIES)[number];

export interface ChildBundles {
  dir: string;
  path(entry: ChildEntry): string;
  /** The child compiled alone, its package imports left to Node's resolver (see the top). */
  unbundledPath(entry: UnbundledEntry): string;
  dispose(): void;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

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
  // The unbundled children import the built package (dist/).
  await ensureBuilt();
  // Inside the package, so `import "silo-edge"` resolves by self-reference to dist/ and the
  // baseline's packages from this checkout's node_modules.
  const unbundledDir = join(ROOT, "bench", ".out", `unbundled-${process.pid}`);
  mkdirSync(unbundledDir, { recursive: true });
  const unbundled = { outdir: unbundledDir, outExtension: { ".js": ".mjs" }, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "error" } as const;
  await build({ ...unbundled, entryPoints: { "cold-ours": fileURLToPath(new URL("./children/cold-ours.ts", import.meta.url)) }, packages: "external" });
  // The baseline borrows hashTenant from us: compile that in from src/, so its process loads
  // nothing of silo-edge, only grpc-js, proto-loader and msgpack from node_modules.
  await build({
    ...unbundled,
    entryPoints: { "cold-baseline": fileURLToPath(new URL("./children/cold-baseline.ts", import.meta.url)) },
    conditions: ["silo-edge-source", "node"],
    external: ["@grpc/grpc-js", "@grpc/proto-loader", "@msgpack/msgpack"],
  });
  return {
    dir,
    path: (entry) => join(dir, `${entry}.mjs`),
    unbundledPath: (entry) => join(unbundledDir, `${entry}.mjs`),
    dispose: () => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(unbundledDir, { recursive: true, force: true });
    },
  };
}
