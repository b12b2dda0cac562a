// hashTenant throughput: ns per hash of a 20-character and a 1,000-byte tenant, ours beside a
// straightforward BigInt XXH64, alternating in each round, medians over rounds. Both are first
// checked against the shared xxhsum test vectors, so a fast wrong hash cannot win.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hashTenant } from "silo-edge";
import type { BenchContext } from "./context.js";
import { fmt, fmtRatio, median, type Table } from "./stats.js";
import { xxh64BigInt } from "./xxh64-bigint.js";

// The shared/ folder beside the clone (as test/core/tenant-hash.test.ts finds it), not a fixed path.
const VECTORS = fileURLToPath(new URL("../../shared/xxh64-vectors.json", import.meta.url));

export interface TenantHashResult {
  nsPerHash: { short: number; long: number; shortBigInt: number; longBigInt: number };
  tables: Table[];
}

function checkVectors(notes: string[]): void {
  const extra = [{ tenant: "x".repeat(1000), xxh64: xxh64BigInt("x".repeat(1000)) }];
  let vectors: { tenant: string; xxh64: string }[] = [];
  try {
    vectors = JSON.parse(readFileSync(VECTORS, "utf8")) as typeof vectors;
  } catch {
    notes.push(`${VECTORS} not found: the two hashes were checked against each other only.`);
  }
  for (const { tenant, xxh64 } of [...vectors, ...extra]) {
    const ours = hashTenant(tenant);
    const ref = xxh64BigInt(tenant);
    if (ours !== xxh64 || ref !== xxh64) {
      throw new Error(`XXH64 mismatch for ${JSON.stringify(tenant.slice(0, 40))}: expected ${xxh64}, hashTenant ${ours}, BigInt ${ref}`);
    }
  }
  if (vectors.length) notes.push(`Both hashes agree with all ${vectors.length} xxhsum vectors before timing.`);
}

/** ns per call of `fn` over `tenants` (cycled), `n` calls. */
function time(fn: (t: string) => string, tenants: string[], n: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn(tenants[i % tenants.length]!).charCodeAt(0);
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === -1) console.log(sink);
  return ns / n;
}

export async function runTenantHash(ctx: BenchContext): Promise<TenantHashResult> {
  const notes: string[] = [];
  checkVectors(notes);
  const rounds = ctx.smoke ? 1 : 7;
  const scale = ctx.smoke ? 0.02 : 1;
  // Distinct strings per call, so no engine caches a result: 64 tenants of each size.
  const short = Array.from({ length: 64 }, (_, i) => `tenant-${String(i).padStart(4, "0")}-abcdefgh`.slice(0, 20));
  const long = Array.from({ length: 64 }, (_, i) => `${String(i).padStart(4, "0")}${"t".repeat(996)}`);
  const cases = [
    { key: "short", fn: hashTenant, tenants: short, n: 300_000 },
    { key: "shortBigInt", fn: xxh64BigInt, tenants: short, n: 30_000 },
    { key: "long", fn: hashTenant, tenants: long, n: 20_000 },
    { key: "longBigInt", fn: xxh64BigInt, tenants: long, n: 1_000 },
  ] as const;
  const results: Record<string, number[]> = {};
  for (const c of cases) time(c.fn, c.tenants, Math.ceil(c.n * scale * 0.2)); // warm-up
  for (let round = 0; round < rounds; round++) {
    ctx.progress(`tenant hash: round ${round + 1}/${rounds}`);
    for (const c of round % 2 ? [...cases].reverse() : cases) (results[c.key] ??= []).push(time(c.fn, c.tenants, Math.ceil(c.n * scale)));
  }
  const m = (k: string): number => median(results[k]!);
  const nsPerHash = { short: m("short"), long: m("long"), shortBigInt: m("shortBigInt"), longBigInt: m("longBigInt") };
  return {
    nsPerHash,
    tables: [
      {
        title: `hashTenant throughput (ns per hash, median of ${rounds} rounds)`,
        head: ["tenant", "hashTenant", "BigInt XXH64 reference", "hashTenant vs reference", "hashTenant hashes/s"],
        rows: [
          ["20 characters", fmt(nsPerHash.short, 0), fmt(nsPerHash.shortBigInt, 0), fmtRatio(nsPerHash.short, nsPerHash.shortBigInt), fmt(1e9 / nsPerHash.short, 0)],
          ["1,000 bytes", fmt(nsPerHash.long, 0), fmt(nsPerHash.longBigInt, 0), fmtRatio(nsPerHash.long, nsPerHash.longBigInt), fmt(1e9 / nsPerHash.long, 0)],
        ],
        notes: ["Hash to the 16-character hex string the shard ranges are compared against, UTF-8 encoding included, in the benchmark's own process.", ...notes],
      },
    ],
  };
}
