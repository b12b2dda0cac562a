import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { startNginxTlsTerminator } from "../interop/nginx.js";
import { bundleWorker } from "../support/bundle-worker.js";
import { selfSignedCert } from "../support/self-signed-cert.js";

// Issue 14's second deployment: a Worker speaks gRPC over TLS (connect() with secureTransport
// "on") to a TCP-level TLS terminator, a real nginx `stream { ssl }`, in front of Silo's h2c port.
// connect() offers no ALPN, which such a terminator does not need; it announces "h2" to clients
// that ask (`ssl_alpn h2`), as Node's transport requires. workerd trusts the test's own certificate
// through the Worker's outbound network service.

describe("a Worker speaking gRPC over TLS through nginx's TCP TLS terminator", () => {
  let server: DevServer;
  let terminator: { address: string; close(): Promise<void> };
  let mf: Miniflare;
  let node: SiloGRPCClient;
  let ca = "";
  /** The Worker as miniflare runs it, pointed at the terminator; without the CA until a test adds it. */
  let workerOptions: { modules: true; script: string; compatibilityDate: string; bindings: Record<string, string> };
  const contentTypes = new Set<string>();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 1, shards: 2, tenancy: true, onRequest: ({ headers }) => void contentTypes.add(headers.get("content-type") ?? "") });
    const { cert, key } = selfSignedCert();
    ca = cert;
    terminator = await startNginxTlsTerminator({ upstream: server.addresses[0]!, cert, key, alpn: ["h2"] });
    workerOptions = {
      modules: true,
      script: await bundleWorker(new URL("./fixtures/grpc-socket-worker.ts", import.meta.url).pathname),
      compatibilityDate: "2025-01-01",
      bindings: { SILO_SERVERS: terminator.address, SILO_ADVERTISED: server.addresses[0]!, SILO_USE_TLS: "true" },
    };
    mf = new Miniflare({
      ...workerOptions,
      outboundService: { network: { allow: ["private", "public"], tlsOptions: { trustedCertificates: [cert] } } },
    });
    node = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    node?.close();
    await terminator?.close();
    await server?.close();
  });

  it("enqueues a job over gRPC through the terminator, which the Node client reads back", async () => {
    const res = await mf.dispatchFetch("http://worker/enqueue", {
      method: "POST",
      headers: { "x-tenant": "acme", "content-type": "application/json" },
      body: JSON.stringify({ order: 1 }),
    });
    const body = (await res.json()) as { id: string; protocol: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.protocol).toBe("grpc");
    expect(await node.getJobStatus(body.id, "acme")).toBe("Scheduled");
    expect([...contentTypes]).toEqual(["application/grpc+proto"]);
  });

  it("runs 20 concurrent enqueues of one request over the one TLS connection", async () => {
    const res = await mf.dispatchFetch("http://worker/concurrent?n=20", { method: "POST", headers: { "x-tenant": "globex" } });
    const body = (await res.json()) as { ids: string[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(new Set(body.ids).size).toBe(20);
    for (const id of body.ids) expect(await node.getJobStatus(id, "globex")).toBe("Scheduled");
  });

  it("goes through the Hono adapter over TLS too", async () => {
    const res = await mf.dispatchFetch("http://worker/hono/enqueue", {
      method: "POST",
      headers: { "x-tenant": "initech", "content-type": "application/json" },
      body: JSON.stringify({ n: 1 }),
    });
    const body = (await res.json()) as { id: string; tenant: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.tenant).toBe("initech");
    expect(await node.getJobStatus(body.id, "initech")).toBe("Scheduled");
  });

  it("serves the Node client through the same terminator, with the test's CA and ALPN h2", async () => {
    const viaTls = new SiloGRPCClient({ servers: [terminator.address], tls: { ca }, addressMap: { [server.addresses[0]!]: terminator.address } });
    try {
      const handle = await viaTls.enqueue({ tenant: "hooli", taskGroup: "edge", payload: { via: "node" } });
      expect(await node.getJobStatus(handle.id, "hooli")).toBe("Scheduled");
    } finally {
      viaTls.close();
    }
  });

  it("refuses a terminator whose certificate the Worker does not trust, with a typed error", async () => {
    const untrusting = new Miniflare(workerOptions);
    try {
      const res = await untrusting.dispatchFetch("http://worker/enqueue", { method: "POST", headers: { "x-tenant": "acme" }, body: "{}" });
      const body = (await res.json()) as { error: string; code: string; message: string };
      expect(res.status).toBe(500);
      expect(body.code, JSON.stringify(body)).toBe("SILO_UNAVAILABLE");
    } finally {
      await untrusting.dispose();
    }
  });
});
