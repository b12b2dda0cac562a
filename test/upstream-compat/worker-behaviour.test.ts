// The behaviour upstream's typescript_client/test/worker.test.ts checks by reaching into
// `_activeExecutions` (to let a duplicate delivery through), checked here through the public API
// against the dev server. A server never delivers a running task twice on its own, so the client's
// fetch replays one LeaseTasks answer, as a proxy that retries a response would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { DuplicateTaskDeliveryError, SiloGRPCClient, SiloWorker } from "silo-edge";
import { decodeLeaseTasksResponse } from "../../src/core/wire/worker-messages.js";
import { deferred, sleep, uniqueGroup, waitFor, waitForStatus } from "./worker-harness.js";

const UPSTREAM = "typescript_client/test/worker.test.ts";

/** A client that answers the LeaseTasks call after the first one holding tasks with that same answer again. */
function replayingClient(servers: string[]): SiloGRPCClient {
  let saved: { body: Uint8Array; headers: Headers } | undefined;
  let replayed = false;
  return new SiloGRPCClient({
    servers,
    useTls: false,
    protocol: "connect",
    fetch: async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!url.endsWith("/LeaseTasks")) return fetch(input, init);
      if (saved && !replayed) {
        replayed = true;
        return new Response(saved.body.slice(), { status: 200, headers: saved.headers });
      }
      const res = await fetch(input, init);
      const body = new Uint8Array(await res.arrayBuffer());
      if (!saved && res.status === 200 && decodeLeaseTasksResponse(body).tasks.length > 0) saved = { body, headers: new Headers(res.headers) };
      return new Response(body.slice(), { status: res.status, headers: res.headers });
    },
  });
}

describe(`SiloWorker heartbeats (${UPSTREAM} › SiloWorker › heartbeats)`, () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
  });
  afterAll(() => server.close());

  it("sends no heartbeat once a task delivered twice while running has finished (ports 'stops all heartbeats when two intervals for one task id are concurrently live')", async () => {
    const client = replayingClient(server.addresses);
    const taskGroup = uniqueGroup("hb-dup");
    const release = deferred();
    const errors: Error[] = [];
    const worker = new SiloWorker({
      client,
      workerId: "hb-dup",
      taskGroup,
      pollIntervalMs: 10,
      heartbeatIntervalMs: 30,
      onError: (error) => errors.push(error),
      handler: async () => {
        await release.promise;
        return { type: "success", result: null };
      },
    });
    server.resetRpcCounts();
    worker.start();
    try {
      const handle = await client.enqueue({ taskGroup, payload: {} });
      // The second delivery arrived while the first ran, and the task was being heartbeated.
      await waitFor(() => errors.some((e) => e instanceof DuplicateTaskDeliveryError), "the duplicate delivery");
      await waitFor(() => (server.rpcCounts().Heartbeat ?? 0) >= 2, "heartbeats of the running task");
      release.resolve();
      await waitForStatus(client, handle.id, "Succeeded");
      const afterSettle = server.rpcCounts().Heartbeat;
      // Several heartbeat intervals later, nothing is still renewing the finished task.
      await sleep(200);
      expect(server.rpcCounts().Heartbeat).toBe(afterSettle);
      expect(errors.filter((e) => !(e instanceof DuplicateTaskDeliveryError))).toEqual([]);
    } finally {
      await worker.stop();
      client.close();
    }
  });
});
