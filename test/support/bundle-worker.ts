import { build } from "esbuild";

/**
 * Bundles a Worker entry the way wrangler does for workerd: ESM, the `workerd`/`worker`/
 * `browser` export conditions (so the package's fetch-only build is picked and no `node:`
 * module is pulled in), plus `silo-edge-source` so this repository's TypeScript is bundled as written
 * (unless `fromDist`).
 */
export async function bundleWorker(entry: string, options: { minify?: boolean; fromDist?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    // From src/ (the tests' default), or from the built dist/ as a consumer's wrangler would.
    conditions: [...(options.fromDist ? [] : ["silo-edge-source"]), "workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    minify: options.minify ?? false,
    logLevel: "silent",
    // workerd built-ins, as wrangler leaves them.
    external: ["cloudflare:*"],
  });
  return result.outputFiles[0]!.text;
}
