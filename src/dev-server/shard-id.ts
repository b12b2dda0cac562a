import { invalidArgument } from "./errors.js";

const HYPHENATED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SIMPLE = /^[0-9a-f]{32}$/i;

/**
 * Parse a shard id the way the server's UUID parser does (hyphenated or 32 hex digits, any
 * case) and return its canonical lower-case hyphenated form.
 */
export function parseShardId(raw: string): string {
  if (HYPHENATED.test(raw)) return raw.toLowerCase();
  if (SIMPLE.test(raw)) {
    const s = raw.toLowerCase();
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
  throw invalidArgument(`invalid shard ID: ${raw}`);
}
