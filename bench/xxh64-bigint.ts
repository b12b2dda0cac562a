// A straightforward XXH64 (seed 0) on BigInt, written from the specification: the reference that
// tenant-hash.ts compares `hashTenant` against.
const MASK = 0xffffffffffffffffn;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;
const round = (acc: bigint, lane: bigint): bigint => (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
const merge = (acc: bigint, v: bigint): bigint => ((((acc ^ round(0n, v)) * P1) & MASK) + P4) & MASK;

function readU64(b: Uint8Array, p: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]!);
  return v;
}

function readU32(b: Uint8Array, p: number): bigint {
  return BigInt((b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0);
}

const encoder = new TextEncoder();

export function xxh64BigInt(tenant: string): string {
  const b = encoder.encode(tenant);
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & MASK, v2 = P2, v3 = 0n, v4 = (-P1) & MASK;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, readU64(b, p));
      v2 = round(v2, readU64(b, p + 8));
      v3 = round(v3, readU64(b, p + 16));
      v4 = round(v4, readU64(b, p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & MASK;
  for (; p + 8 <= len; p += 8) h = (rotl(h ^ round(0n, readU64(b, p)), 27n) * P1 + P4) & MASK;
  if (p + 4 <= len) {
    h = (rotl(h ^ ((readU32(b, p) * P1) & MASK), 23n) * P2 + P3) & MASK;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(b[p]!) * P5) & MASK), 11n) * P1) & MASK;
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h.toString(16).padStart(16, "0");
}
