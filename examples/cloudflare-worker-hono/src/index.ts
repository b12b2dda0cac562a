// A Cloudflare Worker: a Hono app that enqueues jobs for the tenant of each request over gRPC
// straight to Silo (HTTP/2 on a TCP socket from connect(), no proxy), and a Cron Trigger that
// drains the task group. Configuration comes from the bindings in wrangler.toml ([vars]) and
// secrets (SILO_TOKEN).
// This import adds the "grpc" protocol to Workers; without it, and with SILO_PROTOCOL
// "grpc-web", the same code goes through a gRPC-web front such as Envoy.
import "silo-edge/workers-grpc";
import { Hono, type ExecutionContext } from "hono";
import { HTTPException } from "hono/http-exception";
import { clientFromEnv, JobNotFoundError, SiloError } from "silo-edge";
import { fromHeader, silo, type SiloVariables } from "silo-edge/hono";
import { drainTasks, type DrainResult, type TaskHandler } from "silo-edge/worker";

/** The Worker's bindings (a type alias, so it is assignable to a plain record of bindings). */
export type Env = {
  /** Comma-separated `host:port` of the Silo servers (reachable from Workers: see README). */
  SILO_SERVERS: string;
  /** Bearer token; set it with `wrangler secret put SILO_TOKEN`. */
  SILO_TOKEN?: string;
  /** `"false"` for the local dev server; TLS otherwise. */
  SILO_USE_TLS?: string;
  /** `"grpc"` here (the workers-grpc import above); `"grpc-web"` through a gRPC-web front. */
  SILO_PROTOCOL?: string;
  /** Task group the orders are enqueued in and drained from. */
  TASK_GROUP?: string;
  /** Time one scheduled drain may take, ms. */
  DRAIN_BUDGET_MS?: string;
};

/** What a Cron Trigger passes to `scheduled()` (`ScheduledController` in @cloudflare/workers-types). */
export interface ScheduledController {
  readonly cron: string;
  readonly scheduledTime: number;
  noRetry(): void;
}

const app = new Hono<{ Bindings: Env; Variables: SiloVariables }>();

// No client option: silo() builds one from c.env's SILO_* bindings, once per isolate and settings.
// A request without x-tenant-id is answered 400 before any handler runs.
app.use("/orders/*", silo({ tenant: fromHeader("x-tenant-id"), required: true }));

app.post("/orders", async (c) => {
  let payload: unknown;
  try {
    payload = await c.req.json();
  } catch {
    return c.json({ error: "the body must be JSON" }, 400);
  }
  const handle = await c.var.silo.enqueue({ payload, taskGroup: c.env.TASK_GROUP ?? "orders" });
  return c.json({ id: handle.id, tenant: handle.tenant }, 202);
});

app.get("/orders/:id", async (c) => {
  const job = await c.var.silo.getJob(c.req.param("id"));
  return c.json({ id: job.id, tenant: c.var.silo.tenant, status: job.status, result: job.result ?? null });
});

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof JobNotFoundError) return c.json({ error: err.message, code: err.code }, 404);
  if (err instanceof SiloError) return c.json({ error: err.message, code: err.code }, err.code === "SILO_VALIDATION" ? 400 : 502);
  return c.json({ error: err.message }, 500);
});

/** Prices an order: the job's result. */
const processOrder: TaskHandler<{ items?: Array<{ sku: string; qty: number; price: number }> }, { items: number; total: number }> = ({ payload }) => {
  const items = payload.items ?? [];
  const total = items.reduce((sum, i) => sum + i.qty * i.price, 0);
  return { items: items.length, total: Math.round(total * 100) / 100 };
};

/** The Cron Trigger: runs queued orders until the queue is empty or the budget is spent. */
async function drainOrders(controller: ScheduledController, env: Env): Promise<DrainResult> {
  const result = await drainTasks({
    client: clientFromEnv(env),
    taskGroup: env.TASK_GROUP ?? "orders",
    handler: processOrder,
    budgetMs: Number(env.DRAIN_BUDGET_MS ?? 25_000),
  });
  console.log(`cron ${controller.cron}: ${JSON.stringify(result)}`);
  return result;
}

export default {
  fetch: app.fetch,
  // The runtime waits for the returned promise, so the drain may use the whole budget.
  async scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    await drainOrders(controller, env);
  },
};
