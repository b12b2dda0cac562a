import { describe, expect, it } from "vitest";
import { useCountingListener } from "../support/counting-listener.js";
import { SiloGRPCClient, SiloValidationError, type JobHandle } from "silo-edge";

// A listener that only counts connections: every case below must fail before any network call.
const listener = useCountingListener();

const client = (): SiloGRPCClient => new SiloGRPCClient({ servers: listener.address, useTls: false, protocol: "grpc" });
const tenant65 = "t".repeat(65);
const bad = "bad" as unknown;

/** Runs `fn` and returns what it threw or rejected with. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectValidation(err: unknown, field: string): void {
  expect(err).toBeInstanceOf(SiloValidationError);
  expect((err as SiloValidationError).code).toBe("SILO_VALIDATION");
  expect((err as SiloValidationError).field).toBe(field);
  expect((err as Error).message).toContain(field);
}

type Case = [name: string, call: (c: SiloGRPCClient) => unknown, field: string];

const handleCases: Case[] = [
  ['handle("")', (c) => c.handle(""), "id"],
  ["handle(123)", (c) => c.handle(123 as never), "id"],
  ["handle(null)", (c) => c.handle(null as never), "id"],
  ["handle({})", (c) => c.handle({} as never), "id"],
  ['handle(id, "")', (c) => c.handle("job", ""), "tenant"],
  ["handle(id, 65-character tenant)", (c) => c.handle("job", tenant65), "tenant"],
  ["handle(id, 7)", (c) => c.handle("job", 7 as never), "tenant"],
  ["handle(id, null)", (c) => c.handle("job", null as never), "tenant"],
];

const ops = ["getJob", "getJobStatus", "getJobResult", "cancelJob", "deleteJob", "restartJob", "expediteJob"] as const;
const clientMethodCases: Case[] = ops.flatMap((op): Case[] => [
  [`${op}(123)`, (c) => c[op](123 as never), "id"],
  [`${op}("")`, (c) => c[op](""), "id"],
  [`${op}(undefined)`, (c) => c[op](undefined as never), "id"],
  [`${op}(id, 65-character tenant)`, (c) => c[op]("job", tenant65), "tenant"],
  [`${op}(id, "")`, (c) => c[op]("job", ""), "tenant"],
  [`${op}(id, tenant, { timeoutMs: 0 })`, (c) => c[op]("job", "t", { timeoutMs: 0 }), "timeoutMs"],
  [`${op}(id, tenant, { timeoutMs: -1 })`, (c) => c[op]("job", "t", { timeoutMs: -1 }), "timeoutMs"],
  [`${op}(id, tenant, { timeoutMs: NaN })`, (c) => c[op]("job", "t", { timeoutMs: NaN }), "timeoutMs"],
  [`${op}(id, tenant, { timeoutMs: "5000" })`, (c) => c[op]("job", "t", { timeoutMs: "5000" as never }), "timeoutMs"],
  [`${op}(id, tenant, { timeoutMs: Infinity })`, (c) => c[op]("job", "t", { timeoutMs: Infinity }), "timeoutMs"],
  [`${op}(id, tenant, { signal: "stop" })`, (c) => c[op]("job", "t", { signal: bad as AbortSignal }), "signal"],
  [`${op}(id, tenant, { headers: { x: 1 } })`, (c) => c[op]("job", "t", { headers: { x: 1 as never } }), "headers.x"],
  [`${op}(id, tenant, { headers: "x: 1" })`, (c) => c[op]("job", "t", { headers: "x: 1" as never }), "headers"],
  [`${op}(id, tenant, a header value with a line break)`, (c) => c[op]("job", "t", { headers: { "x-a": "1\r\nx-b: 2" } }), "headers.x-a"],
  [`${op}(id, tenant, a header name with a space)`, (c) => c[op]("job", "t", { headers: { "x a": "1" } }), "headers.x a"],
  [`${op}(id, tenant, { timeout: 5 }) (unknown key)`, (c) => c[op]("job", "t", { timeout: 5 } as never), "timeout"],
  [`${op}(id, tenant, "fast") (not an object)`, (c) => c[op]("job", "t", "fast" as never), "options"],
]);

const getJobOnly: Case[] = [
  ['getJob(id, tenant, { includeAttempts: "yes" })', (c) => c.getJob("job", "t", { includeAttempts: "yes" as never }), "includeAttempts"],
  ["getJob(id, tenant, { includeAttempts: true, attempts: true })", (c) => c.getJob("job", "t", { includeAttempts: true, attempts: true } as never), "attempts"],
];

const awaitCases: Case[] = [
  ["awaitResult({ pollIntervalMs: 0 })", (c) => c.handle("job").awaitResult({ pollIntervalMs: 0 }), "pollIntervalMs"],
  ["awaitResult({ pollIntervalMs: -5 })", (c) => c.handle("job").awaitResult({ pollIntervalMs: -5 }), "pollIntervalMs"],
  ["awaitResult({ pollIntervalMs: 2.5 })", (c) => c.handle("job").awaitResult({ pollIntervalMs: 2.5 }), "pollIntervalMs"],
  ['awaitResult({ pollIntervalMs: "1s" })', (c) => c.handle("job").awaitResult({ pollIntervalMs: "1s" as never }), "pollIntervalMs"],
  ["awaitResult({ timeoutMs: -1 })", (c) => c.handle("job").awaitResult({ timeoutMs: -1 }), "timeoutMs"],
  ["awaitResult({ timeoutMs: 0 })", (c) => c.handle("job").awaitResult({ timeoutMs: 0 }), "timeoutMs"],
  ["awaitResult({ timeoutMs: NaN })", (c) => c.handle("job").awaitResult({ timeoutMs: NaN }), "timeoutMs"],
  ["awaitResult({ signal: {} })", (c) => c.handle("job").awaitResult({ signal: {} as AbortSignal }), "signal"],
  ["awaitResult({ pollInterval: 10 }) (unknown key)", (c) => c.handle("job").awaitResult({ pollInterval: 10 } as never), "pollInterval"],
  ["awaitResult(null)", (c) => c.handle("job").awaitResult(null as never), "options"],
  ["awaitResult([])", (c) => c.handle("job").awaitResult([] as never), "options"],
  ["awaitJobResult with an empty id", (c) => c.awaitJobResult("", undefined), "id"],
  ["awaitJobResult with a 65-character tenant", (c) => c.awaitJobResult("job", tenant65), "tenant"],
];

const handleMethodCases: Case[] = (["getJob", "getStatus", "getResult", "cancel", "delete", "restart", "expedite"] as const).flatMap((m): Case[] => [
  [`handle.${m}({ timeoutMs: -1 })`, (c) => (c.handle("job", "t")[m] as (o: unknown) => unknown)({ timeoutMs: -1 }), "timeoutMs"],
  [`handle.${m}({ signal: 1 })`, (c) => (c.handle("job", "t")[m] as (o: unknown) => unknown)({ signal: 1 }), "signal"],
  [`handle.${m}({ bogus: true })`, (c) => (c.handle("job", "t")[m] as (o: unknown) => unknown)({ bogus: true }), "bogus"],
]);

const enqueueCallOptionCases: Case[] = [
  ["enqueue(ok, { timeoutMs: 0 })", (c) => c.enqueue({ payload: 1, taskGroup: "g" }, { timeoutMs: 0 }), "timeoutMs"],
  ["enqueue(ok, { signal: true })", (c) => c.enqueue({ payload: 1, taskGroup: "g" }, { signal: true as never }), "signal"],
  ["enqueue(ok, { headers: [[1, 2]] })", (c) => c.enqueue({ payload: 1, taskGroup: "g" }, { headers: [["a", "b"]] as never }), "headers"],
  ["enqueue(ok, { retries: 3 }) (unknown key)", (c) => c.enqueue({ payload: 1, taskGroup: "g" }, { retries: 3 } as never), "retries"],
  ["enqueue(null)", (c) => c.enqueue(null as never), "options"],
  ["enqueue(a string)", (c) => c.enqueue("job" as never), "options"],
  ["enqueue with id 42", (c) => c.enqueue({ id: 42 as never, payload: 1, taskGroup: "g" }), "id"],
];

describe.each([
  ["client.handle()", handleCases],
  ["client job methods", clientMethodCases],
  ["client.getJob()", getJobOnly],
  ["awaitResult()", awaitCases],
  ["handle methods", handleMethodCases],
  ["enqueue call options", enqueueCallOptionCases],
])("%s rejects bad input before any network call", (_group, cases) => {
  it.each(cases)("%s is a SiloValidationError naming the field", async (_name, call, field) => {
    expectValidation(await failure(() => call(client())), field);
  });
});

describe("the handle methods", () => {
  it("reject, never throw synchronously, so .catch() sees the error", async () => {
    const handle: JobHandle = client().handle("job", "t");
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = handle.getJob({ timeoutMs: -1 });
    }).not.toThrow();
    await expect(promise).rejects.toBeInstanceOf(SiloValidationError);
  });

  it("with an already aborted signal reject with SiloCancelledError and make no call", async () => {
    const err = await failure(() => client().handle("job").getStatus({ signal: AbortSignal.abort() }));
    expect(err).toMatchObject({ code: "SILO_CANCELLED" });
  });
});

describe("client options not covered by the enqueue validation table", () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["a zero maxRetries is fine, a negative one is not", { servers: "a:1", maxRetries: -1 }, "maxRetries"],
    ["maxRetries 1.5", { servers: "a:1", maxRetries: 1.5 }, "maxRetries"],
    ["maxRetries 101", { servers: "a:1", maxRetries: 101 }, "maxRetries"],
    ["timeoutMs 0", { servers: "a:1", timeoutMs: 0 }, "timeoutMs"],
    ["timeoutMs Infinity", { servers: "a:1", timeoutMs: Infinity }, "timeoutMs"],
    ['timeoutMs "10s"', { servers: "a:1", timeoutMs: "10s" }, "timeoutMs"],
    ["a fetch that is not a function", { servers: "a:1", fetch: "fetch" }, "fetch"],
    ["headers that are not an object", { servers: "a:1", headers: "x-a: 1" }, "headers"],
    ["a header value that is a number", { servers: "a:1", headers: { "x-a": 1 } }, "headers.x-a"],
    ["a header value with a line break", { servers: "a:1", headers: { "x-a": "1\nx-b: 2" } }, "headers.x-a"],
    ["a header name with a colon", { servers: "a:1", headers: { "x:a": "1" } }, "headers.x:a"],
    ["a non-boolean allowInsecureToken", { servers: "a:1", allowInsecureToken: "yes" }, "allowInsecureToken"],
    ["an addressMap that is a string", { servers: "a:1", addressMap: "a:1=b:2" }, "addressMap"],
    ["an addressMap entry that is not a string", { servers: "a:1", addressMap: { "a:1": 2 } }, "addressMap.a:1"],
    ["shardRouting that is not an object", { servers: "a:1", shardRouting: 8 }, "shardRouting"],
    ["an unknown shardRouting key", { servers: "a:1", shardRouting: { shards: 8 } }, "shardRouting.shards"],
    ["a fractional refresh interval", { servers: "a:1", shardRouting: { topologyRefreshIntervalMs: 0.5 } }, "shardRouting.topologyRefreshIntervalMs"],
    ["a topology cache that is a function", { servers: "a:1", topologyCache: () => undefined }, "topologyCache"],
    ["a token that is a number", { servers: "a:1", token: 42 }, "token"],
    ["a token that is an object", { servers: "a:1", token: { value: "t" } }, "token"],
    ["options that are null", null as never, "options"],
    ["options that are a string", "localhost:7450" as never, "options"],
    ["a server that is a number", { servers: 7450 }, "servers"],
    ["a server list with a null", { servers: ["a:1", null] }, "servers[1]"],
    ["a server with a path", { servers: "localhost:7450/silo" }, "servers"],
    ["a server object with port 0", { servers: { host: "localhost", port: 0 } }, "servers.port"],
    ["a server object with a string port", { servers: { host: "localhost", port: "7450" } }, "servers.port"],
    ["a server with an IPv6 host without brackets and port", { servers: "::1:7450" }, "servers"],
    ["a server with spaces inside", { servers: "local host:7450" }, "servers"],
  ];
  it.each(bad)("%s is a SiloValidationError naming the field", (_name, options, field) => {
    let err: unknown;
    try {
      new SiloGRPCClient(options as never);
    } catch (e) {
      err = e;
    }
    expectValidation(err, field);
  });

  it("an addressMap function returning garbage fails the call with a SiloValidationError, not a crash", async () => {
    // The map is only consulted once a topology is known; a store supplies one without the network.
    const snapshot = { v: 1, fetchedAtMs: Date.now(), numShards: 1, shards: [{ id: "s", address: "node:1", nodeId: "n", rangeStart: "", rangeEnd: "" }] };
    const c = new SiloGRPCClient({
      servers: listener.address,
      useTls: false,
      addressMap: () => 42 as never,
      topologyCache: { get: () => snapshot, set: () => undefined },
    });
    const err = await failure(() => c.getJob("job"));
    expectValidation(err, "addressMap");
  });
});

describe("after every case above", () => {
  it("no connection was ever made", () => {
    expect(listener.connections).toBe(0);
  });
});
