// The app every adapter test serves, written once against the neutral scope so that the Node
// drivers and the Worker bundle run the very same routes. No Node imports: workerd bundles it.
import type { SiloScope, TenantResolver } from "../../src/index.js";
import { firstOf, fixedTenant, fromHeader, fromJwtClaim, fromQueryParam, fromRouteParam, fromSubdomain } from "../../src/index.js";

export type ResolverKind = "header" | "subdomain" | "routeParam" | "queryParam" | "jwtClaim" | "fixed" | "firstOf" | "function" | "none";

/** What an app under test is configured with; plain data, so it can cross into a Worker. */
export interface Scenario {
  resolver: ResolverKind;
  required?: boolean;
}

export const TENANT_HEADER = "x-tenant-id";
export const BASE_DOMAIN = "silo.test";
export const CLAIM = "tenant_id";
export const FIXED_TENANT = "fixed-tenant";

export function tenantResolverFor(kind: ResolverKind): TenantResolver | undefined {
  switch (kind) {
    case "header":
      return fromHeader(TENANT_HEADER);
    case "subdomain":
      return fromSubdomain({ baseDomain: BASE_DOMAIN });
    case "routeParam":
      return fromRouteParam("tenant");
    case "queryParam":
      return fromQueryParam("tenant");
    case "jwtClaim":
      return fromJwtClaim(CLAIM);
    case "fixed":
      return fixedTenant(FIXED_TENANT);
    case "firstOf":
      return firstOf(fromHeader(TENANT_HEADER), fromQueryParam("tenant"));
    case "function":
      // A plain function works as well as a ready resolver.
      return (req) => req.header("x-org")?.toLowerCase();
    case "none":
      return undefined;
  }
}

/** The routes of the app, by the route pattern the framework matched. */
export type Route = "enqueue" | "background" | "whoami" | "status";

/** The route of a path, for Lambda, which has no router; `/t/:tenant/...` carries a route parameter. */
export function routeOf(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  const p = path.split("?")[0] ?? "";
  const prefixed = /^\/t\/([^/]+)(\/.*)$/.exec(p);
  const rest = prefixed ? (prefixed[2] ?? "") : p;
  const params: Record<string, string> = prefixed ? { tenant: decodeURIComponent(prefixed[1] ?? "") } : {};
  if (method === "POST" && rest === "/jobs") return { route: "enqueue", params };
  if (method === "POST" && rest === "/background") return { route: "background", params };
  if (method === "GET" && rest === "/whoami") return { route: "whoami", params };
  const status = /^\/status\/([^/]+)$/.exec(p);
  if (method === "GET" && status) return { route: "status", params: { id: decodeURIComponent(status[1] ?? "") } };
  return undefined;
}

/** Route patterns for frameworks with a router. */
export const ROUTES: ReadonlyArray<{ method: "GET" | "POST"; pattern: string; route: Route }> = [
  { method: "POST", pattern: "/jobs", route: "enqueue" },
  { method: "POST", pattern: "/t/:tenant/jobs", route: "enqueue" },
  { method: "POST", pattern: "/background", route: "background" },
  { method: "POST", pattern: "/t/:tenant/background", route: "background" },
  { method: "GET", pattern: "/whoami", route: "whoami" },
  { method: "GET", pattern: "/t/:tenant/whoami", route: "whoami" },
  { method: "GET", pattern: "/status/:id", route: "status" },
];

export interface RouteResult {
  status: number;
  body: Record<string, unknown>;
}

/** What every adapter's handler does with the scope it was given. */
export async function runRoute(scope: SiloScope, route: Route, input: { body?: unknown; id?: string }): Promise<RouteResult> {
  const tenant = scope.tenant ?? null;
  switch (route) {
    case "enqueue": {
      const handle = await scope.enqueue({ payload: input.body ?? null, taskGroup: "orders" });
      return { status: 200, body: { id: handle.id, tenant: handle.tenant ?? null } };
    }
    case "background": {
      const id = await scope.enqueueInBackground({ payload: input.body ?? null, taskGroup: "orders" });
      return { status: 202, body: { id, tenant } };
    }
    case "whoami":
      return { status: 200, body: { tenant } };
    case "status": {
      const status = await scope.getJobStatus(input.id ?? "");
      return { status: 200, body: { status, tenant } };
    }
  }
}
