import type { ShardInfoWithRange } from "./task-types.js";

/**
 * The shard of `shards` (sorted by `rangeStart`) whose range holds `key`, a tenant hash as
 * `hashTenant` returns it; undefined when none does. Ranges are compared as strings, as the server
 * compares them: "" is unbounded.
 */
export function shardForTenant(key: string, shards: readonly ShardInfoWithRange[]): ShardInfoWithRange | undefined {
  let lo = 0;
  let hi = shards.length - 1;
  let found: ShardInfoWithRange | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const shard = shards[mid]!;
    if (shard.rangeStart === "" || shard.rangeStart <= key) {
      found = shard;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found && (found.rangeEnd === "" || key < found.rangeEnd) ? found : undefined;
}

/**
 * Resolves at once: silo-edge's XXH64 is plain JavaScript and needs no set-up. Kept so code
 * written for the upstream client, which loads a WASM hasher here, runs unchanged.
 */
export function initHasher(): Promise<void> {
  return Promise.resolve();
}
