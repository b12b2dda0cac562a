// Fastify with siloPlugin: request.silo is the request's Silo scope, bound to the tenant named
// by the x-tenant-id header, so every job lands on that tenant's shard.
//
//   npx silo-edge dev --nodes 2 --shards 8 --tenancy          # in another terminal
//   SILO_SERVERS=127.0.0.1:7450,127.0.0.1:7451 SILO_USE_TLS=false \
//     node --conditions=silo-edge-source --import tsx examples/fastify/server.ts
import Fastify, { type FastifyInstance } from "fastify";
import { pathToFileURL } from "node:url";
import { JobNotFoundError, type SiloGRPCClient } from "silo-edge";
import { fromHeader, siloErrorHandler, siloPlugin } from "silo-edge/fastify";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The Silo client. Default: built from `SILO_SERVERS`, `SILO_TOKEN`, `SILO_USE_TLS`, `SILO_PROTOCOL` when the app is created. */
  client?: SiloGRPCClient;
  /** Task group the jobs are enqueued in. Default `"orders"`. */
  taskGroup?: string;
}

/** The app: `POST /orders` enqueues the body as a job of the request's tenant, `GET /orders/:id` reads it back. */
export async function createApp({ client, taskGroup = "orders" }: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify();
  // SiloErrors from the routes answer from the shared table (503 with Retry-After when Silo is
  // unreachable, ...), here with 404 for a job the tenant does not have; other errors, such as a
  // body that is not JSON (400), keep Fastify's answer.
  app.setErrorHandler(siloErrorHandler({ errorResponse: ({ error, response }) => (error instanceof JobNotFoundError ? { ...response, status: 404 } : undefined) }));

  await app.register(async (orders) => {
    // A request without x-tenant-id is answered 400 before the route runs.
    await orders.register(siloPlugin, { ...(client ? { client } : {}), tenant: fromHeader("x-tenant-id"), required: true });

    orders.post("/orders", async (request, reply) => {
      const handle = await request.silo.enqueue({ payload: request.body, taskGroup });
      return reply.code(202).send({ id: handle.id, tenant: handle.tenant });
    });

    orders.get<{ Params: { id: string } }>("/orders/:id", async (request) => {
      const job = await request.silo.getJob(request.params.id);
      return { id: job.id, tenant: request.silo.tenant, status: job.status, result: job.result ?? null };
    });
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
export async function start({ port = 3000, hostname = "127.0.0.1", ...options }: AppOptions & { port?: number; hostname?: string } = {}): Promise<RunningServer> {
  const app = await createApp(options);
  await app.listen({ port, host: hostname });
  const address = app.server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  return { url: `http://${hostname}:${bound}`, close: () => app.close() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url, close } = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Fastify listening on ${url}: POST /orders, GET /orders/:id (header x-tenant-id)`);
  process.once("SIGINT", () => void close());
  process.once("SIGTERM", () => void close());
}
