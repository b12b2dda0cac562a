/**
 * The one view of an incoming request that the core sees. Adapters build it from their
 * framework's request; tenant resolvers read it. Fields are read lazily by the adapters (getters),
 * so a resolver that only needs a header never pays for building a URL.
 */
export interface SiloRequestView<Raw = unknown> {
  /** The first value of a request header, matched case-insensitively; undefined when absent. */
  header(name: string): string | undefined;
  /** The absolute request URL (`https://host/path?query`); `""` when the event is not an HTTP request. */
  readonly url: string;
  /** The HTTP method in upper case; `""` when the event is not an HTTP request. */
  readonly method: string;
  /** Route parameters the framework matched (`/t/:tenant` gives `{ tenant }`); `{}` when none. */
  readonly params: Readonly<Record<string, string | undefined>>;
  /**
   * Verified auth claims when the framework has them: Hono's `c.get("jwtPayload")`, Express's
   * `req.auth` (express-jwt, or `req.auth.payload` of express-oauth2-jwt-bearer), a Lambda
   * authorizer's claims. Undefined when the request carries none.
   */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** The framework's own request object: Hono's `Context`, Express's `Request`, a Lambda event. */
  readonly raw: Raw;
}
