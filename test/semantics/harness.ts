// Shared set-up for the contract-semantics tests: a dev server on a hand-moved clock with the
// reaper timer off (tests sweep with server.reap()), reached over gRPC and gRPC-web.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DevServer, DevServerOptions } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import type { LimitSchema, RetryPolicySchema, Task } from "../../src/gen/silo/v1/silo_pb.js";
import type { SiloClient, TransportCase } from "../dev-server/harness.js";
import { msgpack, uniqueGroup } from "../dev-server/harness.js";

export { expectError, msgpack, transports, uniqueGroup, unpack, shardForTenant } from "../dev-server/harness.js";
export type { SiloClient, TransportCase } from "../dev-server/harness.js";

export type LimitInit = MessageInitShape<typeof LimitSchema>;
export type RetryPolicyInit = MessageInitShape<typeof RetryPolicySchema>;

/** A clock the test moves by hand. */
export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

export function manualClock(startMs = 1_900_000_000_000): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

export interface SemanticsServer {
  readonly server: DevServer;
  readonly clock: ManualClock;
  readonly client: SiloClient;
  /** The first shard's id. */
  readonly shard: string;
}

/** Start a one-node dev server on a manual clock and a client for it. */
export async function startSemanticsServer(transport: TransportCase, options: DevServerOptions = {}): Promise<SemanticsServer> {
  const clock = manualClock();
  const server = await startDevServer({ port: 0, reaperIntervalMs: 0, clock: clock.now, ...options });
  const client = transport.client(server.addresses[0] as string);
  return { server, clock, client, shard: server.shards()[0]?.id as string };
}

export const concurrency = (key: string, maxConcurrency: number): LimitInit => ({
  limit: { case: "concurrency", value: { key, maxConcurrency } },
});

export const floating = (key: string, defaultMaxConcurrency: number, refreshIntervalMs: bigint, metadata: Record<string, string> = {}): LimitInit => ({
  limit: { case: "floatingConcurrency", value: { key, defaultMaxConcurrency, refreshIntervalMs, metadata } },
});

/** Helpers bound to one server: lease, report, read back. */
export function jobOps(s: SemanticsServer) {
  const { client, shard } = s;
  return {
    lease: async (taskGroup: string, maxTasks = 10, workerId = "w"): Promise<Task[]> =>
      (await client.leaseTasks({ workerId, maxTasks, taskGroup })).tasks,
    succeed: (taskId: string, value: unknown = null) =>
      client.reportOutcome({ shard, taskId, outcome: { case: "success", value: msgpack(value) } }),
    fail: (taskId: string, code = "BOOM", data: unknown = "bad") =>
      client.reportOutcome({ shard, taskId, outcome: { case: "failure", value: { code, data: msgpack(data) } } }),
    cancelled: (taskId: string) => client.reportOutcome({ shard, taskId, outcome: { case: "cancelled", value: {} } }),
    job: (id: string) => client.getJob({ shard, id, includeAttempts: true }),
    enqueue: async (taskGroup: string, init: Record<string, unknown> = {}): Promise<string> =>
      (await client.enqueue({ shard, taskGroup, payload: msgpack({}), ...init })).id,
    group: (prefix = "g") => uniqueGroup(prefix),
  };
}
