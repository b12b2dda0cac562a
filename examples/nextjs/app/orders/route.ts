// POST /orders: enqueues the JSON body as a job in task group "orders" for the tenant named by the
// x-tenant-id header, and answers 202 with the job id. A confirmation job is enqueued after the
// response, through Next.js's after().
import { after } from "next/server";
import { fromHeader, withSilo } from "silo-edge/fetch";

// `next build` loads route modules to collect page data, where SILO_* may not be set, and
// withSilo() reads them when it runs: build the handler on the first request instead.
let handler: ((request: Request) => Promise<Response>) | undefined;

export function POST(request: Request): Promise<Response> {
  handler ??= withSilo(
    async (req, silo) => {
      let order: unknown;
      try {
        order = await req.json();
      } catch {
        return Response.json({ error: "the body must be JSON" }, { status: 400 });
      }
      const handle = await silo.enqueue({ payload: order, taskGroup: "orders" });
      // Enqueued after the response is sent; a failure is logged with the job id and tenant.
      await silo.enqueueInBackground({ payload: { order: handle.id }, taskGroup: "confirmations" });
      return Response.json({ id: handle.id, tenant: handle.tenant }, { status: 202 });
    },
    { tenant: fromHeader("x-tenant-id"), required: true, waitUntil: after },
  );
  return handler(request);
}
