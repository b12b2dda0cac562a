// AWS Lambda behind an API Gateway HTTP API (payload v2), with withSilo(): context.silo is the
// invocation's Silo scope, bound to the tenant of the x-tenant-id header. The client is built
// from SILO_SERVERS / SILO_TOKEN / SILO_USE_TLS / SILO_PROTOCOL once, at cold start.
//
// Routes (HTTP API):  POST /orders -> handler     GET /orders/{id} -> handler
// Schedule (EventBridge, e.g. rate(1 minute)) -> drain
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from "aws-lambda";
import { clientFromEnv, JobNotFoundError } from "silo-edge";
import { fromHeader, withSilo } from "silo-edge/lambda";
import { drainTasks, type DrainResult, type TaskHandler } from "silo-edge/worker";

const TASK_GROUP = process.env.TASK_GROUP ?? "orders";

type Result = APIGatewayProxyStructuredResultV2;

function json(statusCode: number, body: unknown): Result {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** `POST /orders` enqueues the body as a job of the request's tenant; `GET /orders/{id}` reads it back. */
export const handler = withSilo<APIGatewayProxyEventV2, Result>(
  async (event, { silo }) => {
    const { method } = event.requestContext.http;
    if (method === "POST" && event.rawPath === "/orders") {
      const body = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : event.body;
      let payload: unknown;
      try {
        payload = JSON.parse(body || "{}");
      } catch {
        return json(400, { error: "the body must be JSON" });
      }
      const handle = await silo.enqueue({ payload, taskGroup: TASK_GROUP });
      return json(202, { id: handle.id, tenant: handle.tenant });
    }
    const id = event.pathParameters?.id ?? /^\/orders\/([^/]+)$/.exec(event.rawPath)?.[1];
    if (method === "GET" && id !== undefined) {
      try {
        const job = await silo.getJob(decodeURIComponent(id));
        return json(200, { id: job.id, tenant: silo.tenant, status: job.status, result: job.result ?? null });
      } catch (err) {
        if (err instanceof JobNotFoundError) return json(404, { error: err.message, code: err.code });
        throw err;
      }
    }
    return json(404, { error: `no route for ${method} ${event.rawPath}` });
  },
  // A request without x-tenant-id gets a 400 result before the handler runs.
  { tenant: fromHeader("x-tenant-id"), required: true },
);

/** Prices an order: the job's result. */
export const processOrder: TaskHandler<{ items?: Array<{ sku: string; qty: number; price: number }> }, { items: number; total: number }> = ({ payload }) => {
  const items = payload.items ?? [];
  const total = items.reduce((sum, i) => sum + i.qty * i.price, 0);
  return { items: items.length, total: Math.round(total * 100) / 100 };
};

/** A scheduled Lambda: runs the task group's jobs until the queue is empty or the time is nearly up. */
export async function drain(_event: ScheduledEvent, context: Pick<Context, "getRemainingTimeInMillis">): Promise<DrainResult> {
  const result = await drainTasks({
    client: clientFromEnv(),
    taskGroup: TASK_GROUP,
    handler: processOrder,
    // Leave two seconds to log and return before the function's timeout.
    budgetMs: Math.max(1, context.getRemainingTimeInMillis() - 2_000),
  });
  console.log(JSON.stringify({ drained: result }));
  return result;
}
