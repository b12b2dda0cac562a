import { describe, expect, it } from "vitest";
import { useCountingListener } from "../support/counting-listener.js";
import { recordingLogger } from "../support/recording-logger.js";
import { SiloGRPCClient, SiloValidationError, type EnqueueJobOptions } from "../../src/index.js";

// A listener that only counts connections: every case below must fail before any network call.
const listener = useCountingListener();

const ok = { payload: { a: 1 }, taskGroup: "default" };
const circular: Record<string, unknown> = {};
circular.self = circular;

const cases: Array<[string, Record<string, unknown>, string]> = [
  ["a missing task group", { payload: 1 }, "taskGroup"],
  ["an empty task group", { ...ok, taskGroup: "" }, "taskGroup"],
  ["a task group of 65 characters", { ...ok, taskGroup: "g".repeat(65) }, "taskGroup"],
  ["an empty tenant", { ...ok, tenant: "" }, "tenant"],
  ["a tenant of 65 characters", { ...ok, tenant: "t".repeat(65) }, "tenant"],
  ["a numeric tenant", { ...ok, tenant: 42 }, "tenant"],
  ["priority 100", { ...ok, priority: 100 }, "priority"],
  ["priority -1", { ...ok, priority: -1 }, "priority"],
  ["priority 1.5", { ...ok, priority: 1.5 }, "priority"],
  ["an empty id", { ...ok, id: "" }, "id"],
  ["17 metadata entries", { ...ok, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
  ["a metadata key of 64 characters", { ...ok, metadata: { ["k".repeat(64)]: "v" } }, "metadata"],
  ["a metadata value of 65,535 bytes", { ...ok, metadata: { big: "v".repeat(65_535) } }, "metadata.big"],
  ["a non-string metadata value", { ...ok, metadata: { n: 1 } }, "metadata.n"],
  ["a negative startAtMs", { ...ok, startAtMs: -5 }, "startAtMs"],
  ["a fractional startAtMs", { ...ok, startAtMs: 1.5 }, "startAtMs"],
  ["an invalid Date", { ...ok, startAtMs: new Date("nope") }, "startAtMs"],
  ["a function in the payload", { ...ok, payload: { f: () => 1 } }, "payload"],
  ["a symbol in the payload", { ...ok, payload: [Symbol("s")] }, "payload"],
  ["a circular payload", { ...ok, payload: circular }, "payload"],
  ["a negative retryCount", { ...ok, retryPolicy: { retryCount: -1 } }, "retryPolicy.retryCount"],
  ["a negative initialIntervalMs", { ...ok, retryPolicy: { initialIntervalMs: -1n } }, "retryPolicy.initialIntervalMs"],
  ["an infinite backoffFactor", { ...ok, retryPolicy: { backoffFactor: Infinity } }, "retryPolicy.backoffFactor"],
  ["an unknown retry policy key", { ...ok, retryPolicy: { retries: 3 } }, "retryPolicy.retries"],
  ["limits that are not an array", { ...ok, limits: {} }, "limits"],
  ["a limit of unknown type", { ...ok, limits: [{ type: "magic" }] }, "limits[0].type"],
  ["a concurrency limit without key", { ...ok, limits: [{ type: "concurrency", maxConcurrency: 1 }] }, "limits[0].key"],
  ["a negative maxConcurrency", { ...ok, limits: [{ type: "concurrency", key: "k", maxConcurrency: -1 }] }, "limits[0].maxConcurrency"],
  ["a rate limit with zero duration", { ...ok, limits: [{ type: "rateLimit", name: "n", uniqueKey: "u", limit: 1n, durationMs: 0n }] }, "limits[0].durationMs"],
  ["a rate limit with an unknown algorithm", { ...ok, limits: [{ type: "rateLimit", name: "n", uniqueKey: "u", limit: 1n, durationMs: 1n, algorithm: 7 }] }, "limits[0].algorithm"],
  ["a rate limit with a negative maxRetries", { ...ok, limits: [{ type: "rateLimit", name: "n", uniqueKey: "u", limit: 1n, durationMs: 1n, retryPolicy: { maxRetries: -2 } }] }, "limits[0].retryPolicy.maxRetries"],
  ["a floating limit without refresh interval", { ...ok, limits: [{ type: "floatingConcurrency", key: "k", defaultMaxConcurrency: 1 }] }, "limits[0].refreshIntervalMs"],
  ["an unknown option", { ...ok, taskgroup: "x" }, "taskgroup"],
];

describe("enqueue rejects bad input before any network call", () => {
  it.each(cases)("%s is a SiloValidationError naming the field", async (_name, options, field) => {
    const client = new SiloGRPCClient({ servers: listener.address, useTls: false });
    const err = await client.enqueue(options as unknown as EnqueueJobOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).code).toBe("SILO_VALIDATION");
    expect((err as SiloValidationError).field).toBe(field);
    expect((err as Error).message).toContain(field);
  });

  it("made no connection for any of them", () => {
    expect(listener.connections).toBe(0);
  });
});

describe("client options are checked in the constructor", () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["no servers", {}, "servers"],
    ["an empty server list", { servers: [] }, "servers"],
    ["a server with a scheme", { servers: "http://localhost:7450" }, "servers"],
    ["a server with a bad port", { servers: "localhost:99999" }, "servers"],
    ["a server list where no entry is usable", { servers: ["localhost:", "a:99999"] }, "servers[0]"],
    ["a server object with a bad host", { servers: { host: "bad host", port: 1 } }, "servers.host"],
    ["a non-boolean useTls", { servers: "a:1", useTls: "no" }, "useTls"],
    ["an empty token", { servers: "a:1", token: "" }, "token"],
    ["an unknown protocol", { servers: "a:1", protocol: "http3" }, "protocol"],
    ["a negative refresh interval", { servers: "a:1", shardRouting: { topologyRefreshIntervalMs: -1 } }, "shardRouting.topologyRefreshIntervalMs"],
    ["a zero shard count", { servers: "a:1", shardRouting: { numShards: 0 } }, "shardRouting.numShards"],
    ["a topology cache without set", { servers: "a:1", topologyCache: { get() {} } }, "topologyCache"],
    ["a cleartext token to a remote host", { servers: "silo.example.com:7450", useTls: false, token: "secret" }, "token"],
    ["an unknown option", { servers: "a:1", sever: 1 }, "sever"],
  ];
  it.each(bad)("%s is a SiloValidationError naming the field", (_name, options, field) => {
    let err: unknown;
    try {
      new SiloGRPCClient(options as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe(field);
  });

  it("leaves an unusable address out of a server list with a usable one, and says so at warn (upstream client-integration.test.ts)", () => {
    const { logger, entries } = recordingLogger();
    const client = new SiloGRPCClient({ servers: ["localhost:7450", "invalid-server:99999"], useTls: false, logger });
    const warnings = entries.filter((e) => e.level === "warn").map((e) => [e.fields, e.message] as const);
    expect(client.getTopology().shards).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![1]).toBe("silo-edge: server address left out");
    expect(warnings[0]![0]).toMatchObject({ field: "servers[1]" });
    expect(String(warnings[0]![0].reason)).toContain("port must be an integer from 1 to 65535, got 99999");
    client.close();
  });

  it("never puts the token in messages, toString or JSON", () => {
    const client = new SiloGRPCClient({ servers: "silo.example.com:7450", token: "s3cr3t-token" });
    expect(String(client)).not.toContain("s3cr3t");
    expect(JSON.stringify(client)).not.toContain("s3cr3t");
    let message = "";
    try {
      new SiloGRPCClient({ servers: "silo.example.com:7450", useTls: false, token: "s3cr3t-token" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("cleartext");
    expect(message).not.toContain("s3cr3t");
  });

  it("allows a cleartext token to a remote host only when asked explicitly", () => {
    expect(() => new SiloGRPCClient({ servers: "silo.internal:7450", useTls: false, token: "t", allowInsecureToken: true })).not.toThrow();
  });

  it("does no I/O in the constructor", () => {
    new SiloGRPCClient({ servers: listener.address, useTls: false });
    expect(listener.connections).toBe(0);
  });
});
