/**
 * XXH64 (seed 0) of a tenant's UTF-8 bytes, as the Silo server hashes tenants onto shard ranges.
 *
 * Pure TypeScript on 32-bit halves: no BigInt on the hot path (too slow per request), no WASM and
 * no `eval` (workerd refuses both at request time). Every 64-bit value is a (hi, lo) pair of
 * uint32s. The 32-byte stripe phase (only tenants of 32 bytes or more) uses small helpers whose
 * results land in the module-level `R` registers; the tail and avalanche, which every tenant
 * runs, are written out on locals. Hashing allocates nothing beyond the output string: about
 * 0.3 µs for a 20-character tenant (bench/RESULTS.md).
 */

// The five XXH64 primes, split into 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;
const P1L0 = P1L & 0xffff, P1L1 = P1L >>> 16;
const P2L0 = P2L & 0xffff, P2L1 = P2L >>> 16;
const P3L0 = P3L & 0xffff, P3L1 = P3L >>> 16;
const P5L0 = P5L & 0xffff, P5L1 = P5L >>> 16;

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

// Char codes of the 16 output digits, reused: one String.fromCharCode call builds the result
// flat, where concatenating pieces allocated a string per piece.
const HEX_CODES = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
const digits: number[] = new Array<number>(16).fill(48);

function hex64(hi: number, lo: number): string {
  for (let i = 0; i < 8; i++) {
    const shift = 28 - 4 * i;
    digits[i] = HEX_CODES[(hi >>> shift) & 15]!;
    digits[8 + i] = HEX_CODES[(lo >>> shift) & 15]!;
  }
  return String.fromCharCode.apply(null, digits);
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
  // The rest runs for every tenant, so it is written out on local (hi, lo) pairs: no calls, no
  // registers. Each "x * P" block is the 64-bit product of `mul` with the prime's limbs inlined.
  let a0 = 0, a1 = 0, p00 = 0, p01 = 0, p10 = 0, p11 = 0, cross = 0, th = 0, tl = 0, s = 0, kh = 0, kl = 0;
  // h += len (len < 2^32 for any tenant string).
  s = hl + len; hl = s >>> 0; hh = (hh + (s > 0xffffffff ? 1 : 0)) >>> 0;
  while (p + 8 <= len) {
    kl = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    kh = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
    // k = k * P2
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P2L0; p01 = a0 * P2L1; p10 = a1 * P2L0; p11 = a1 * P2L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H)) >>> 0;
    // k = rotl(k, 31)
    kh = ((th << 31) | (tl >>> 1)) >>> 0; kl = ((tl << 31) | (th >>> 1)) >>> 0;
    // k = k * P1
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0; p11 = a1 * P1L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kh, P1L) + Math.imul(kl, P1H)) >>> 0;
    // h ^= k; h = rotl(h, 27) * P1 + P4
    hh = (hh ^ th) >>> 0; hl = (hl ^ tl) >>> 0;
    kh = ((hh << 27) | (hl >>> 5)) >>> 0; kl = ((hl << 27) | (hh >>> 5)) >>> 0;
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0; p11 = a1 * P1L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kh, P1L) + Math.imul(kl, P1H)) >>> 0;
    s = tl + P4L; hl = s >>> 0; hh = (th + P4H + (s > 0xffffffff ? 1 : 0)) >>> 0;
    p += 8;
  }
  if (p + 4 <= len) {
    kl = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    // k = (0, kl) * P1
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0; p11 = a1 * P1L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kl, P1H)) >>> 0;
    hh = (hh ^ th) >>> 0; hl = (hl ^ tl) >>> 0;
    // h = rotl(h, 23) * P2 + P3
    kh = ((hh << 23) | (hl >>> 9)) >>> 0; kl = ((hl << 23) | (hh >>> 9)) >>> 0;
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P2L0; p01 = a0 * P2L1; p10 = a1 * P2L0; p11 = a1 * P2L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H)) >>> 0;
    s = tl + P3L; hl = s >>> 0; hh = (th + P3H + (s > 0xffffffff ? 1 : 0)) >>> 0;
    p += 4;
  }
  while (p < len) {
    kl = b[p]!;
    // k = byte * P5 (byte < 2^8: one limb)
    p00 = kl * P5L0; p01 = kl * P5L1;
    cross = (p00 >>> 16) + (p01 & 0xffff);
    tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    th = ((p01 >>> 16) + (cross >>> 16) + Math.imul(kl, P5H)) >>> 0;
    hh = (hh ^ th) >>> 0; hl = (hl ^ tl) >>> 0;
    // h = rotl(h, 11) * P1
    kh = ((hh << 11) | (hl >>> 21)) >>> 0; kl = ((hl << 11) | (hh >>> 21)) >>> 0;
    a0 = kl & 0xffff; a1 = kl >>> 16;
    p00 = a0 * P1L0; p01 = a0 * P1L1; p10 = a1 * P1L0; p11 = a1 * P1L1;
    cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    hl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    hh = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(kh, P1L) + Math.imul(kl, P1H)) >>> 0;
    p++;
  }
  // avalanche
  hl = (hl ^ (hh >>> 1)) >>> 0;
  a0 = hl & 0xffff; a1 = hl >>> 16;
  p00 = a0 * P2L0; p01 = a0 * P2L1; p10 = a1 * P2L0; p11 = a1 * P2L1;
  cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(hh, P2L) + Math.imul(hl, P2H)) >>> 0;
  hh = th; hl = tl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; hh = (hh ^ (hh >>> 29)) >>> 0;
  a0 = hl & 0xffff; a1 = hl >>> 16;
  p00 = a0 * P3L0; p01 = a0 * P3L1; p10 = a1 * P3L0; p11 = a1 * P3L1;
  cross = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  tl = (((cross & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  th = (p11 + (p01 >>> 16) + (p10 >>> 16) + (cross >>> 16) + Math.imul(hh, P3L) + Math.imul(hl, P3H)) >>> 0;
  hh = th; hl = (tl ^ th) >>> 0;
  return hex64(hh, hl);
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
