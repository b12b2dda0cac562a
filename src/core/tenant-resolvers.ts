import { SiloValidationError } from "./errors.js";
import type { SiloRequestView } from "./request-view.js";

/** What a tenant resolver yields: a tenant, or nothing (`undefined` / `null`) when the request names none. */
export type TenantValue = string | undefined | null;

/**
 * Finds the tenant of a request from the neutral request view. Returning nothing means "this
 * request names no tenant"; with `required: true` such a request is answered with 400.
 */
export type TenantResolver<Raw = unknown> = (req: SiloRequestView<Raw>) => TenantValue | Promise<TenantValue>;

/** Options of `fromSubdomain()`. */
export interface FromSubdomainOptions {
  /**
   * The domain tenants are subdomains of, e.g. `"app.example.com"`: `acme.app.example.com` gives
   * `"acme"`, and hosts outside it give no tenant. Default: none, and the leftmost label of a
   * host with at least three labels is the tenant (`acme.example.com` gives `"acme"`).
   */
  baseDomain?: string;
}

/** The tenant from a request header, e.g. `fromHeader("x-tenant-id")`. */
export function fromHeader(name: string): TenantResolver {
  checkName("fromHeader", name);
  return function tenantFromHeader(req) {
    return req.header(name)?.trim();
  };
}

/** The tenant from a route parameter, e.g. `fromRouteParam("tenant")` for `/t/:tenant/orders`. */
export function fromRouteParam(name: string): TenantResolver {
  checkName("fromRouteParam", name);
  return function tenantFromRouteParam(req) {
    return req.params[name];
  };
}

/** The tenant from a query parameter, e.g. `fromQueryParam("tenant")` for `/orders?tenant=acme`. */
export function fromQueryParam(name: string): TenantResolver {
  checkName("fromQueryParam", name);
  return function tenantFromQueryParam(req) {
    if (req.url === "") return undefined;
    try {
      return new URL(req.url).searchParams.get(name);
    } catch {
      return undefined;
    }
  };
}

/**
 * The tenant from a claim of the request's verified token (`req.claims`): Hono's `jwtPayload`,
 * Express's `req.auth`, or a Lambda authorizer's claims. The claim is looked up by its exact name
 * first (`"https://example.com/tenant"`), then as a dotted path (`"org.id"`). Numbers are
 * turned into strings; other non-string values give no tenant.
 */
export function fromJwtClaim(claim: string): TenantResolver {
  checkName("fromJwtClaim", claim);
  return function tenantFromJwtClaim(req) {
    const claims = req.claims;
    if (claims === undefined || claims === null) return undefined;
    let value: unknown = claims[claim];
    if (value === undefined && claim.includes(".")) {
      value = claim.split(".").reduce<unknown>((obj, key) => (typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>)[key] : undefined), claims);
    }
    if (typeof value === "string") return value;
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    return undefined;
  };
}

/** The tenant from the request's host name, e.g. `acme.example.com` gives `"acme"`. */
export function fromSubdomain(options: FromSubdomainOptions = {}): TenantResolver {
  const { baseDomain } = options;
  if (baseDomain !== undefined && (typeof baseDomain !== "string" || baseDomain.replace(/^\.+/, "") === "")) {
    throw new SiloValidationError("fromSubdomain(baseDomain)", 'must be a domain name such as "app.example.com"');
  }
  const base = baseDomain?.replace(/^\.+/, "").toLowerCase();
  return function tenantFromSubdomain(req) {
    const host = hostOf(req);
    if (host === undefined) return undefined;
    if (base !== undefined) {
      if (!host.endsWith(`.${base}`)) return undefined;
      const labels = host.slice(0, -base.length - 1).split(".");
      return labels[labels.length - 1] || undefined;
    }
    // IP addresses and single-label hosts (localhost) have no subdomain.
    if (/^[\d.]+$/.test(host) || host.startsWith("[")) return undefined;
    const labels = host.split(".");
    return labels.length >= 3 ? labels[0] : undefined;
  };
}

/** Always the same tenant, e.g. for a deployment that serves one tenant. */
export function fixedTenant(value: string): TenantResolver {
  if (typeof value !== "string") throw new SiloValidationError("fixedTenant(value)", "must be a string");
  return function fixed() {
    return value;
  };
}

/** Tries resolvers in order; the first that yields a tenant (anything but undefined or null) wins. */
export function firstOf<Raw = unknown>(...resolvers: TenantResolver<Raw>[]): TenantResolver<Raw> {
  resolvers.forEach((r, i) => {
    if (typeof r !== "function") throw new SiloValidationError(`firstOf(resolvers[${i}])`, "must be a tenant resolver function");
  });
  return async function firstTenantOf(req) {
    for (const resolve of resolvers) {
      const value = await resolve(req);
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  };
}

/**
 * The lower-cased host name of the request URL, else of the Host header. Never from
 * `x-forwarded-host`: any client can set it, and it would pick another tenant's shard.
 */
function hostOf(req: SiloRequestView): string | undefined {
  let host: string | undefined;
  if (req.url !== "") {
    try {
      host = new URL(req.url).hostname;
    } catch {
      host = undefined;
    }
  }
  host ||= req.header("host")?.trim().replace(/:\d+$/, "");
  return host ? host.toLowerCase() : undefined;
}

function checkName(fn: string, name: unknown): void {
  if (typeof name !== "string" || name === "") throw new SiloValidationError(`${fn}(name)`, "must be a non-empty string");
}
