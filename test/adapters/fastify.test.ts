import Fastify, { type FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { siloPlugin, type SiloFastifyOptions } from "../../src/adapters/fastify/index.js";
import { describeAdapter, nodeClientFor, sendHttp, setSiloEnv, type AdapterDriver, type AppSetup, type RunningApp } from "./harness.js";
import { ROUTES, runRoute, tenantResolverFor, type Scenario } from "./scenario.js";

async function buildApp(scenario: Scenario, options: SiloFastifyOptions): Promise<FastifyInstance> {
  const app = Fastify();
  if (scenario.resolver === "jwtClaim") {
    // Stands in for @fastify/jwt, which verifies the token and puts its payload on request.user.
    app.decorateRequest("user", null);
    app.addHook("onRequest", async (request) => {
      const claims = request.headers["x-test-verified-claims"];
      if (typeof claims === "string") Object.assign(request, { user: JSON.parse(claims) as unknown });
    });
  }
  const tenant = tenantResolverFor(scenario.resolver);
  await app.register(siloPlugin, { ...options, ...(tenant ? { tenant } : {}), ...(scenario.required ? { required: true } : {}) });
  for (const r of ROUTES) {
    app.route({
      method: r.method,
      url: r.pattern,
      handler: async (request, reply) => {
        const out = await runRoute(request.silo, r.route, { body: request.body, id: String((request.params as { id?: string }).id) });
        return reply.code(out.status).send(out.body);
      },
    });
  }
  return app;
}

const driver: AdapterDriver = {
  name: "Fastify 5 over a real HTTP listener",
  supports: { routeParams: true, claims: true },
  answersBeforeBackgroundEnqueue: true,
  async start(setup: AppSetup): Promise<RunningApp> {
    const { client, waitUntil, openGate, restoreEnv } = nodeClientFor(setup);
    const app = await buildApp(setup.scenario, { ...(client ? { client } : {}), ...(waitUntil ? { waitUntil } : {}) });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    return {
      send: (req) => sendHttp(port, req, req.claims ? { "x-test-verified-claims": JSON.stringify(req.claims) } : {}),
      openGate,
      async close() {
        restoreEnv();
        await app.close();
      },
    };
  },
  async configError(env) {
    const restore = setSiloEnv(env);
    try {
      await buildApp({ resolver: "header" }, {});
    } catch (err) {
      return (err as Error).message;
    } finally {
      restore();
    }
    throw new Error("registering siloPlugin did not report the configuration");
  },
};

describeAdapter(driver);
