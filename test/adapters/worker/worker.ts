// A Cloudflare Worker serving the harness app with `silo-edge/hono`. The test bundles it with
// esbuild and runs it in workerd through miniflare. Each request names its setup in a header, so
// one Worker serves every scenario.
import { Hono, type ExecutionContext } from "hono";
import { HTTPException } from "hono/http-exception";
import { jwt } from "hono/jwt";
import { silo, type SiloHonoOptions, type SiloVariables } from "silo-edge/hono";
import { SiloGRPCClient } from "silo-edge";
import { ROUTES, runRoute, tenantResolverFor, type Scenario } from "../scenario.js";

// Only handlers may be exported from a Worker module; the test signs tokens with the same secret.
const JWT_SECRET = "worker-test-secret";

interface Bindings {
  SILO_SERVERS?: string;
  SILO_USE_TLS?: string;
}

interface Setup {
  scenario: Scenario;
  client: "plain" | "gated" | "env";
}

// A flag, not a promise: workerd refuses I/O continued from a promise another request resolved.
let gateOpen = false;
async function gate(): Promise<void> {
  while (!gateOpen) await new Promise((resolve) => setTimeout(resolve, 5));
}

function buildApp(setup: Setup, env: Bindings): Hono<{ Bindings: Bindings; Variables: SiloVariables }> {
  const app = new Hono<{ Bindings: Bindings; Variables: SiloVariables }>();
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.json({ error: err.message, name: err.name }, 500)));
  if (setup.scenario.resolver === "jwtClaim") app.use(jwt({ secret: JWT_SECRET, alg: "HS256" }));
  const options: SiloHonoOptions = {};
  const tenant = tenantResolverFor(setup.scenario.resolver);
  if (tenant) options.tenant = tenant;
  if (setup.scenario.required) options.required = true;
  if (setup.client !== "env") {
    const servers = (env.SILO_SERVERS ?? "").split(",");
    options.client = new SiloGRPCClient({
      servers,
      useTls: false,
      ...(setup.client === "gated"
        ? {
            fetch: async (input: Request | string | URL, init?: RequestInit) => {
              if (String(input instanceof Request ? input.url : input).endsWith("/Enqueue")) await gate();
              return fetch(input, init);
            },
          }
        : {}),
    });
  }
  const mw = silo(options);
  for (const r of ROUTES) {
    app.on(r.method, r.pattern, mw, async (c) => {
      const body: unknown = r.method === "POST" ? await c.req.json() : undefined;
      const res = await runRoute(c.var.silo, r.route, { body, id: c.req.param("id") });
      return c.json(res.body, res.status as 200);
    });
  }
  return app;
}

const apps = new Map<string, Hono<{ Bindings: Bindings; Variables: SiloVariables }>>();

export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
    if (new URL(request.url).pathname === "/__harness/open-gate") {
      gateOpen = true;
      return new Response("open");
    }
    const key = request.headers.get("x-harness-setup") ?? JSON.stringify({ scenario: { resolver: "header" }, client: "env" });
    let app = apps.get(key);
    if (!app) {
      app = buildApp(JSON.parse(key) as Setup, env);
      apps.set(key, app);
    }
    return app.fetch(request, env, ctx);
  },
};
