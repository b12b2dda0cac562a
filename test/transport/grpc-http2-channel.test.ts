// The raw gRPC channel under the client's SiloRpc: deadlines of concurrent calls (one shared
// timer), and headers given as a plain record.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcHttp2Channel } from "../../src/node/grpc-http2-channel.js";
import { createSiloRpc } from "../../src/core/silo-rpc.js";
import { decodeEnqueueResponse, encodeEnqueueRequest } from "../../src/core/wire/job-messages.js";
import { startSiloTestServer } from "./silo-test-server.js";
import type { SiloTestServer } from "./silo-test-server.js";

let server: SiloTestServer;
beforeAll(async () => {
  server = await startSiloTestServer({ protocol: "h2c" });
});
afterAll(() => server.close());

describe("the gRPC HTTP/2 channel", () => {
  it("fails each of several concurrent calls at its own deadline, earliest first, and lets fast calls finish", async () => {
    const rpc = createSiloRpc(createGrpcHttp2Channel({ baseUrl: server.baseUrl }));
    // Connect first, so the deadlines below time the calls, not the session set-up.
    await rpc.deleteJob({ id: "fast" }, { timeoutMs: 5000 });
    const t0 = Date.now();
    const settled: { ms: number; at: number; code: Code | "ok" }[] = [];
    const track = (ms: number, p: Promise<unknown>) =>
      p.then(
        () => settled.push({ ms, at: Date.now() - t0, code: "ok" }),
        (e: unknown) => settled.push({ ms, at: Date.now() - t0, code: (e as ConnectError).code }),
      );
    await Promise.all([
      track(300, rpc.deleteJob({ id: "sleep:2000" }, { timeoutMs: 300 })),
      track(60, rpc.deleteJob({ id: "sleep:2000" }, { timeoutMs: 60 })),
      track(150, rpc.deleteJob({ id: "sleep:2000" }, { timeoutMs: 150 })),
      track(5000, rpc.deleteJob({ id: "fast" }, { timeoutMs: 5000 })),
    ]);
    // Deadlines fire earliest first; the fast call's place among them depends on machine load.
    expect(settled.map((s) => s.ms).filter((ms) => ms !== 5000)).toEqual([60, 150, 300]);
    expect(settled.find((s) => s.ms === 5000)!.code).toBe("ok");
    for (const s of settled.filter((s) => s.ms !== 5000)) {
      expect(s.code).toBe(Code.DeadlineExceeded);
      expect(s.at).toBeGreaterThanOrEqual(s.ms - 5);
      expect(s.at).toBeLessThan(s.ms + 1000);
    }
  });

  it("sends a plain record of headers as request metadata, lower-cased, and exposes the response headers", async () => {
    const channel = createGrpcHttp2Channel({ baseUrl: server.baseUrl });
    const res = await channel.unaryBytes("/silo.v1.Silo/Enqueue", encodeEnqueueRequest({ id: "x", taskGroup: "g" }), {
      headers: { "X-Test-Echo": "yes", "content-type": "text/plain" },
    });
    expect(res.header.get("x-test-echo")).toBe("yes");
    expect(decodeEnqueueResponse(res.bytes).id).toBe("x");
  });
});
