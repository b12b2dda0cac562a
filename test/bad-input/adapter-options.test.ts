import { beforeAll, describe, expect, it } from "vitest";
import { useCountingListener } from "../support/counting-listener.js";
import { SiloGRPCClient, SiloValidationError } from "silo-edge";
import { siloMiddleware } from "silo-edge/express";
import { firstOf, fromHeader, fromJwtClaim, fromQueryParam, fromRouteParam, fromSubdomain, silo } from "silo-edge/hono";
import { siloMiddy, withSilo } from "silo-edge/lambda";

// Every case fails when the middleware is created, before any request and any network call.
const listener = useCountingListener();
let client: SiloGRPCClient;
beforeAll(() => {
  client = new SiloGRPCClient({ servers: listener.address, useTls: false });
});

type Factory = (options: Record<string, unknown>) => unknown;
const adapters: Array<[string, Factory, string[]]> = [
  ["hono silo()", (o) => silo(o as never), ["waitUntil"]],
  ["express siloMiddleware()", (o) => siloMiddleware(o as never), ["waitUntil"]],
  ["lambda withSilo()", (o) => withSilo(async () => "ok", o as never), ["safetyMarginMs"]],
  ["lambda siloMiddy()", (o) => siloMiddy(o as never), ["safetyMarginMs"]],
];

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(adapters)("%s rejects bad options when it is created", (_name, create, extras) => {
  const common: Array<[string, () => Record<string, unknown>, string]> = [
    ["a tenant that is a header name, not a resolver", () => ({ client, tenant: "x-tenant-id" }), "tenant"],
    ["required that is not a boolean", () => ({ client, tenant: fromHeader("x-tenant-id"), required: "yes" }), "required"],
    ["required without a tenant resolver", () => ({ client, required: true }), "tenant"],
    ["an onError that is not a function", () => ({ client, onError: "log" }), "onError"],
    ["an unknown option", () => ({ client, tenantHeader: "x-tenant-id" }), "tenantHeader"],
    ["client options with no servers", () => ({ client: { useTls: false } }), "servers"],
    ["client options with a bad server", () => ({ client: { servers: "http://silo:7450" } }), "servers"],
    ["client options with an unknown key", () => ({ client: { servers: "localhost:7450", retries: 3 } }), "retries"],
    ["options that are not an object", () => "x-tenant-id" as never, "options"],
  ];
  const specific: Array<[string, () => Record<string, unknown>, string]> = [];
  if (extras.includes("waitUntil")) specific.push(["a waitUntil that is not a function", () => ({ client, waitUntil: 5 }), "waitUntil"]);
  if (extras.includes("safetyMarginMs")) {
    specific.push(["a negative safetyMarginMs", () => ({ client, safetyMarginMs: -1 }), "safetyMarginMs"]);
    specific.push(["a fractional safetyMarginMs", () => ({ client, safetyMarginMs: 0.5 }), "safetyMarginMs"]);
    specific.push(["a waitUntil, which Lambda does not take", () => ({ client, waitUntil: () => undefined }), "waitUntil"]);
  }
  it.each([...common, ...specific])("%s is a SiloValidationError naming the field", (_case, options, field) => {
    const err = thrownBy(() => create(options()));
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe(field);
  });
});

describe("tenant resolvers reject bad arguments when they are created", () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['fromHeader("")', () => fromHeader(""), "fromHeader"],
    ["fromHeader(42)", () => fromHeader(42 as never), "fromHeader"],
    ['fromRouteParam("")', () => fromRouteParam(""), "fromRouteParam"],
    ['fromQueryParam("")', () => fromQueryParam(""), "fromQueryParam"],
    ['fromJwtClaim("")', () => fromJwtClaim(""), "fromJwtClaim"],
  ];
  it.each(cases)("%s is a SiloValidationError naming the resolver", (_name, fn, field) => {
    const err = thrownBy(fn);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field.startsWith(field)).toBe(true);
  });

  it.each([
    ["firstOf() with a non-function", () => firstOf("x-tenant" as never)],
    ["fromSubdomain({ baseDomain: 5 })", () => fromSubdomain({ baseDomain: 5 as never })],
  ])("%s is a SiloValidationError", (_name, fn) => {
    expect(thrownBy(fn)).toBeInstanceOf(SiloValidationError);
  });
});

describe("after every case above", () => {
  it("no connection was ever made", () => {
    expect(listener.connections).toBe(0);
  });
});
