import { describe, expect, it } from "vitest";
import { lambdaEventKind, lambdaRequestView } from "../../src/adapters/lambda/index.js";
import { albEvent, functionUrlEvent, httpApiV2Event, restApiV1Event, sqsEvent } from "./lambda-events.js";

const req = { method: "POST" as const, path: "/t/acme/jobs?tenant=a%20b&tag=1&tag=2", host: "orders.example.com", headers: { "X-Tenant-Id": "acme" }, body: {} };

describe("Lambda event planning", () => {
  it("tells the four HTTP shapes and other events apart", () => {
    expect(lambdaEventKind(restApiV1Event(req))).toBe("api-gateway-v1");
    expect(lambdaEventKind(httpApiV2Event(req))).toBe("http-api-v2");
    expect(lambdaEventKind(functionUrlEvent(req))).toBe("function-url");
    expect(lambdaEventKind(albEvent(req))).toBe("alb");
    expect(lambdaEventKind(sqsEvent({}))).toBe("other");
    expect(lambdaEventKind({ source: "aws.events", "detail-type": "Scheduled Event" })).toBe("other");
    expect(lambdaEventKind(undefined)).toBe("other");
  });

  it("rebuilds the same URL, method and headers from every HTTP shape", () => {
    // An ALB target group without multi-value headers passes only the last value of a repeated key.
    const cases: Array<[unknown, string[]]> = [
      [restApiV1Event(req), ["1", "2"]],
      [httpApiV2Event(req), ["1", "2"]],
      [albEvent(req), ["2"]],
      [albEvent(req, true), ["1", "2"]],
    ];
    for (const [event, tags] of cases) {
      const view = lambdaRequestView(event);
      expect(new URL(view.url).searchParams.get("tenant")).toBe("a b");
      expect(new URL(view.url).searchParams.getAll("tag")).toEqual(tags);
      expect(view.url.startsWith("https://orders.example.com/t/acme/jobs?")).toBe(true);
      expect(view.method).toBe("POST");
      expect(view.header("x-tenant-id")).toBe("acme");
      expect(view.header("X-TENANT-ID")).toBe("acme");
    }
  });

  it("reads route parameters where the integration has them", () => {
    expect(lambdaRequestView(restApiV1Event(req)).params).toEqual({ tenant: "acme" });
    expect(lambdaRequestView(httpApiV2Event(req)).params).toEqual({ tenant: "acme" });
    expect(lambdaRequestView(albEvent(req)).params).toEqual({});
  });

  it("reads claims from JWT, Cognito and Lambda authorizers", () => {
    const v2jwt = httpApiV2Event({ ...req, claims: { tenant_id: "jwt" } });
    expect(lambdaRequestView(v2jwt).claims).toEqual({ tenant_id: "jwt" });
    const v2lambda = { ...httpApiV2Event(req), requestContext: { ...httpApiV2Event(req).requestContext, authorizer: { lambda: { tenant_id: "lambda-v2" } } } };
    expect(lambdaRequestView(v2lambda).claims).toEqual({ tenant_id: "lambda-v2" });
    const v1cognito = restApiV1Event({ ...req, claims: { tenant_id: "cognito" } });
    expect(lambdaRequestView(v1cognito).claims).toEqual({ tenant_id: "cognito" });
    // A REST API Lambda authorizer's context is flattened into the authorizer object.
    const v1lambda = restApiV1Event(req);
    v1lambda.requestContext.authorizer = { principalId: "user-1", tenant_id: "lambda-v1", integrationLatency: 12 };
    expect(lambdaRequestView(v1lambda).claims).toMatchObject({ tenant_id: "lambda-v1" });
    expect(lambdaRequestView(functionUrlEvent(req)).claims).toBeUndefined();
  });

  it("gives other events an empty view with the event as raw", () => {
    const event = sqsEvent({ tenant: "q" });
    const view = lambdaRequestView(event);
    expect(view).toMatchObject({ url: "", method: "", params: {}, claims: undefined });
    expect(view.header("host")).toBeUndefined();
    expect(view.raw).toBe(event);
  });
});
