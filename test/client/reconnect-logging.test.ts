// The Node connection pool tells the client's logger about its reconnects: the connection lost,
// each failed attempt with the backoff before the next (100 ms x1.6, as gRPC's connection
// backoff, src/node/http2-session-pool.ts), and the reconnect that worked. Real sockets: the dev
// server's node is stopped and started again on the same port.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { recordingLogger } from "../support/recording-logger.js";
import { SiloGRPCClient } from "../../src/index.js";
import { closeAllHttp2Sessions } from "../../src/node/http2-session-pool.js";


const TOKEN = "reconnect-token-never-logged";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("reconnects of the Node connection pool in the client's logger", () => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, token: TOKEN });
  });

  afterAll(async () => {
    await server.close();
    await closeAllHttp2Sessions();
  });

  it("logs the lost connection, every failed attempt with its backoff and error code, and the reconnect, never the token", async () => {
    const { logger, entries } = recordingLogger();
    const client = new SiloGRPCClient({ servers: server.addresses, token: TOKEN, logger, timeoutMs: 20_000 });
    await client.enqueue({ payload: 1, taskGroup: "reconnects" });
    const address = `http://${server.addresses[0]}`;
    expect(entries.filter((e) => e.message.includes("reconnect") || e.message.includes("connection"))).toEqual([]);

    await server.stopNode(0);
    // While the node is down the enqueue's retries make connection attempts, each refused; the
    // node comes back after several backoffs and the same enqueue goes through.
    const enqueued = client.enqueue({ payload: 2, taskGroup: "reconnects" });
    await sleep(700);
    await server.startNode(0);
    expect((await enqueued).id).toBeTruthy();

    const lost = entries.find((e) => e.message === "silo-edge: connection to the server lost; the next call reconnects");
    expect(lost).toMatchObject({ level: "info", fields: { address, code: expect.any(String) } });

    const failed = entries.filter((e) => e.message === "silo-edge: connection attempt failed, backing off before the next");
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.every((e) => e.level === "warn" && e.fields.address === address && e.fields.code === "ECONNREFUSED")).toBe(true);
    expect(failed.map((e) => e.fields.attempt)).toEqual(failed.map((_, i) => i + 1));
    // 100 ms, then 1.6 times longer each time, each jittered by ±20 %.
    failed.forEach((e, i) => {
      const nominal = Math.min(5_000, 100 * 1.6 ** i);
      expect(e.fields.delayMs).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
      expect(e.fields.delayMs).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
    });

    const attempts = entries.filter((e) => e.message === "silo-edge: reconnecting");
    expect(attempts.every((e) => e.level === "debug" && e.fields.address === address)).toBe(true);
    expect(attempts.map((e) => e.fields.attempt)).toEqual(attempts.map((_, i) => i + 1));

    const reconnected = entries.filter((e) => e.message === "silo-edge: reconnected");
    expect(reconnected).toEqual([{ level: "info", fields: { address, attempt: failed.length + 1 }, message: "silo-edge: reconnected" }]);
    expect(attempts.length).toBe(failed.length + 1);

    // In order: lost, then attempts and failures alternating, then reconnected.
    const order = entries.filter((e) => [lost, ...failed, ...attempts, ...reconnected].includes(e)).map((e) => e.message);
    expect(order[0]).toBe(lost?.message);
    expect(order.at(-1)).toBe("silo-edge: reconnected");

    expect(JSON.stringify(entries)).not.toContain(TOKEN);
  });

  it("logs nothing about connections the pool closes itself", async () => {
    const { logger, entries } = recordingLogger();
    const client = new SiloGRPCClient({ servers: server.addresses, token: TOKEN, logger });
    await client.enqueue({ payload: 3, taskGroup: "reconnects" });
    await closeAllHttp2Sessions();
    await client.enqueue({ payload: 4, taskGroup: "reconnects" });
    expect(entries.filter((e) => /connection|reconnect/.test(e.message))).toEqual([]);
  });
});
