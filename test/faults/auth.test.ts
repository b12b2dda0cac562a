import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { SiloUnauthenticatedError } from "silo-edge";
import { clientFor, createdSince, protocols, useFreshTopology } from "./harness.js";

const TOKEN = "fault-suite-secret-7f3a";

describe.each(protocols)("token functions over %s", (protocol) => {
  let server: DevServer;
  useFreshTopology();

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 4, token: TOKEN });
  });
  afterAll(() => server.close());

  it("calls a rotating token function before every RPC and sends what it returns", async () => {
    let calls = 0;
    // A rotation source that re-reads its secret each time, sometimes slowly, as from a secret store.
    const token = async (): Promise<string> => {
      calls++;
      if (calls % 3 === 0) await new Promise((r) => setTimeout(r, 5));
      return `${TOKEN}`;
    };
    const client = clientFor(server, protocol, { token });
    server.resetRpcCounts();
    const handles = [];
    for (let i = 0; i < 5; i++) handles.push(await client.enqueue({ payload: i, taskGroup: "g" }));
    for (const h of handles) expect(await h.getStatus()).toBe("Scheduled");
    const rpcs = Object.values(server.rpcCounts()).reduce((a, b) => a + b, 0);
    // One GetClusterInfo, five Enqueue, five GetJob: the function ran for each of them.
    expect(rpcs).toBe(11);
    expect(calls).toBe(rpcs);
  });

  it("picks up a rotated token on the next call", async () => {
    let current = "stale-token-0000";
    const client = clientFor(server, protocol, { token: () => current });
    const err = await client.enqueue({ payload: 1, taskGroup: "g" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloUnauthenticatedError);
    expect((err as Error).message).not.toContain("stale-token-0000");
    current = TOKEN;
    const handle = await client.enqueue({ payload: 2, taskGroup: "g" });
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("raises SiloUnauthenticatedError when the token function throws, and calls nothing", async () => {
    const before = new Set(server.jobIds());
    server.resetRpcCounts();
    const client = clientFor(server, protocol, {
      token: () => {
        throw new Error("secret store unreachable");
      },
    });
    const err = await client.enqueue({ payload: 1, taskGroup: "g" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloUnauthenticatedError);
    expect((err as SiloUnauthenticatedError).code).toBe("SILO_UNAUTHENTICATED");
    expect((err as Error).message).toContain("secret store unreachable");
    expect(server.rpcCounts()).toEqual({});
    expect(createdSince(server, before)).toEqual([]);
  });

  it("raises SiloUnauthenticatedError when the async token function rejects or returns nothing", async () => {
    for (const token of [
      () => Promise.reject(new Error("kms timeout")),
      () => Promise.reject("a bare string"),
      () => "" as string,
      () => undefined as unknown as string,
      () => Promise.resolve(42 as unknown as string),
    ]) {
      const client = clientFor(server, protocol, { token });
      await expect(client.getJob("x")).rejects.toBeInstanceOf(SiloUnauthenticatedError);
      await expect(client.enqueue({ payload: 1, taskGroup: "g" })).rejects.toBeInstanceOf(SiloUnauthenticatedError);
    }
  });

  it("keeps working after a token function failed once", async () => {
    let fail = true;
    const client = clientFor(server, protocol, {
      token: () => {
        if (fail) throw new Error("cold secret cache");
        return TOKEN;
      },
    });
    await expect(client.enqueue({ payload: 1, taskGroup: "g" })).rejects.toBeInstanceOf(SiloUnauthenticatedError);
    fail = false;
    const handle = await client.enqueue({ payload: 1, taskGroup: "g" });
    expect(await handle.getStatus()).toBe("Scheduled");
  });

  it("never shows the token in errors from the server, String(), JSON or inspect", async () => {
    const wrong = "wrong-secret-b1c2d3";
    const client = clientFor(server, protocol, { token: wrong });
    const err = (await client.enqueue({ payload: 1, taskGroup: "g" }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SiloUnauthenticatedError);
    for (const text of [err.message, String(err), err.stack ?? "", inspect(err, { depth: 10 }), String(client), JSON.stringify(client), inspect(client, { depth: 10, showHidden: true })]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(TOKEN);
    }
  });
});
