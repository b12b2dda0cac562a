import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { clearTopologyCache, hashTenant as hashOf, type TopologySnapshot, type TopologyStore } from "silo-edge";
import { clientFor, createdSince, protocols, tenants, useFreshTopology } from "./harness.js";

/** A store that always answers `value` and records what the client writes back. */
function fixedStore(value: unknown): TopologyStore & { written: unknown[] } {
  const written: unknown[] = [];
  return { written, get: () => value, set: (_key, v) => void written.push(v) };
}

describe.each(protocols)("a topology store with bad data, over %s", (protocol) => {
  let server: DevServer;
  /** A good snapshot of this cluster, as the client itself stores it. */
  let good: TopologySnapshot;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 3, shards: 6, tenancy: true });
    const store = fixedStore(undefined);
    await clientFor(server, protocol, { topologyCache: store }).refreshTopology();
    await new Promise((r) => setTimeout(r, 10));
    good = store.written[0] as TopologySnapshot;
    clearTopologyCache();
  });
  afterAll(() => server.close());

  /** Enqueues for many tenants from a cold client on `store`; every job lands, once. */
  async function enqueueFrom(store: TopologyStore): Promise<void> {
    const before = new Set(server.jobIds());
    const client = clientFor(server, protocol, { topologyCache: store });
    const handles = await Promise.all(tenants(8, "store").map((tenant) => client.enqueue({ payload: 1, taskGroup: "g", tenant })));
    expect(new Set(createdSince(server, before))).toEqual(new Set(handles.map((h) => h.id)));
  }

  it("recovers from a stale snapshot whose shard ids no longer exist", async () => {
    const stale = { ...good, shards: good.shards.map((s, i) => ({ ...s, id: `00000000-0000-4000-8000-00000000000${i}` })) };
    await enqueueFrom(fixedStore(stale));
  });

  it("recovers from a stale snapshot pointing every shard at a stopped node", async () => {
    await server.stopNode(2);
    try {
      const stale = { ...good, shards: good.shards.map((s) => ({ ...s, address: server.addresses[2]! })) };
      const store = fixedStore(stale);
      const before = new Set(server.jobIds());
      const client = clientFor(server, protocol, { topologyCache: store });
      // Tenants of the shards the live nodes own.
      const live = server.shards().filter((s) => s.nodeIndex !== 2);
      const chosen = tenants(400, "stopped").filter((t) => live.some((s) => inRange(t, s))).slice(0, 10);
      const handles = await Promise.all(chosen.map((tenant) => client.enqueue({ payload: 1, taskGroup: "g", tenant })));
      expect(new Set(createdSince(server, before))).toEqual(new Set(handles.map((h) => h.id)));
    } finally {
      await server.startNode(2);
    }
  });

  it("recovers from a stale snapshot with an address nobody listens on", async () => {
    await enqueueFrom(fixedStore({ ...good, shards: good.shards.map((s) => ({ ...s, address: "127.0.0.1:1" })) }));
  });

  it("recovers from a snapshot with the wrong ranges for each shard (a split since)", async () => {
    // One shard claiming the whole space: tenancy makes the server reject misrouted tenants.
    await enqueueFrom(fixedStore({ ...good, numShards: 1, shards: [{ ...good.shards[0]!, rangeStart: "", rangeEnd: "" }] }));
  });

  it("recovers from a snapshot whose shards have no owner yet", async () => {
    await enqueueFrom(fixedStore({ ...good, shards: good.shards.map((s) => ({ ...s, address: "" })) }));
  });

  const corrupt: Array<[string, unknown]> = [
    ["null", null],
    ["an empty string", ""],
    ["truncated JSON", '{"v":1,"fetchedAtMs":1,"numShards":6,"shards":[{"id":'],
    ["an array", []],
    ["a future version", { v: 2, fetchedAtMs: 1, numShards: 1, shards: [] }],
    ["no shards", { v: 1, fetchedAtMs: 1, numShards: 0, shards: [] }],
    ["a gap between ranges", { v: 1, fetchedAtMs: 1, numShards: 2, shards: [{ id: "a", address: "127.0.0.1:1", nodeId: "n", rangeStart: "", rangeEnd: "4000000000000000" }, { id: "b", address: "127.0.0.1:1", nodeId: "n", rangeStart: "8000000000000000", rangeEnd: "" }] }],
    ["overlapping ranges", { v: 1, fetchedAtMs: 1, numShards: 2, shards: [{ id: "a", address: "x:1", nodeId: "n", rangeStart: "", rangeEnd: "8000000000000000" }, { id: "b", address: "x:1", nodeId: "n", rangeStart: "4000000000000000", rangeEnd: "" }] }],
    ["upper-case hex bounds", { v: 1, fetchedAtMs: 1, numShards: 2, shards: [{ id: "a", address: "x:1", nodeId: "n", rangeStart: "", rangeEnd: "8000000000000000".toUpperCase() + "" }, { id: "b", address: "x:1", nodeId: "n", rangeStart: "800000000000000A", rangeEnd: "" }] }],
    ["a shard that is a string", { v: 1, fetchedAtMs: 1, numShards: 1, shards: ["shard"] }],
    ["numeric addresses", { v: 1, fetchedAtMs: 1, numShards: 1, shards: [{ id: "a", address: 7450, nodeId: "n", rangeStart: "", rangeEnd: "" }] }],
    ["a prototype-polluting key", JSON.parse('{"__proto__":{"v":1},"shards":[]}')],
    ["a huge string", "x".repeat(5_000_000)],
    ["a Uint8Array", new Uint8Array([1, 2, 3])],
    ["a Symbol", Symbol("topology")],
    ["a function", () => good],
  ];
  it.each(corrupt)("ignores a stored value that is %s and learns a fresh topology", async (_name, value) => {
    const store = fixedStore(value);
    server.resetRpcCounts();
    await enqueueFrom(store);
    expect(server.rpcCounts().GetClusterInfo).toBe(1);
    // The fresh topology replaced the bad value in the store.
    await new Promise((r) => setTimeout(r, 10));
    expect(store.written).toHaveLength(1);
  });

  it("ignores foreign data stored under its key by another program", async () => {
    for (const foreign of [{ user: "alice", cart: [1, 2] }, '{"hello":"world"}', "<html>502 Bad Gateway</html>", 42, true]) {
      clearTopologyCache();
      await enqueueFrom(fixedStore(foreign));
    }
  });

  it("asks the cluster instead when the store's get never settles", async () => {
    const store: TopologyStore = { get: () => new Promise(() => undefined), set: () => undefined };
    const client = clientFor(server, protocol, { topologyCache: store, timeoutMs: 5_000 });
    const started = Date.now();
    const handle = await client.enqueue({ payload: 1, taskGroup: "g", tenant: "hung-store" });
    expect(server.jobIds()).toContain(handle.id);
    // A bounded wait for the store, then one GetClusterInfo: well inside the call's deadline.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("asks the cluster instead when the store's get rejects", async () => {
    await enqueueFrom({ get: () => Promise.reject(new Error("KV 503")), set: () => Promise.reject(new Error("KV 503")) });
  });
});

function inRange(tenant: string, s: { rangeStart: string; rangeEnd: string }): boolean {
  const hash = hashOf(tenant);
  return (s.rangeStart === "" || s.rangeStart <= hash) && (s.rangeEnd === "" || hash < s.rangeEnd);
}
