// `npm run build`: dist/ as published. tsc writes the declarations (.d.ts, with declaration maps
// back to src/), one per source file; esbuild writes the JavaScript as one ESM file per entry point
// plus shared chunks (dist/chunks/), dependencies left as imports.
//
// Why bundle: a Node process that runs `import "silo-edge"` from node_modules (no bundler in
// front, as a Lambda deployed as plain files) paid for resolving, reading and compiling each of
// 73 small modules one by one; a handful of chunks cost a fraction of that (bench/cold-start.ts,
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
import { join, relative } from "node:path";
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

/** Options of both passes below. */
const options = {
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
};

// Fewer chunks. esbuild makes one chunk per distinct set of entry points that reach a module, so
// with ~17 entry points the root entry's modules were spread over a dozen chunks, each one more
// file for Node to resolve, read and compile at start-up. Two imports added at build time (to
// the bundling input, not to src/) make those sets coincide:
// - every entry point that is not a platform file imports the root entry, so all of the root's
//   modules are reached by the same set and land in one chunk (an adapter uses the client anyway);
// - the platform files (#platform, #client-telemetry, silo-edge/workers-grpc), which cannot
//   import the root (it imports them), import the modules they share with the root, so those too
//   land in one chunk. Those modules are the root's, so fetch-only and web-safe.
// They are bare imports of side-effect-free files (package.json "sideEffects"), so esbuild emits
// no code for them (its ignored-bare-import note, silenced below) but still counts them when it
// assigns modules to chunks, which is all they are for. Run `node scripts/build-dist.mjs` and
// see test/packaging/dist-import.test.ts for what the root entry loads.
const rootEntry = join(root, "src", "index.ts");
const platformTargets = new Set([...distTargets(pkg.imports), ...distTargets(pkg.exports["./workers-grpc"])]);
const platformEntries = new Set(entryPoints.filter((_, i) => platformTargets.has(targets[i])));
const rootUsers = new Set(entryPoints.filter((entry) => entry !== rootEntry && !platformEntries.has(entry)));

/** Source files each entry point reaches through static imports, from esbuild's metafile. */
function reach(metafile, entry) {
  const seen = new Set();
  const visit = (input) => {
    if (seen.has(input) || metafile.inputs[input] === undefined) return;
    seen.add(input);
    for (const imported of metafile.inputs[input].imports) if (imported.kind === "import-statement") visit(imported.path);
  };
  visit(relative(root, entry));
  return seen;
}

const { metafile } = await build({ ...options, write: false, metafile: true, logLevel: "silent" });
const rootModules = reach(metafile, rootEntry);
const sharedWithRoot = new Set();
for (const entry of platformEntries) for (const input of reach(metafile, entry)) if (rootModules.has(input)) sharedWithRoot.add(join(root, input));

/** The imports added to an entry point's source (see above), or none. */
function addedImports(path) {
  if (rootUsers.has(path)) return [rootEntry];
  if (platformEntries.has(path)) return [...sharedWithRoot].filter((input) => input !== path).sort();
  return [];
}

await build({
  ...options,
  logOverride: { "ignored-bare-import": "silent" },
  plugins: [
    {
      name: "silo-edge-chunk-groups",
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, (args) => {
          const added = addedImports(args.path);
          if (added.length === 0) return undefined;
          const source = readFileSync(args.path, "utf8");
          return { contents: `${source}\n${added.map((path) => `import ${JSON.stringify(path)};`).join("\n")}\n`, loader: "ts" };
        });
      },
    },
  ],
});
