// Worker bundle: minified and gzipped size of the Hono example Worker and of the minimal enqueue
// Worker (bundled like wrangler does, via test/support/bundle-worker.ts), and the minimal
// Worker's start-up time in workerd: `new Miniflare({ script })` until the first response to a
// trivial request, beside an empty Worker's, alternating, median of a few.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../test/support/bundle-worker.js";
import type { BenchContext } from "./context.js";
import { fmt, fmtBytes, median, rotate, spread, type Table } from "./stats.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MINIMAL_WORKER = join(ROOT, "test/workerd/fixtures/enqueue-worker.ts");
const HONO_EXAMPLE = join(ROOT, "examples/cloudflare-worker-hono");
const EMPTY_WORKER = 'export default { fetch() { return new Response("ok"); } };';

export interface WorkerBundleResult {
  minimalGzipBytes: number;
  honoGzipBytes: number | undefined;
  startupMs: { minimal: number; empty: number };
  tables: Table[];
}

/** The Hono example's entry: wrangler's `main`, else the usual file names. */
function honoEntry(): string | undefined {
  if (!existsSync(HONO_EXAMPLE)) return undefined;
  for (const config of ["wrangler.toml", "wrangler.jsonc", "wrangler.json"]) {
    const path = join(HONO_EXAMPLE, config);
    if (!existsSync(path)) continue;
    const main = /["']?main["']?\s*[=:]\s*["']([^"']+)["']/.exec(readFileSync(path, "utf8"))?.[1];
    if (main && existsSync(join(HONO_EXAMPLE, main))) return join(HONO_EXAMPLE, main);
  }
  return ["src/index.ts", "src/worker.ts", "index.ts", "worker.ts"].map((f) => join(HONO_EXAMPLE, f)).find(existsSync);
}

async function sizes(entry: string): Promise<{ min: number; gzip: number }> {
  const code = await bundleWorker(entry, { minify: true });
  return { min: Buffer.byteLength(code), gzip: gzipSync(code).length };
}

/** ms from `new Miniflare` to the first response of a request that needs no network. */
async function startupMs(script: string, bindings: Record<string, string>, path: string): Promise<number> {
  const t0 = performance.now();
  // Modules given explicitly: with `modules: true` miniflare first parses the script in Node to
  // find its imports, which cost more than workerd's own start-up and is not what Cloudflare runs.
  const mf = new Miniflare({ modules: [{ type: "ESModule", path: "worker.mjs", contents: script }], compatibilityDate: "2025-01-01", bindings });
  try {
    const res = await mf.dispatchFetch(`http://worker${path}`);
    await res.arrayBuffer();
    return performance.now() - t0;
  } finally {
    await mf.dispose();
  }
}

export async function runWorkerBundle(ctx: BenchContext): Promise<WorkerBundleResult> {
  const notes: string[] = [];
  const minimal = await sizes(MINIMAL_WORKER);
  const entry = honoEntry();
  let hono: { min: number; gzip: number } | undefined;
  if (entry) {
    try {
      hono = await sizes(entry);
    } catch (err) {
      // The example is written by someone else and may be mid-edit: report, do not abort the run.
      notes.push(`examples/cloudflare-worker-hono did not bundle: ${String((err as Error).message ?? err).split("\n")[0]}`);
    }
  }
  if (!entry) notes.push("examples/cloudflare-worker-hono has no entry yet (wrangler main, src/index.ts or index.ts): its size is not measured.");

  const rounds = ctx.smoke ? 1 : 5;
  const script = await bundleWorker(MINIMAL_WORKER, { minify: true });
  const bindings = { SILO_SERVERS: ctx.server.addresses.join(",") };
  // `/status` without an id fails validation inside the Worker: the whole module is evaluated and
  // a client built, but no network call is made.
  const kinds = [
    { key: "minimal", run: () => startupMs(script, bindings, "/status") },
    { key: "empty", run: () => startupMs(EMPTY_WORKER, {}, "/") },
  ] as const;
  const samples: Record<string, number[]> = { minimal: [], empty: [] };
  await kinds[1].run(); // warm the workerd binary into the page cache
  for (let round = 0; round < rounds; round++) {
    ctx.progress(`worker start-up: round ${round + 1}/${rounds}`);
    for (const k of rotate(kinds, round)) samples[k.key]!.push(await k.run());
  }
  const startup = { minimal: median(samples.minimal!), empty: median(samples.empty!) };
  const range = (v: number[]): string => {
    const [lo, hi] = spread(v);
    return `${fmt(lo)}–${fmt(hi)}`;
  };
  return {
    minimalGzipBytes: minimal.gzip,
    honoGzipBytes: hono?.gzip,
    startupMs: startup,
    tables: [
      {
        title: "Worker bundle size (esbuild, minified, as wrangler bundles for workerd)",
        head: ["Worker", "minified", "gzipped"],
        rows: [
          ["minimal enqueue Worker (test/workerd/fixtures/enqueue-worker.ts)", fmtBytes(minimal.min), fmtBytes(minimal.gzip)],
          ["examples/cloudflare-worker-hono", hono ? fmtBytes(hono.min) : "not yet", hono ? fmtBytes(hono.gzip) : "not yet"],
        ],
        notes: ["KB = 1,000 bytes; gzip at zlib's default level.", ...notes],
      },
      {
        title: `Worker start-up in workerd (ms, median of ${rounds}, alternating)`,
        head: ["Worker", "new Miniflare → first response", "min–max", "over empty Worker"],
        rows: [
          ["minimal enqueue Worker, GET /status (no network)", fmt(startup.minimal), range(samples.minimal!), fmt(startup.minimal - startup.empty)],
          ["empty Worker (reference)", fmt(startup.empty), range(samples.empty!), "0"],
        ],
        notes: [
          "Includes starting a workerd process through miniflare (modules passed explicitly, so miniflare does not parse the script in Node), so the difference between the rows is what the bundle costs workerd to compile and evaluate.",
        ],
      },
    ],
  };
}
