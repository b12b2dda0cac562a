import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { bundleWorker } from "../support/bundle-worker.js";
import { startSiloTestServer } from "./silo-test-server.js";
import type { SiloTestServer } from "./silo-test-server.js";

describe("createGrpcWebFetchTransport inside workerd", () => {
  let server: SiloTestServer;
  let mf: Miniflare | undefined;
  let script: string;

  beforeAll(async () => {
    server = await startSiloTestServer({ protocol: "http1" });
    script = await bundleWorker(new URL("./fixtures/grpc-web-worker.ts", import.meta.url).pathname);
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2025-01-01",
      bindings: { SILO_URL: server.baseUrl },
    });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    await server?.close();
  });

  it("bundles without any node: import", () => {
    expect(script).not.toMatch(/from\s*["']node:/);
    expect(script).not.toMatch(/require\(["']node:/);
  });

  it("makes calls, reads error metadata and enforces deadlines with workerd's fetch", async () => {
    const res = await (mf as Miniflare).dispatchFetch("http://worker/");
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toEqual({
      id: "from-workerd",
      notFound: { code: Code.NotFound, owner: "x:1" },
      deadline: { code: Code.DeadlineExceeded, owner: null },
    });
  });
});
