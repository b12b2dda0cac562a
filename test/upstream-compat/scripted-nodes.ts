// Stand-in Silo nodes for the few routing answers the dev server never gives on demand (a node
// that keeps saying "shard not found", or an INTERNAL error on Enqueue): real HTTP/2 servers on
// real sockets, speaking the real Silo service through Connect, each answering as a test scripts.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Silo } from "../../src/gen/silo/v1/silo_pb.js";

/** What one node answers; methods left out answer UNIMPLEMENTED. */
export type NodeScript = Partial<ServiceImpl<typeof Silo>>;

export interface ScriptedNodes {
  /** `127.0.0.1:<port>` of each node, by index. */
  readonly addresses: string[];
  /** RPCs received by method name (`Enqueue`, `GetClusterInfo`, ...), for one node or all. */
  calls(node?: number): Record<string, number>;
  close(): Promise<void>;
}

/** The one shard of a scripted cluster, covering the whole hash space. */
export const SHARD = "00000000-0000-4000-8000-000000000001";

/** A GetClusterInfo answer: the one shard, owned by `owner`. */
export function oneShardOwnedBy(owner: string) {
  return {
    numShards: 1,
    shardOwners: [{ shardId: SHARD, grpcAddr: owner, nodeId: `node-${owner}`, rangeStart: "", rangeEnd: "" }],
    thisNodeId: `node-${owner}`,
    thisGrpcAddr: owner,
  };
}

/** Resolves when the call is abandoned by its client, as a node that never answers. */
export function neverAnswer(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const give = (): void => reject(new Error("abandoned by the client"));
    if (signal.aborted) give();
    else signal.addEventListener("abort", give, { once: true });
  });
}

/** Starts `count` nodes; `scriptFor` learns every node's address before any request arrives. */
export async function startScriptedNodes(count: number, scriptFor: (node: number, addresses: readonly string[]) => NodeScript): Promise<ScriptedNodes> {
  const counts = Array.from({ length: count }, () => new Map<string, number>());
  const handlers: Array<(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void> = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const servers = Array.from({ length: count }, (_, i) => {
    const server = http2.createServer((req, res) => handlers[i]!(req, res));
    server.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    return server;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))));
  const addresses = servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`);
  servers.forEach((_, i) => {
    const counting: Interceptor = (next) => async (req) => {
      counts[i]!.set(req.method.name, (counts[i]!.get(req.method.name) ?? 0) + 1);
      return next(req);
    };
    const script = scriptFor(i, addresses);
    handlers[i] = connectNodeAdapter({ interceptors: [counting], routes: (router) => router.service(Silo, script) }) as (typeof handlers)[number];
  });
  return {
    addresses,
    calls(node) {
      const out: Record<string, number> = {};
      for (const [i, m] of counts.entries()) {
        if (node !== undefined && i !== node) continue;
        for (const [k, v] of m) out[k] = (out[k] ?? 0) + v;
      }
      return out;
    },
    async close() {
      for (const s of sessions) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
