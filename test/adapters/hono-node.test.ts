import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { jwt, sign } from "hono/jwt";
import type { AddressInfo } from "node:net";
import { silo, type SiloVariables } from "../../src/adapters/hono/index.js";
import { describeAdapter, nodeClientFor, sendHttp, setSiloEnv, type AppSetup, type RunningApp } from "./harness.js";
import { ROUTES, runRoute, tenantResolverFor, type Scenario } from "./scenario.js";

const SECRET = "test-secret";

function buildApp(scenario: Scenario, options: Parameters<typeof silo>[0] = {}): Hono<{ Variables: SiloVariables }> {
  const app = new Hono<{ Variables: SiloVariables }>();
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.json({ error: err.message, name: err.name }, 500)));
  if (scenario.resolver === "jwtClaim") app.use(jwt({ secret: SECRET, alg: "HS256" }));
  const tenant = tenantResolverFor(scenario.resolver);
  const mw = silo({ ...options, ...(tenant ? { tenant } : {}), ...(scenario.required ? { required: true } : {}) });
  for (const r of ROUTES) {
    app.on(r.method, r.pattern, mw, async (c) => {
      const body: unknown = r.method === "POST" ? await c.req.json() : undefined;
      const res = await runRoute(c.var.silo, r.route, { body, id: c.req.param("id") });
      return c.json(res.body, res.status as 200);
    });
  }
  return app;
}

async function listen(app: Hono<{ Variables: SiloVariables }>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve({ server, port: info.port }));
  });
}

async function start(setup: AppSetup): Promise<RunningApp> {
  const { client, waitUntil, openGate, restoreEnv } = nodeClientFor(setup);
  const { server, port } = await listen(buildApp(setup.scenario, { ...(client ? { client } : {}), ...(waitUntil ? { waitUntil } : {}) }));
  return {
    async send(req) {
      const auth: Record<string, string> = req.claims ? { authorization: `Bearer ${await sign(req.claims, SECRET, "HS256")}` } : {};
      return sendHttp(port, req, auth);
    },
    openGate,
    async close() {
      restoreEnv();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describeAdapter({
  name: "Hono on Node (@hono/node-server)",
  supports: { routeParams: true, claims: true },
  answersBeforeBackgroundEnqueue: true,
  start,
  async configError(env) {
    // Bindings are known per request in Hono, so the error comes with the first request.
    const restore = setSiloEnv(env);
    try {
      const { server, port } = await listen(buildApp({ resolver: "header" }));
      const res = await sendHttp(port, { method: "GET", path: "/whoami" });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (res.status !== 500 || res.body.name !== "SiloConfigurationError") throw new Error(`expected a configuration error, got ${JSON.stringify(res)}`);
      return String(res.body.error);
    } finally {
      restore();
    }
  },
});
