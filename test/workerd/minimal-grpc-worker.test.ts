import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { bundleWorker } from "../support/bundle-worker.js";

// The minimal enqueue Worker over native gRPC, whose size bench/worker-sockets.ts measures: a
// SiloJobClient imported from "silo-edge/workers-grpc" and nothing else of the package.

describe("a Worker whose client comes from silo-edge/workers-grpc alone", () => {
  let server: DevServer;
  let mf: Miniflare;
  let script: string;
  let node: SiloGRPCClient;

  const enqueue = async (worker: string, tenant: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const fetcher = (await mf.getWorker(worker)) as unknown as { fetch(url: string, init: RequestInit): Promise<Response> };
    const res = await fetcher.fetch("http://worker/", { method: "POST", headers: { "x-tenant": tenant }, body: JSON.stringify({ tenant }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
    script = await bundleWorker(new URL("./fixtures/enqueue-grpc-worker.ts", import.meta.url).pathname);
    const worker = (name: string, bindings: Record<string, string>) => ({ name, modules: true, script, compatibilityDate: "2025-01-01", bindings });
    mf = new Miniflare({
      workers: [
        worker("grpc", { SILO_SERVERS: server.addresses.join(",") }),
        worker("grpc-web", { SILO_SERVERS: server.addresses.join(","), SILO_PROTOCOL: "grpc-web" }),
      ],
    });
    node = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    node?.close();
    await server?.close();
  });

  it("enqueues over gRPC on connect(), routed to each tenant's shard, and the Node client reads the jobs back", async () => {
    for (const tenant of ["acme", "globex", "initech"]) {
      const { status, body } = await enqueue("grpc", tenant);
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.protocol).toBe("grpc");
      expect(await node.getJobStatus(body.id as string, tenant)).toBe("Scheduled");
    }
  });

  it("carries no fetch channel in its bundle", () => {
    expect(script).toMatch(/from\s*["']cloudflare:sockets["']/);
    expect(script).not.toContain("application/grpc-web");
    expect(script).not.toContain("connect-protocol-version");
  });

  it("refuses gRPC-web before any call, with a SiloValidationError that names protocol and what to import", async () => {
    server.resetRpcCounts();
    const { status, body } = await enqueue("grpc-web", "acme");
    expect(status).toBe(500);
    expect(body).toMatchObject({ error: "SiloValidationError", field: "protocol" });
    expect(body.message).toContain('import the client from "silo-edge"');
    expect(server.rpcCounts()).toEqual({});
  });
});
