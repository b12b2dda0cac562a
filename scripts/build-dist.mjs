// `npm run build`: dist/ as published. tsc writes the declarations (.d.ts, with declaration maps
// back to src/), one per source file; esbuild writes the JavaScript as one ESM file per entry point
// plus shared chunks (dist/chunks/), dependencies left as imports.
//
// Why bundle: a Node process that runs `import "silo-edge"` from node_modules (no bundler in
// front, as a Lambda deployed as plain files) paid for resolving, reading and compiling each of
// ~75 small modules one by one; a handful of chunks cost a fraction of that (bench/cold-start.ts,
// the unbundled row). Code splitting keeps one copy of every module however many entry points
// import it, so module state (the topology cache, `setGrpcChannelFactory`) and `instanceof` on
// error classes hold across `silo-edge`, `silo-edge/hono`, `silo-edge/workers-grpc`...
//
// Entry points are every dist/ file package.json names (its `exports`, its `imports`, which the
// `#platform` / `#client-telemetry` imports pick per runtime) plus the CLI that bin/ runs, so the
// file list cannot drift from the exports map. `#platform` and `#client-telemetry` stay imports:
// the consumer's resolver (Node, wrangler, Next.js...) still picks the Node or the fetch-only
// build by its own conditions.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Every `./dist/*.js` target in a package.json `exports` / `imports` map, whatever its conditions. */
function distTargets(map, found = new Set()) {
  if (typeof map === "string") {
    if (map.startsWith("./dist/") && map.endsWith(".js")) found.add(map);
  } else if (map !== null && typeof map === "object") {
    for (const value of Object.values(map)) distTargets(value, found);
  }
  return found;
}

/** bin/silo-edge.js imports this file from an installed package. */
const BIN_TARGET = "./dist/dev-server/cli.js";

const targets = [...distTargets(pkg.imports, distTargets(pkg.exports, new Set([BIN_TARGET])))].sort();
const entryPoints = targets.map((target) => join(root, target.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")));

rmSync(join(root, "dist"), { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

await build({
  absWorkingDir: root,
  entryPoints,
  outbase: "src",
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  // Node built-ins stay imports; the code itself is the same for every runtime (tsc's target).
  platform: "node",
  target: "es2022",
  // Dependencies (and optional peers) are the consumer's to install and dedupe.
  packages: "external",
  external: Object.keys(pkg.imports ?? {}).concat(["cloudflare:*"]),
  chunkNames: "chunks/[name]-[hash]",
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
});
