import express5 from "express";
import type { ErrorRequestHandler, NextFunction, Request, Response } from "express";
import express4 from "express4";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { siloMiddleware, type SiloExpressOptions } from "../../src/adapters/express/index.js";
import { describeAdapter, nodeClientFor, sendHttp, setSiloEnv, type AdapterDriver, type AppSetup, type RunningApp } from "./harness.js";
import { ROUTES, runRoute, tenantResolverFor, type Scenario } from "./scenario.js";

type ExpressFactory = typeof express5;

function buildApp(express: ExpressFactory, scenario: Scenario, options: SiloExpressOptions): express5.Express {
  const app = express();
  app.use(express.json());
  if (scenario.resolver === "jwtClaim") {
    // Stands in for express-jwt, which verifies the token and puts its payload on req.auth.
    app.use((req: Request, _res: Response, next: NextFunction) => {
      const claims = req.get("x-test-verified-claims");
      if (claims) Object.assign(req, { auth: JSON.parse(claims) as unknown });
      next();
    });
  }
  const tenant = tenantResolverFor(scenario.resolver);
  const mw = siloMiddleware({ ...options, ...(tenant ? { tenant } : {}), ...(scenario.required ? { required: true } : {}) });
  for (const r of ROUTES) {
    const handler = (req: Request, res: Response, next: NextFunction): void => {
      // Express 4 does not catch rejected promises, so hand failures to next() ourselves.
      runRoute(req.silo, r.route, { body: req.body as unknown, id: String(req.params.id) }).then((out) => res.status(out.status).json(out.body), next);
    };
    if (r.method === "GET") app.get(r.pattern, mw, handler);
    else app.post(r.pattern, mw, handler);
  }
  const onError: ErrorRequestHandler = (err: { status?: number; message?: string; name?: string }, _req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.message, name: err.name });
  };
  app.use(onError);
  return app;
}

function driver(name: string, express: ExpressFactory): AdapterDriver {
  return {
    name,
    supports: { routeParams: true, claims: true },
    answersBeforeBackgroundEnqueue: true,
    async start(setup: AppSetup): Promise<RunningApp> {
      const { client, waitUntil, openGate, restoreEnv } = nodeClientFor(setup);
      const app = buildApp(express, setup.scenario, { ...(client ? { client } : {}), ...(waitUntil ? { waitUntil } : {}) });
      const server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      return {
        send: (req) => sendHttp(port, req, req.claims ? { "x-test-verified-claims": JSON.stringify(req.claims) } : {}),
        openGate,
        async close() {
          restoreEnv();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    },
    async configError(env) {
      const restore = setSiloEnv(env);
      try {
        buildApp(express, { resolver: "header" }, {});
      } catch (err) {
        return (err as Error).message;
      } finally {
        restore();
      }
      throw new Error("siloMiddleware() did not report the configuration");
    },
  };
}

describeAdapter(driver("Express 5 over a real HTTP listener", express5));
describeAdapter(driver("Express 4 over a real HTTP listener", express4 as unknown as ExpressFactory));
