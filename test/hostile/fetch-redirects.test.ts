import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SiloError, SiloGRPCClient, clearTopologyCache, type Protocol } from "silo-edge";
import { startFetchServer, type FetchServer } from "./fetch-server.js";
import { measure, MiB } from "./heap-probe.js";

/**
 * A server that answers an RPC with an HTTP redirect to another origin. fetch would follow
 * 301/302/303 as a GET and 307/308 as a POST with the body, carrying custom headers along; the
 * client must follow none of them: a typed error, and the other origin hears nothing.
 */

const DEADLINE_MS = 2_000;
const SECRET = "tok-redirect-5ecr3t";

describe.each<Protocol>(["grpc-web", "connect"])("a %s server that redirects", (protocol) => {
  let server: FetchServer;
  let elsewhere: FetchServer;

  beforeAll(async () => {
    server = await startFetchServer(protocol, "127.0.0.1");
    // Another origin: another loopback address and port.
    elsewhere = await startFetchServer(protocol, "127.0.0.2");
  });
  afterEach(() => {
    clearTopologyCache();
    elsewhere.received.length = 0;
  });
  afterAll(async () => {
    await server.close();
    await elsewhere.close();
  });

  it.each([301, 302, 303, 307, 308])("with HTTP %i to another origin fails typed, and nothing reaches that origin", async (status) => {
    server.script = (req, res) => {
      res.writeHead(status, { location: `http://${elsewhere.address}${req.url ?? "/"}` });
      res.end();
    };
    const client = new SiloGRPCClient({
      servers: server.address,
      useTls: false,
      protocol,
      token: SECRET,
      headers: { "x-api-key": "custom-secret" },
      timeoutMs: DEADLINE_MS,
    });
    await client.refreshTopology();

    const { outcome, ms, peakGrowth } = await measure(() => client.getJob("job-1"));

    expect(outcome).toBeInstanceOf(SiloError);
    expect((outcome as SiloError).code).toBe("SILO_GRPC_ERROR");
    expect((outcome as SiloError).grpcCode).toBe("UNKNOWN");
    expect((outcome as SiloError).message).toContain(`HTTP ${status} to http://${elsewhere.address}/`);
    expect((outcome as SiloError).message).toContain("does not follow");
    expect((outcome as SiloError).message).not.toContain(SECRET);
    expect(ms).toBeLessThanOrEqual(DEADLINE_MS + 1_000);
    expect(peakGrowth).toBeLessThan(32 * MiB);
    expect(elsewhere.received).toEqual([]);
    // The configured server did get the call, with the token: it is trusted.
    expect(server.received.at(-1)?.authorization).toBe(`Bearer ${SECRET}`);
  });
});
