// Hono on Node (@hono/node-server) with the silo() middleware: every request's jobs go to the
// shard of the tenant named by its x-tenant-id header.
//
//   npx silo-edge dev --nodes 2 --shards 8 --tenancy          # in another terminal
//   SILO_SERVERS=127.0.0.1:7450,127.0.0.1:7451 SILO_USE_TLS=false \
//     node --conditions=silo-edge-source --import tsx examples/hono-node/server.ts
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { JobNotFoundError, SiloError, type SiloGRPCClient } from "silo-edge";
import { fromHeader, silo, type SiloVariables } from "silo-edge/hono";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The Silo client. Default: built from `SILO_SERVERS`, `SILO_TOKEN`, `SILO_USE_TLS`, `SILO_PROTOCOL`. */
  client?: SiloGRPCClient;
  /** Task group the jobs are enqueued in. Default `"orders"`. */
  taskGroup?: string;
}

/** The app: `POST /orders` enqueues the body as a job of the request's tenant, `GET /orders/:id` reads it back. */
export function createApp({ client, taskGroup = "orders" }: AppOptions = {}): Hono<{ Variables: SiloVariables }> {
  const app = new Hono<{ Variables: SiloVariables }>();
  // A request without x-tenant-id is answered 400 before any handler runs.
  app.use("/orders/*", silo({ ...(client ? { client } : {}), tenant: fromHeader("x-tenant-id"), required: true }));

  app.post("/orders", async (c) => {
    let payload: unknown;
    try {
      payload = await c.req.json();
    } catch {
      return c.json({ error: "the body must be JSON" }, 400);
    }
    const handle = await c.var.silo.enqueue({ payload, taskGroup });
    return c.json({ id: handle.id, tenant: handle.tenant }, 202);
  });

  app.get("/orders/:id", async (c) => {
    const job = await c.var.silo.getJob(c.req.param("id"));
    return c.json({ id: job.id, tenant: c.var.silo.tenant, status: job.status, result: job.result ?? null });
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof JobNotFoundError) return c.json({ error: err.message, code: err.code }, 404);
    if (err instanceof SiloError && err.code === "SILO_VALIDATION") return c.json({ error: err.message, code: err.code }, 400);
    console.error(err);
    return c.json({ error: err.message }, 500);
  });
  return app;
}

/** A running server; see {@link start}. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops accepting connections and resolves when the server has closed. */
  close(): Promise<void>;
}

/** Serves {@link createApp} on `port` (0 picks a free one). */
export function start({ port = 3000, hostname = "127.0.0.1", ...options }: AppOptions & { port?: number; hostname?: string } = {}): Promise<RunningServer> {
  const app = createApp(options);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            // Keep-alive connections would hold close() open until they time out.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url, close } = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Hono on Node listening on ${url}: POST /orders, GET /orders/:id (header x-tenant-id)`);
  process.once("SIGINT", () => void close());
  process.once("SIGTERM", () => void close());
}
