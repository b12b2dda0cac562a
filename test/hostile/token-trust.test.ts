import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { SiloError, SiloGRPCClient, SiloValidationError, clearTopologyCache, type Protocol } from "silo-edge";
import { GetJobResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { answer, answerError, startFetchServer, type FetchServer } from "./fetch-server.js";

/**
 * The token goes only to the configured servers and to the nodes their topology names. Three
 * real loopback servers on three addresses: the configured one, a node a shard legitimately moves
 * to, and an intruder that a hostile or confused node points the client at. Each records what it
 * received; the intruder must receive nothing.
 */

const SECRET = "tok-trust-5ecr3t";
const OWNER = "x-silo-shard-owner-addr";

function jobMessage(id: string): Uint8Array {
  return toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { id }));
}

describe.each<Protocol>(["grpc-web", "connect"])("token trust over %s", (protocol) => {
  let configured: FetchServer;
  let movedTo: FetchServer;
  let intruder: FetchServer;

  beforeAll(async () => {
    configured = await startFetchServer(protocol, "127.0.0.1");
    movedTo = await startFetchServer(protocol, "127.0.0.2");
    intruder = await startFetchServer(protocol, "127.0.0.3");
    intruder.script = (_req, res) => answer(res, protocol, jobMessage("from-the-intruder"));
    movedTo.script = (_req, res) => answer(res, protocol, jobMessage("from-the-new-owner"));
  });
  afterEach(() => {
    clearTopologyCache();
    for (const s of [configured, movedTo, intruder]) s.received.length = 0;
    configured.advertise = undefined;
  });
  afterAll(async () => {
    for (const s of [configured, movedTo, intruder]) await s.close();
  });

  const client = (): SiloGRPCClient =>
    new SiloGRPCClient({ servers: configured.address, useTls: false, protocol, token: SECRET, timeoutMs: 2_000, shardRouting: { maxRetries: 3 } });

  it("a redirect to a host the topology does not name is not followed, even after a refresh", async () => {
    configured.script = (_req, res) => answerError(res, protocol, 5, "not_found", "shard not found", { [OWNER]: intruder.address });
    const err = await client().getJob("job-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloError);
    expect(intruder.received).toEqual([]);
    // It asked the configured server for the topology again before giving up on the redirect.
    expect(configured.received.filter((r) => r.path.endsWith("/GetClusterInfo")).length).toBeGreaterThanOrEqual(2);
    for (const r of configured.received) expect(r.authorization).toBe(`Bearer ${SECRET}`);
  });

  it("a redirect to a node the refreshed topology names (a shard moved) is followed, token and all", async () => {
    configured.script = (_req, res) => {
      // The shard moved: from now on the configured server's topology names the new owner.
      configured.advertise = movedTo.address;
      answerError(res, protocol, 5, "not_found", "shard not found", { [OWNER]: movedTo.address });
    };
    const job = await client().getJob("job-1");
    expect(job.id).toBe("from-the-new-owner");
    expect(movedTo.received.map((r) => r.authorization)).toEqual([`Bearer ${SECRET}`]);
    expect(intruder.received).toEqual([]);
  });

  it.each([
    ["userinfo", (a: string) => `localhost:1@${a}`],
    ["a path", (a: string) => `${a}/x`],
    ["a query", (a: string) => `${a}?x=1`],
    ["a scheme", (a: string) => `http://${a}`],
  ])("a redirect naming the intruder inside %s is refused", async (_name, disguise) => {
    configured.script = (_req, res) => answerError(res, protocol, 5, "not_found", "shard not found", { [OWNER]: disguise(intruder.address) });
    const err = await client().getJob("job-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloError);
    expect(intruder.received).toEqual([]);
  });

  it("a topology that names the intruder inside userinfo (localhost:1@host) is refused before any connection", async () => {
    configured.advertise = `localhost:1@${intruder.address}`;
    const err = await client().getJob("job-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloError);
    expect((err as SiloError).message).toContain("not a plain \"host:port\"");
    expect(intruder.received).toEqual([]);
  });

  it("an addressMap that returns a URL-shaped address is a validation error, and nothing is sent", async () => {
    const c = new SiloGRPCClient({
      servers: configured.address,
      useTls: false,
      protocol,
      token: SECRET,
      addressMap: () => `localhost:1@${intruder.address}`,
    });
    const err = await c.getJob("job-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("addressMap");
    expect(intruder.received).toEqual([]);
  });
});

describe("servers given as host:port", () => {
  it.each([
    ["userinfo", "localhost:1@evil.example"],
    ["userinfo before the host", "user:pw@localhost:7450"],
    ["a query", "localhost:7450?x=1"],
    ["a fragment", "localhost:7450#x"],
    ["a percent escape", "local%68ost:7450"],
    ["a backslash", "localhost:7450\\@evil.example"],
    ["an inner space", "localhost :7450"],
  ])("with %s are refused by name before any call", (_name, servers) => {
    let err: unknown;
    try {
      new SiloGRPCClient({ servers, useTls: false, token: SECRET });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("servers");
  });
});
