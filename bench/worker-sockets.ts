// Workers speaking gRPC over connect(): the minimal enqueue Worker's size with the socket
// transport, and what one Worker request that enqueues once costs over a fresh socket (native
// gRPC, HTTP/2 h2c) next to gRPC-web over fetch, on loopback. Both Workers run in one miniflare
// each, against an in-process dev server behind a TCP proxy that counts connections.
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { startDevServer } from "../src/dev-server/index.js";
import { bundleWorker } from "../test/support/bundle-worker.js";
import { startTcpProxy } from "../test/support/tcp-proxy.js";
import type { BenchContext } from "./context.js";
import { fmt, fmtBytes, KB, median, type Table } from "./stats.js";

/** `SiloJobClient` from "silo-edge/workers-grpc" alone: gRPC only, no fetch channels. */
const GRPC_WORKER = fileURLToPath(new URL("../test/workerd/fixtures/enqueue-grpc-worker.ts", import.meta.url));
/** The same Worker with `SiloJobClient` from "silo-edge": gRPC-web over fetch. */
const GRPC_WEB_WORKER = fileURLToPath(new URL("../test/workerd/fixtures/enqueue-grpc-web-worker.ts", import.meta.url));
/** The same target as the gRPC-web Worker's (targets.ts checks it). */
const SIZE_TARGET_GZIP = 35 * KB;

export interface WorkerSocketsResult {
  grpcGzipBytes: number;
  tables: Table[];
}

interface PerRequest {
  ms: number[];
  connections: number;
  enqueues: number;
  requests: number;
}

export async function runWorkerSockets(ctx: BenchContext): Promise<WorkerSocketsResult> {
  const code = { grpc: await bundleWorker(GRPC_WORKER, { minify: true }), "grpc-web": await bundleWorker(GRPC_WEB_WORKER, { minify: true }) };
  const size = { min: Buffer.byteLength(code.grpc), gzip: gzipSync(code.grpc).length };
  const webSize = { min: Buffer.byteLength(code["grpc-web"]), gzip: gzipSync(code["grpc-web"]).length };

  const server = await startDevServer({ port: 0, nodes: 1, shards: 1 });
  const upstream = server.addresses[0]!;
  const proxy = await startTcpProxy(Number(upstream.split(":")[1]));
  const requests = ctx.smoke ? 3 : 40;
  const measured: Record<"grpc" | "grpc-web", PerRequest> = {
    grpc: { ms: [], connections: 0, enqueues: 0, requests },
    "grpc-web": { ms: [], connections: 0, enqueues: 0, requests },
  };
  try {
    for (const protocol of ["grpc", "grpc-web"] as const) {
      const mf = new Miniflare({
        modules: [{ type: "ESModule", path: "worker.mjs", contents: code[protocol] }],
        compatibilityDate: "2025-01-01",
        bindings: { SILO_SERVERS: proxy.address, SILO_ADVERTISED: upstream, SILO_PROTOCOL: protocol },
      });
      try {
        const once = async (): Promise<number> => {
          const t0 = performance.now();
          const res = await mf.dispatchFetch("http://worker/", { method: "POST", body: "{}" });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`${protocol} Worker answered ${res.status}: ${text}`);
          return performance.now() - t0;
        };
        await once(); // topology learned, module evaluated
        const m = measured[protocol];
        const c0 = proxy.accepted;
        server.resetRpcCounts();
        ctx.progress(`worker sockets: ${protocol}, ${requests} requests`);
        for (let i = 0; i < requests; i++) m.ms.push(await once());
        m.connections = proxy.accepted - c0;
        m.enqueues = server.rpcCounts().Enqueue ?? 0;
      } finally {
        await mf.dispose();
      }
    }
  } finally {
    await proxy.close();
    await server.close();
  }
  const row = (label: string, m: PerRequest): string[] => {
    const connsPerRequest = m.connections / m.requests;
    return [
      label,
      fmt(median(m.ms)),
      (m.enqueues / m.requests).toFixed(1),
      connsPerRequest.toFixed(2),
      // A new TCP connection is one round trip before the call's own.
      (1 + connsPerRequest).toFixed(1),
    ];
  };
  return {
    grpcGzipBytes: size.gzip,
    tables: [
      {
        title: "Worker over native gRPC (connect() from cloudflare:sockets)",
        head: ["Worker", "minified", "gzipped", "target"],
        rows: [
          [
            "minimal enqueue Worker, protocol \"grpc\" (test/workerd/fixtures/enqueue-grpc-worker.ts)",
            fmtBytes(size.min),
            fmtBytes(size.gzip),
            `≤ ${fmtBytes(SIZE_TARGET_GZIP)}: ${size.gzip <= SIZE_TARGET_GZIP ? "met" : "MISSED"}`,
          ],
          [
            "the same Worker over gRPC-web, its client from \"silo-edge\" (enqueue-grpc-web-worker.ts)",
            fmtBytes(webSize.min),
            fmtBytes(webSize.gzip),
            `≤ ${fmtBytes(SIZE_TARGET_GZIP)}: ${webSize.gzip <= SIZE_TARGET_GZIP ? "met" : "MISSED"}`,
          ],
        ],
        notes: [
          "Bundled like wrangler does (cloudflare:sockets left external), minified; gzip at zlib's default level.",
          "Both use SiloJobClient, the application side of SiloGRPCClient (enqueue and look after jobs). Imported from \"silo-edge/workers-grpc\" alone it speaks gRPC only and the bundle leaves the fetch channels out; the gRPC-web one carries no HTTP/2 client.",
        ],
      },
      {
        title: `One Worker request that enqueues once, on loopback (median of ${requests}, topology already known)`,
        head: ["transport", "ms per request", "Enqueue calls", "new connections", "round trips (TCP + call)"],
        rows: [row("gRPC over a fresh socket (h2c)", measured.grpc), row("gRPC-web over fetch", measured["grpc-web"])],
        notes: [
          "Time is miniflare's dispatchFetch to the Worker's response, so it includes miniflare's own hop; the difference between rows is the transport's.",
          "New connections per request are counted by a TCP proxy in front of the dev server. A socket from connect() belongs to its request, so each request opens one: one extra round trip (two with TLS 1.3, three with TLS 1.2) before the call's own; HTTP/2's preface and SETTINGS go out with the call, never waiting for the server's. workerd's fetch may keep connections between requests, so gRPC-web can pay less.",
        ],
      },
    ],
  };
}
