import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { unauthenticated } from "./errors.js";

/** SHA-256 of a token, so tokens of any length compare in constant time. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Bearer-token check with the stock server's messages. Created once per node; without a token
 * it is not installed at all. The comparison takes the same time whatever the presented token,
 * so response timing does not reveal how much of a guess was right.
 */
export function createAuthInterceptor(token: string): Interceptor {
  const expected = digest(token);
  return (next) =>
    async function checkBearerToken(req) {
      const header = req.header.get("authorization");
      if (header === null) throw unauthenticated("missing authorization header");
      const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
      if (!timingSafeEqual(digest(presented), expected)) throw unauthenticated("invalid auth token");
      return next(req);
    };
}
