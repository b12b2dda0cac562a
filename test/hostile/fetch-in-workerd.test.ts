import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Protocol } from "silo-edge";
import { bundleWorker } from "../support/bundle-worker.js";
import { okContentType, startFetchServer, writeForever, type FetchServer } from "./fetch-server.js";

/**
 * The hostile fetch-server cases again, with the client inside workerd (through miniflare):
 * workerd's fetch rejects `redirect: "error"` but must honour `"manual"`, and its body streams
 * must stop at the receive limit and at the deadline like Node's.
 */

interface Outcome {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  ms?: number;
}

describe.each<Protocol>(["grpc-web", "connect"])("a hostile %s server, called from workerd", (protocol) => {
  let mf: Miniflare | undefined;
  let server: FetchServer;
  let elsewhere: FetchServer;

  beforeAll(async () => {
    server = await startFetchServer(protocol, "127.0.0.1");
    elsewhere = await startFetchServer(protocol, "127.0.0.2");
    const script = await bundleWorker(new URL("./fixtures/hostile-call-worker.ts", import.meta.url).pathname);
    mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-01-01" });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    await server?.close();
    await elsewhere?.close();
  });

  async function call(query: Record<string, string> = {}): Promise<Outcome> {
    const params = new URLSearchParams({ server: server.address, protocol, ...query });
    const res = await (mf as Miniflare).dispatchFetch(`http://worker/?${params}`);
    return (await res.json()) as Outcome;
  }

  it.each([302, 307])("does not follow HTTP %i to another origin: a typed error, and that origin hears nothing", async (status) => {
    elsewhere.received.length = 0;
    server.script = (req, res) => {
      res.writeHead(status, { location: `http://${elsewhere.address}${req.url ?? "/"}` });
      res.end();
    };
    const outcome = await call();
    expect(outcome).toMatchObject({ ok: false, name: "SiloGrpcError", code: "SILO_GRPC_ERROR" });
    expect(outcome.message).toContain("does not follow");
    expect(elsewhere.received).toEqual([]);
  });

  it("stops reading an endless body at maxReceiveMessageBytes", async () => {
    server.script = async (_req, res) => {
      res.writeHead(200, { "content-type": okContentType(protocol) });
      await writeForever(res, new Uint8Array(64 * 1024));
    };
    const outcome = await call({ limit: String(1024 * 1024) });
    expect(outcome).toMatchObject({ ok: false, code: "SILO_RESOURCE_EXHAUSTED" });
    expect(outcome.message).toContain("maxReceiveMessageBytes (1048576 bytes)");
    expect(outcome.ms).toBeLessThanOrEqual(2_000 + 1_000);
  });

  it("fails a slow drip at its deadline", async () => {
    server.script = async (_req, res) => {
      res.writeHead(200, { "content-type": okContentType(protocol) });
      while (!res.destroyed) {
        res.write(new Uint8Array(1));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const outcome = await call({ timeoutMs: "1000" });
    expect(outcome).toMatchObject({ ok: false, code: "SILO_DEADLINE_EXCEEDED" });
    expect(outcome.ms).toBeLessThanOrEqual(1_000 + 1_000);
  });
});
