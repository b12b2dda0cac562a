import { randomUUID } from "node:crypto";
import type { HashRange } from "./shard-ranges.js";
import { initialRanges } from "./shard-ranges.js";

/** One shard as the tests see it. */
export interface ShardInfo {
  /** UUID, as the real server names shards. */
  readonly id: string;
  readonly rangeStart: string;
  readonly rangeEnd: string;
  /** Index of the node that owns the shard. */
  readonly nodeIndex: number;
}

/** A node's identity; the address is fixed once its listener has bound. */
export interface NodeIdentity {
  readonly index: number;
  readonly nodeId: string;
  host: string;
  port: number;
}

interface ShardEntry {
  readonly id: string;
  readonly range: HashRange;
  owner: number;
}

/**
 * The cluster's shard map and membership: which node owns which shard. It is shared by all nodes
 * of one dev server, which is what makes `GetClusterInfo` answer the whole map on any node.
 */
export class ClusterState {
  readonly nodes: NodeIdentity[];
  private readonly shardList: ShardEntry[];
  private readonly byId = new Map<string, ShardEntry>();
  /** Shards that answer UNAVAILABLE, as a real node does while it acquires or splits a shard. */
  private readonly paused = new Set<string>();

  constructor(nodeCount: number, shardCount: number, host: string) {
    this.nodes = Array.from({ length: nodeCount }, (_, index) => ({
      index,
      nodeId: `dev-node-${index}`,
      host,
      port: 0,
    }));
    // Round-robin keeps neighbouring ranges on different nodes, so a routing bug shows up fast.
    this.shardList = initialRanges(shardCount).map((range, i) => ({
      id: randomUUID(),
      range,
      owner: i % nodeCount,
    }));
    for (const shard of this.shardList) this.byId.set(shard.id, shard);
  }

  /** `host:port` of a node; IPv6 hosts are bracketed, as in a URL authority. */
  addressOf(node: number): string {
    const { host, port } = this.node(node);
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  }

  node(index: number): NodeIdentity {
    const identity = this.nodes[index];
    if (identity === undefined) {
      throw new RangeError(`no node ${index}: the dev server has ${this.nodes.length} node(s)`);
    }
    return identity;
  }

  shards(): ShardInfo[] {
    return this.shardList.map((s) => ({
      id: s.id,
      rangeStart: s.range.start,
      rangeEnd: s.range.end,
      nodeIndex: s.owner,
    }));
  }

  shardIds(): string[] {
    return this.shardList.map((s) => s.id);
  }

  /** Shard with this canonical id, or undefined when the map has no such shard. */
  find(shardId: string): { readonly id: string; readonly range: HashRange; readonly owner: number } | undefined {
    return this.byId.get(shardId);
  }

  ownedBy(node: number): string[] {
    return this.shardList.filter((s) => s.owner === node).map((s) => s.id);
  }

  moveShard(shardId: string, toNode: number): void {
    const shard = this.byId.get(shardId);
    if (shard === undefined) throw new RangeError(`unknown shard ${shardId}`);
    this.node(toNode);
    shard.owner = toNode;
  }

  /** Make a shard answer UNAVAILABLE (or, with `false`, serve again). */
  setPaused(shardId: string, paused: boolean): void {
    if (!this.byId.has(shardId)) throw new RangeError(`unknown shard ${shardId}`);
    if (paused) this.paused.add(shardId);
    else this.paused.delete(shardId);
  }

  isPaused(shardId: string): boolean {
    return this.paused.has(shardId);
  }
}
