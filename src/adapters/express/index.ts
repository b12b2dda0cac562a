export { siloMiddleware, siloErrorHandler, expressRequestView } from "./express.js";
export type { SiloExpressOptions, SiloHttpError, SiloErrorHandlerOptions } from "./express.js";
export { fromHeader, fromSubdomain, fromRouteParam, fromQueryParam, fromJwtClaim, fixedTenant, firstOf } from "../../core/tenant-resolvers.js";
export type { TenantResolver, TenantValue, FromSubdomainOptions } from "../../core/tenant-resolvers.js";
export type { SiloScope, SiloAdapterOptions, BackgroundEnqueueFailure } from "../../core/request-scope.js";
export type { SiloRequestView } from "../../core/request-view.js";
