export { siloPlugin, siloErrorHandler, fastifyRequestView } from "./fastify.js";
export type { SiloFastifyOptions, SiloErrorHandlerOptions } from "./fastify.js";
export { fromHeader, fromSubdomain, fromRouteParam, fromQueryParam, fromJwtClaim, fixedTenant, firstOf } from "../../core/tenant-resolvers.js";
export type { TenantResolver, TenantValue, FromSubdomainOptions } from "../../core/tenant-resolvers.js";
export type { SiloScope, SiloAdapterOptions, BackgroundEnqueueFailure } from "../../core/request-scope.js";
export type { SiloRequestView } from "../../core/request-view.js";
export type { SiloErrorResponse, SiloErrorResponseHandler } from "../../core/http-error.js";
