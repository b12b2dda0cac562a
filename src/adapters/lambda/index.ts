export { withSilo, siloMiddy } from "./lambda.js";
export type { SiloContext, SiloHandler, SiloLambdaOptions, SiloMiddyMiddleware, SiloMiddyRequest } from "./lambda.js";
export { lambdaEventKind, lambdaRequestView } from "./lambda-event.js";
export type { LambdaEventKind, SiloLambdaErrorResult } from "./lambda-event.js";
export { fromHeader, fromSubdomain, fromRouteParam, fromQueryParam, fromJwtClaim, fixedTenant, firstOf } from "../../core/tenant-resolvers.js";
export type { TenantResolver, TenantValue, FromSubdomainOptions } from "../../core/tenant-resolvers.js";
export type { SiloScope, SiloAdapterOptions, BackgroundEnqueueFailure } from "../../core/request-scope.js";
export type { SiloRequestView } from "../../core/request-view.js";
