import { hashTenant } from "../core/tenant-hash.js";

/** A half-open range over tenant hashes: `start` inclusive, `end` exclusive; "" means unbounded. */
export interface HashRange {
  readonly start: string;
  readonly end: string;
}

const TWO_POW_64 = 1n << 64n;

/** The real server's initial split of the u64 hash space into `count` even ranges. */
export function initialRanges(count: number): HashRange[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`shard count must be a positive integer, got ${count}`);
  }
  const boundary = (i: number): string =>
    ((BigInt(i) * TWO_POW_64) / BigInt(count)).toString(16).padStart(16, "0");
  const ranges: HashRange[] = [];
  for (let i = 0; i < count; i++) {
    ranges.push({
      start: i === 0 ? "" : boundary(i),
      end: i === count - 1 ? "" : boundary(i + 1),
    });
  }
  return ranges;
}

/** Whether a 16-hex-char hash falls in the range (plain string comparison, like the server). */
export function rangeContainsHash(range: HashRange, hash: string): boolean {
  return (range.start === "" || hash >= range.start) && (range.end === "" || hash < range.end);
}

/** Whether the tenant hashes into the range. */
export function rangeContainsTenant(range: HashRange, tenant: string): boolean {
  return rangeContainsHash(range, hashTenant(tenant));
}

/** The server's Display form of a range, used verbatim in the misrouted-tenant message. */
export function formatRange(range: HashRange): string {
  return `[${range.start === "" ? "-∞" : range.start}, ${range.end === "" ? "+∞" : range.end})`;
}
