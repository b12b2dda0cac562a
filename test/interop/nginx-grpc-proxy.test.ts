// The HTTP/2 client through a real nginx gRPC proxy (grpc_pass to the dev server over h2c) that
// sends GOAWAY every 25 requests on a client connection (keepalive_requests) and is reloaded
// twice mid-run (its old workers send GOAWAY and finish what they hold): every enqueue is
// acknowledged once and stored once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";
import { startNginxGrpcProxy, type NginxGrpcProxy } from "./nginx.js";

const TOTAL = 600;
const IN_FLIGHT = 32;

let dev: DevServer;
let nginx: NginxGrpcProxy;

beforeAll(async () => {
  dev = await startDevServer({ port: 0, shards: 2 });
  nginx = await startNginxGrpcProxy({ upstream: dev.addresses[0]!, keepaliveRequests: 25 });
});

afterAll(async () => {
  await closeAllHttp2Sessions();
  await nginx?.close();
  await dev?.close();
});

describe("through nginx as a gRPC proxy", () => {
  it("loses and duplicates no enqueue across GOAWAY every 25 requests and two reloads", { timeout: 60_000 }, async () => {
    // Topology from nginx too; the node it names is reached through nginx as well.
    const client = new SiloGRPCClient({ servers: nginx.address, useTls: false, addressMap: () => nginx.address });
    const acked: string[] = [];
    const failures: string[] = [];
    let next = 0;
    const reloadsAt = new Set([Math.floor(TOTAL / 3), Math.floor((2 * TOTAL) / 3)]);
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const n = next++;
        if (reloadsAt.has(n)) nginx.reload();
        try {
          const handle = await client.enqueue({ payload: { n }, taskGroup: "nginx-interop" });
          acked.push(handle.id);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(failures).toEqual([]);
    expect(acked).toHaveLength(TOTAL);
    expect(new Set(acked).size).toBe(TOTAL);
    expect(dev.jobCount()).toBe(TOTAL);
    for (const id of acked.slice(0, 50)) expect((await client.getJob(id)).id).toBe(id);
    // nginx really did close connections under us: at most 25 requests on each.
    const log = nginx.accessLog().map((line) => line.split(" ").map(Number) as [number, number, number]);
    const connections = new Set(log.map(([connection]) => connection));
    expect(Math.max(...log.map(([, requests]) => requests))).toBeLessThanOrEqual(25);
    expect(connections.size).toBeGreaterThanOrEqual(TOTAL / 25);
    expect(log.every(([, , status]) => status === 200)).toBe(true);
  });
});
