// GET /orders/:id: the job's status, and its result once a worker has run it.
import { JobNotFoundError } from "silo-edge";
import { fromHeader, withSilo } from "silo-edge/fetch";

type RouteContext = { params: Promise<{ id: string }> };

// Built on the first request, not at import: see app/orders/route.ts.
let handler: ((request: Request, context: RouteContext) => Promise<Response>) | undefined;

export function GET(request: Request, context: RouteContext): Promise<Response> {
  handler ??= withSilo<[RouteContext]>(
    async (_req, silo, { params }) => {
      const { id } = await params;
      try {
        const job = await silo.getJob(id);
        return Response.json({ id: job.id, tenant: silo.tenant, status: job.status, result: job.result ?? null });
      } catch (err) {
        if (err instanceof JobNotFoundError) return Response.json({ error: err.message, code: err.code }, { status: 404 });
        throw err;
      }
    },
    { tenant: fromHeader("x-tenant-id"), required: true },
  );
  return handler(request, context);
}
