// silo-edge/fetch through the shared harness: a plain `(request) => Response` handler, served on a
// real listener by @hono/node-server (which hands it web Requests, as Next.js, Bun.serve and
// Deno.serve do).
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { withSilo, type SiloFetchOptions } from "../../src/adapters/fetch/index.js";
import { describeAdapter, nodeClientFor, sendHttp, setSiloEnv, type AppSetup, type RunningApp } from "./harness.js";
import { routeOf, runRoute, tenantResolverFor, type Scenario } from "./scenario.js";

function buildHandler(scenario: Scenario, options: SiloFetchOptions = {}): (request: Request) => Promise<Response> {
  const tenant = tenantResolverFor(scenario.resolver);
  const handler = withSilo(
    async (request, silo) => {
      const match = routeOf(request.method, new URL(request.url).pathname);
      if (match === undefined) return new Response("not found", { status: 404 });
      const body: unknown = request.method === "POST" ? await request.json() : undefined;
      const res = await runRoute(silo, match.route, { body, id: match.params.id ?? "" });
      return Response.json(res.body, { status: res.status });
    },
    { ...options, ...(tenant ? { tenant } : {}), ...(scenario.required ? { required: true } : {}) },
  );
  return async (request) => {
    try {
      return await handler(request);
    } catch (err) {
      // What a framework's own error page would do with errors that are not Silo's.
      return Response.json({ error: (err as Error).message, name: (err as Error).name }, { status: 500 });
    }
  };
}

async function listen(fetch: (request: Request) => Promise<Response>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve({ server, port: info.port }));
  });
}

async function start(setup: AppSetup): Promise<RunningApp> {
  const { client, waitUntil, openGate, restoreEnv } = nodeClientFor(setup);
  const { server, port } = await listen(buildHandler(setup.scenario, { ...(client ? { client } : {}), ...(waitUntil ? { waitUntil } : {}) }));
  return {
    send: (req) => sendHttp(port, req),
    openGate,
    async close() {
      restoreEnv();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describeAdapter({
  name: "fetch handler (silo-edge/fetch)",
  supports: { routeParams: false, claims: false },
  answersBeforeBackgroundEnqueue: true,
  start,
  async configError(env) {
    // process.env is read when withSilo() is called, so the error comes from there.
    const restore = setSiloEnv(env);
    try {
      buildHandler({ resolver: "header" });
      throw new Error("expected withSilo() to throw a configuration error");
    } catch (err) {
      if ((err as Error).name !== "SiloConfigurationError") throw err;
      return (err as Error).message;
    } finally {
      restore();
    }
  },
});
