// Express with siloMiddleware(): req.silo is the request's Silo scope, bound to the tenant named
// by the x-tenant-id header, so every job lands on that tenant's shard.
//
//   npx silo-edge dev --nodes 2 --shards 8 --tenancy          # in another terminal
//   SILO_SERVERS=127.0.0.1:7450,127.0.0.1:7451 SILO_USE_TLS=false \
//     node --conditions=silo-edge-source --import tsx examples/express/server.ts
import express, { type ErrorRequestHandler, type Express } from "express";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { JobNotFoundError, SiloError, SiloValidationError, type SiloGRPCClient } from "silo-edge";
import { fromHeader, siloMiddleware } from "silo-edge/express";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The Silo client. Default: built from `SILO_SERVERS`, `SILO_TOKEN`, `SILO_USE_TLS`, `SILO_PROTOCOL` when the app is created. */
  client?: SiloGRPCClient;
  /** Task group the jobs are enqueued in. Default `"orders"`. */
  taskGroup?: string;
}

/** The app: `POST /orders` enqueues the body as a job of the request's tenant, `GET /orders/:id` reads it back. */
export function createApp({ client, taskGroup = "orders" }: AppOptions = {}): Express {
  const app = express();
  app.use(express.json());
  // A request without x-tenant-id goes to next(err) with err.status 400 before any route runs.
  app.use("/orders", siloMiddleware({ ...(client ? { client } : {}), tenant: fromHeader("x-tenant-id"), required: true }));

  // Express 5 forwards a rejected promise from a route to the error handler.
  app.post("/orders", async (req, res) => {
    const handle = await req.silo.enqueue({ payload: req.body as unknown, taskGroup });
    res.status(202).json({ id: handle.id, tenant: handle.tenant });
  });

  app.get("/orders/:id", async (req, res) => {
    const job = await req.silo.getJob(req.params.id);
    res.json({ id: job.id, tenant: req.silo.tenant, status: job.status, result: job.result ?? null });
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    // err.status 400: a missing tenant (siloMiddleware) or a malformed body (express.json).
    const status = err instanceof JobNotFoundError ? 404 : err instanceof SiloValidationError || (err as { status?: unknown }).status === 400 ? 400 : 500;
    if (status === 500) console.error(err);
    const message = err instanceof Error ? err.message : String(err);
    res.status(status).json({
      error: message,
      ...(err instanceof SiloError ? { code: err.code } : {}),
      ...(err instanceof SiloValidationError ? { field: err.field } : {}),
    });
  };
  app.use(onError);
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
    const server = app.listen(port, hostname, (err?: Error) => {
      if (err) return reject(err);
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://${hostname}:${bound}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            // Keep-alive connections would hold close() open until they time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url, close } = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Express listening on ${url}: POST /orders, GET /orders/:id (header x-tenant-id)`);
  process.once("SIGINT", () => void close());
  process.once("SIGTERM", () => void close());
}
