import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetClusterInfoResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { Topology, createKvTopologyStore, createMemoryTopologyStore, hashTenant } from "../../src/index.js";

function info(bounds: string[]) {
  const edges = ["", ...bounds, ""];
  return create(GetClusterInfoResponseSchema, {
    numShards: edges.length - 1,
    shardOwners: edges.slice(0, -1).map((start, i) => ({
      shardId: `shard-${i}`,
      grpcAddr: `127.0.0.1:${7450 + (i % 2)}`,
      nodeId: `node-${i % 2}`,
      rangeStart: start,
      rangeEnd: edges[i + 1]!,
    })),
  });
}

describe("Topology", () => {
  const t = Topology.fromClusterInfo(info(["4000000000000000", "8000000000000000", "c000000000000000"]));

  it("routes a hash to the shard whose range holds it, bounds inclusive below and exclusive above", () => {
    expect(t.shardForHash("0000000000000000")?.id).toBe("shard-0");
    expect(t.shardForHash("3fffffffffffffff")?.id).toBe("shard-0");
    expect(t.shardForHash("4000000000000000")?.id).toBe("shard-1");
    expect(t.shardForHash("bfffffffffffffff")?.id).toBe("shard-2");
    expect(t.shardForHash("ffffffffffffffff")?.id).toBe("shard-3");
  });

  it("routes a tenant by its XXH64 hash", () => {
    // hashTenant("customer-123") = 0bb632d435317a69, in the first quarter.
    expect(t.shardForHash(hashTenant("customer-123"))?.id).toBe("shard-0");
    // hashTenant("-") = 7a162ebe4ce6fc55, in the second quarter.
    expect(t.shardForHash(hashTenant("-"))?.id).toBe("shard-1");
  });

  it("lists each node address once", () => {
    expect(t.addresses()).toEqual(["127.0.0.1:7450", "127.0.0.1:7451"]);
  });

  it("round-trips through a snapshot", () => {
    const again = Topology.fromSnapshot(JSON.parse(JSON.stringify(t.toSnapshot())));
    expect(again?.shards).toEqual(t.shards);
    expect(Topology.fromSnapshot(JSON.stringify(t.toSnapshot()))?.numShards).toBe(4);
  });

  it.each([
    ["not JSON", "{oops"],
    ["null", null],
    ["another version", { ...t.toSnapshot(), v: 2 }],
    ["a shard without id", { ...t.toSnapshot(), shards: [{ address: "a:1", nodeId: "n", rangeStart: "", rangeEnd: "" }] }],
    ["a range that is not hex", { ...t.toSnapshot(), shards: [{ id: "s", address: "a:1", nodeId: "n", rangeStart: "", rangeEnd: "zz" }] }],
    ["a gap between ranges", { ...t.toSnapshot(), shards: t.toSnapshot().shards.filter((s) => s.id !== "shard-1") }],
    ["no shards", { ...t.toSnapshot(), shards: [] }],
    ["a foreign object", { hello: "world" }],
  ])("rejects a snapshot with %s instead of crashing", (_name, value) => {
    expect(Topology.fromSnapshot(value)).toBeUndefined();
  });
});

describe("topology stores", () => {
  it("the memory store returns what was set", async () => {
    const store = createMemoryTopologyStore();
    await store.set("k", { v: 1 });
    expect(await store.get("k")).toEqual({ v: 1 });
    expect(await store.get("other")).toBeUndefined();
  });

  it("the KV store writes JSON under a prefix with an expiry and reads it back", async () => {
    const puts: Array<[string, string, unknown]> = [];
    const data = new Map<string, string>();
    const kv = {
      get: async (key: string) => data.get(key) ?? null,
      put: async (key: string, value: string, options?: unknown) => {
        puts.push([key, value, options]);
        data.set(key, value);
      },
    };
    const store = createKvTopologyStore(kv, { prefix: "p:", expirationTtl: 120 });
    await store.set("cluster", { v: 1 });
    expect(puts).toEqual([["p:cluster", '{"v":1}', { expirationTtl: 120 }]]);
    expect(await store.get("cluster")).toBe('{"v":1}');
    expect(await store.get("missing")).toBeUndefined();
  });
});
