import type { GetClusterInfoResponse } from "../gen/silo/v1/silo_pb.js";

/** One shard: its hash range and the node that owns it. */
export interface ShardRoute {
  /** Shard id (a UUID). */
  id: string;
  /** `host:port` of the owning node as the server advertises it; "" while unowned. */
  address: string;
  /** Id of the owning node. */
  nodeId: string;
  /** Inclusive lower bound of the tenant hash ("" = unbounded). */
  rangeStart: string;
  /** Exclusive upper bound of the tenant hash ("" = unbounded). */
  rangeEnd: string;
}

/** The JSON form a topology store keeps. */
export interface TopologySnapshot {
  v: 1;
  fetchedAtMs: number;
  numShards: number;
  shards: ShardRoute[];
}

const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The cluster's shard map, immutable once built. Routing a tenant hash is a binary search over
 * shards sorted by range start.
 */
export class Topology {
  readonly numShards: number;
  readonly shards: readonly ShardRoute[];
  readonly fetchedAtMs: number;

  private constructor(numShards: number, shards: ShardRoute[], fetchedAtMs: number) {
    this.numShards = numShards;
    this.shards = shards.sort((a, b) => (a.rangeStart < b.rangeStart ? -1 : a.rangeStart > b.rangeStart ? 1 : 0));
    this.fetchedAtMs = fetchedAtMs;
  }

  static fromClusterInfo(info: GetClusterInfoResponse, now = Date.now()): Topology {
    return new Topology(
      info.numShards,
      info.shardOwners.map((s) => ({
        id: s.shardId,
        address: s.grpcAddr,
        nodeId: s.nodeId,
        rangeStart: s.rangeStart,
        rangeEnd: s.rangeEnd,
      })),
      now,
    );
  }

  /** Rebuilds a topology from a stored snapshot; `undefined` when the value is not a valid one. */
  static fromSnapshot(value: unknown): Topology | undefined {
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        return undefined;
      }
    }
    if (typeof value !== "object" || value === null) return undefined;
    const s = value as Partial<TopologySnapshot>;
    if (s.v !== 1 || typeof s.fetchedAtMs !== "number" || typeof s.numShards !== "number" || !Array.isArray(s.shards)) {
      return undefined;
    }
    const shards: ShardRoute[] = [];
    for (const r of s.shards as unknown[]) {
      if (typeof r !== "object" || r === null) return undefined;
      const { id, address, nodeId, rangeStart, rangeEnd } = r as Record<string, unknown>;
      if (typeof id !== "string" || id === "" || typeof address !== "string" || typeof nodeId !== "string") return undefined;
      if (typeof rangeStart !== "string" || typeof rangeEnd !== "string") return undefined;
      if ((rangeStart !== "" && !HEX16.test(rangeStart)) || (rangeEnd !== "" && !HEX16.test(rangeEnd))) return undefined;
      shards.push({ id, address, nodeId, rangeStart, rangeEnd });
    }
    const topology = new Topology(s.numShards, shards, s.fetchedAtMs);
    return topology.isComplete() ? topology : undefined;
  }

  toSnapshot(): TopologySnapshot {
    return { v: 1, fetchedAtMs: this.fetchedAtMs, numShards: this.numShards, shards: this.shards.map((s) => ({ ...s })) };
  }

  /** True when the ranges cover the whole hash space without gaps or overlaps. */
  isComplete(): boolean {
    if (this.shards.length === 0) return false;
    let expected = "";
    for (let i = 0; i < this.shards.length; i++) {
      const s = this.shards[i]!;
      if (s.rangeStart !== expected) return false;
      if (s.rangeEnd === "") return i === this.shards.length - 1;
      if (s.rangeEnd <= s.rangeStart) return false;
      expected = s.rangeEnd;
    }
    return false;
  }

  /** The shard whose range holds `hash` (16 hex chars), or undefined if no range does. */
  shardForHash(hash: string): ShardRoute | undefined {
    const shards = this.shards;
    let lo = 0;
    let hi = shards.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (shards[mid]!.rangeStart <= hash) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const shard = shards[found]!;
    return shard.rangeEnd === "" || hash < shard.rangeEnd ? shard : undefined;
  }

  /** The shard with that id, if known. */
  shardById(id: string): ShardRoute | undefined {
    return this.shards.find((s) => s.id === id);
  }

  /** Distinct owner addresses, in shard order. */
  addresses(): string[] {
    return [...new Set(this.shards.map((s) => s.address).filter((a) => a !== ""))];
  }
}
