/**
 * XXH64 (seed 0) of a tenant's UTF-8 bytes, as the Silo server hashes tenants onto shard ranges.
 *
 * Pure TypeScript on 32-bit halves: no BigInt on the hot path (too slow per request), no WASM and
 * no `eval` (workerd refuses both at request time). Every 64-bit value is a (hi, lo) pair of
 * uint32s; results of the helpers land in the module-level `R` registers so that hashing
 * allocates nothing beyond the output string.
 */

// The five XXH64 primes, split into 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Result registers. A typed array, because storing uint32s above 2^30 in module-level `let`s
// boxes each one as a heap number, which made hashing several times slower.
const R = new Uint32Array(2);

/** (ah,al) * (bh,bl) mod 2^64 into R. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16);
  R[1] = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  R[0] = (hi + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah,al) + (bh,bl) mod 2^64 into R. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const s = al + bl;
  R[1] = s >>> 0;
  R[0] = (ah + bh + (s > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (h,l) left by r (0 < r < 32) into R. */
function rotl(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** XXH64 round: rotl(acc + lane * P2, 31) * P1, into R. */
function round(acch: number, accl: number, laneh: number, lanel: number): void {
  mul(laneh, lanel, P2H, P2L);
  add(acch, accl, R[0]!, R[1]!);
  rotl(R[0]!, R[1]!, 31);
  mul(R[0]!, R[1]!, P1H, P1L);
}

let buf = new Uint8Array(256);

/** UTF-8 encodes `s` into the shared buffer (lone surrogates become U+FFFD, like TextEncoder). */
function encodeUtf8(s: string): number {
  const max = s.length * 3;
  if (buf.length < max) buf = new Uint8Array(Math.max(max, buf.length * 2));
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        buf[n++] = 0xf0 | (c >> 18);
        buf[n++] = 0x80 | ((c >> 12) & 0x3f);
        buf[n++] = 0x80 | ((c >> 6) & 0x3f);
        buf[n++] = 0x80 | (c & 0x3f);
      } else {
        buf[n++] = 0xef;
        buf[n++] = 0xbf;
        buf[n++] = 0xbd;
      }
    } else {
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 0x3f);
      buf[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

const HEX_BYTE: string[] = [];
for (let i = 0; i < 256; i++) HEX_BYTE.push((i < 16 ? "0" : "") + i.toString(16));

function hex32(v: number): string {
  return HEX_BYTE[v >>> 24]! + HEX_BYTE[(v >>> 16) & 0xff]! + HEX_BYTE[(v >>> 8) & 0xff]! + HEX_BYTE[v & 0xff]!;
}

/** XXH64 with seed 0 of `bytes[0..len)`, as 16 lower-case hex characters. */
function xxh64Hex(b: Uint8Array, len: number): string {
  let p = 0;
  let hh: number, hl: number;
  if (len >= 32) {
    // v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1 (all mod 2^64, seed 0).
    add(P1H, P1L, P2H, P2L);
    let v1h = R[0]!, v1l = R[1]!;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    // Two's complement of P1.
    add(~P1H >>> 0, ~P1L >>> 0, 0, 1);
    let v4h = R[0]!, v4l = R[1]!;
    const limit = len - 32;
    do {
      round(v1h, v1l, u32(b, p + 4), u32(b, p)); v1h = R[0]!; v1l = R[1]!;
      round(v2h, v2l, u32(b, p + 12), u32(b, p + 8)); v2h = R[0]!; v2l = R[1]!;
      round(v3h, v3l, u32(b, p + 20), u32(b, p + 16)); v3h = R[0]!; v3l = R[1]!;
      round(v4h, v4l, u32(b, p + 28), u32(b, p + 24)); v4h = R[0]!; v4l = R[1]!;
      p += 32;
    } while (p <= limit);
    rotl(v1h, v1l, 1); hh = R[0]!; hl = R[1]!;
    rotl(v2h, v2l, 7); add(hh, hl, R[0]!, R[1]!); hh = R[0]!; hl = R[1]!;
    rotl(v3h, v3l, 12); add(hh, hl, R[0]!, R[1]!); hh = R[0]!; hl = R[1]!;
    rotl(v4h, v4l, 18); add(hh, hl, R[0]!, R[1]!); hh = R[0]!; hl = R[1]!;
    const vs = [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l];
    for (let i = 0; i < 8; i += 2) {
      round(0, 0, vs[i]!, vs[i + 1]!);
      hh = (hh ^ R[0]!) >>> 0; hl = (hl ^ R[1]!) >>> 0;
      mul(hh, hl, P1H, P1L);
      add(R[0]!, R[1]!, P4H, P4L); hh = R[0]!; hl = R[1]!;
    }
  } else {
    hh = P5H; hl = P5L;
  }
  // h += len (len < 2^32 for any tenant string).
  add(hh, hl, 0, len); hh = R[0]!; hl = R[1]!;
  while (p + 8 <= len) {
    round(0, 0, u32(b, p + 4), u32(b, p));
    hh = (hh ^ R[0]!) >>> 0; hl = (hl ^ R[1]!) >>> 0;
    rotl(hh, hl, 27);
    mul(R[0]!, R[1]!, P1H, P1L);
    add(R[0]!, R[1]!, P4H, P4L); hh = R[0]!; hl = R[1]!;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, u32(b, p), P1H, P1L);
    hh = (hh ^ R[0]!) >>> 0; hl = (hl ^ R[1]!) >>> 0;
    rotl(hh, hl, 23);
    mul(R[0]!, R[1]!, P2H, P2L);
    add(R[0]!, R[1]!, P3H, P3L); hh = R[0]!; hl = R[1]!;
    p += 4;
  }
  while (p < len) {
    mul(0, b[p]!, P5H, P5L);
    hh = (hh ^ R[0]!) >>> 0; hl = (hl ^ R[1]!) >>> 0;
    rotl(hh, hl, 11);
    mul(R[0]!, R[1]!, P1H, P1L); hh = R[0]!; hl = R[1]!;
    p++;
  }
  // Avalanche.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L); hh = R[0]!; hl = R[1]!;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L); hh = R[0]!; hl = R[1]!;
  hl = (hl ^ hh) >>> 0;
  return hex32(hh) + hex32(hl);
}

/**
 * The routing hash of a tenant: XXH64 (seed 0) of its UTF-8 bytes as 16 lower-case hex
 * characters, the form shard ranges are compared against.
 */
export function hashTenant(tenant: string): string {
  const len = encodeUtf8(tenant);
  return xxh64Hex(buf, len);
}

// Routing hashes the same few tenants over and over; a bounded memo makes a repeat a map lookup.
const MEMO_LIMIT = 4096;
const memo = new Map<string, string>();

/** `hashTenant` memoised for the routing path (at most 4,096 tenants, then it starts over). */
export function hashTenantCached(tenant: string): string {
  let hex = memo.get(tenant);
  if (hex === undefined) {
    hex = hashTenant(tenant);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(tenant, hex);
  }
  return hex;
}
