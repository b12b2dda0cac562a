import type { Interceptor } from "@connectrpc/connect";
import { unauthenticated } from "./errors.js";

/**
 * Bearer-token check with the stock server's messages. Created once per node; without a token
 * it is not installed at all.
 */
export function createAuthInterceptor(token: string): Interceptor {
  return (next) =>
    async function checkBearerToken(req) {
      const header = req.header.get("authorization");
      if (header === null) throw unauthenticated("missing authorization header");
      const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
      if (presented !== token) throw unauthenticated("invalid auth token");
      return next(req);
    };
}
