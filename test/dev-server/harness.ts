import type { Client, Interceptor } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { decode, encode } from "@msgpack/msgpack";
import { expect } from "vitest";
import { hashTenant } from "../../src/core/tenant-hash.js";
import type { GetClusterInfoResponse, SerializedBytes } from "../../src/gen/silo/v1/silo_pb.js";
import { Silo } from "../../src/gen/silo/v1/silo_pb.js";

export type SiloClient = Client<typeof Silo>;

export interface ClientOptions {
  token?: string;
  /** Default per-call deadline. */
  timeoutMs?: number;
}

/** The two ways clients reach the dev server; behavioural tests run once per transport. */
export const transports = [
  {
    name: "gRPC over HTTP/2",
    client(address: string, options: ClientOptions = {}): SiloClient {
      return createClient(
        Silo,
        createGrpcTransport({
          baseUrl: `http://${address}`,
          interceptors: authInterceptors(options.token),
          defaultTimeoutMs: options.timeoutMs,
        }),
      );
    },
  },
  {
    name: "gRPC-web over fetch (HTTP/1.1)",
    client(address: string, options: ClientOptions = {}): SiloClient {
      return createClient(
        Silo,
        createGrpcWebTransport({
          baseUrl: `http://${address}`,
          fetch: globalThis.fetch,
          interceptors: authInterceptors(options.token),
          defaultTimeoutMs: options.timeoutMs,
        }),
      );
    },
  },
] as const;

export type TransportCase = (typeof transports)[number];

function authInterceptors(token: string | undefined): Interceptor[] {
  if (token === undefined) return [];
  return [
    (next) => (req) => {
      req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    },
  ];
}

/** Await a call that must fail and check its code and exact message; returns the error. */
export async function expectError(call: Promise<unknown>, code: Code, message?: string): Promise<ConnectError> {
  let error: unknown;
  try {
    await call;
  } catch (e) {
    error = e;
  }
  expect(error, "call should have failed").toBeInstanceOf(ConnectError);
  const ce = error as ConnectError;
  expect(Code[ce.code]).toBe(Code[code]);
  if (message !== undefined) expect(ce.rawMessage).toBe(message);
  return ce;
}

export function msgpack(value: unknown): { encoding: { case: "msgpack"; value: Uint8Array } } {
  return { encoding: { case: "msgpack", value: encode(value) } };
}

export function unpack(bytes: SerializedBytes | undefined): unknown {
  if (bytes === undefined || bytes.encoding.case !== "msgpack") return undefined;
  return decode(bytes.encoding.value);
}

/** The shard whose range holds the tenant's hash. */
export function shardForTenant(info: GetClusterInfoResponse, tenant: string): GetClusterInfoResponse["shardOwners"][number] {
  const hash = hashTenant(tenant);
  const owner = info.shardOwners.find(
    (s) => (s.rangeStart === "" || hash >= s.rangeStart) && (s.rangeEnd === "" || hash < s.rangeEnd),
  );
  if (owner === undefined) throw new Error(`no shard for tenant ${tenant}`);
  return owner;
}

let counter = 0;
/** A task group no other test uses, so tests sharing one server do not lease each other's jobs. */
export function uniqueGroup(prefix = "g"): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
