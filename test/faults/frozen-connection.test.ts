import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloGRPCClient } from "silo-edge";
import { createdSince, protocols, sleep, useFreshTopology } from "./harness.js";

/**
 * A TCP proxy in front of a one-node dev server. `blackhole()` makes every open connection go
 * silent in both directions without closing it: what a Lambda sees after a long freeze, when a
 * NAT or load balancer has dropped the connection and no FIN or RST ever arrives.
 */
async function startProxy(target: string): Promise<{ address: string; blackhole: () => void; close: () => Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const pairs = new Set<{ client: Socket; upstream: Socket; dead: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    const pair = { client, upstream, dead: false };
    pairs.add(pair);
    client.on("data", (d) => void (pair.dead || upstream.write(d)));
    upstream.on("data", (d) => void (pair.dead || client.write(d)));
    const end = (): void => {
      if (pair.dead) return;
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    blackhole() {
      for (const p of pairs) p.dead = true;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(protocols)("a connection that went silent while idle, over %s", (protocol) => {
  let server: DevServer;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
    proxy = await startProxy(server.addresses[0]!);
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  it("is replaced on the next call, which succeeds and enqueues once", async () => {
    // The node advertises its own address; route through the proxy instead.
    const client = new SiloGRPCClient({ servers: proxy.address, useTls: false, protocol, timeoutMs: 5_000, addressMap: () => proxy.address });
    await client.enqueue({ payload: 1, taskGroup: "g" });
    const before = new Set(server.jobIds());
    proxy.blackhole();
    // Longer than the transports' idle limits (HTTP/2 pings a session idle for 5 s before reuse).
    await sleep(6_000);
    const started = Date.now();
    const handle = await client.enqueue({ payload: 2, taskGroup: "g" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(createdSince(server, before)).toEqual([handle.id]);
  }, 20_000);
});
