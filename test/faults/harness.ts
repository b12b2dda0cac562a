import { afterEach } from "vitest";
import { SiloError, SiloGRPCClient, clearTopologyCache, type Protocol, type SiloGRPCClientOptions } from "silo-edge";
import type { DevServer } from "silo-edge/dev";

/** Every fault runs over both transports a Node client can speak. */
export const protocols: Protocol[] = ["grpc", "grpc-web"];

/** A client for the dev server: plaintext, the given protocol, short default deadline. */
export function clientFor(server: DevServer, protocol: Protocol, extra: Partial<SiloGRPCClientOptions> = {}): SiloGRPCClient {
  return new SiloGRPCClient({ servers: server.addresses, useTls: false, protocol, timeoutMs: 5_000, ...extra });
}

/** Forget the module-scope topology between tests, so each starts cold. */
export function useFreshTopology(): void {
  afterEach(() => clearTopologyCache());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Tenants spread over every shard. */
export function tenants(n: number, prefix = "t"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

/** Ids the server holds that it did not hold in `before`. */
export function createdSince(server: DevServer, before: ReadonlySet<string>): string[] {
  return server.jobIds().filter((id) => !before.has(id));
}

/** The result of many calls: ids that were acknowledged and errors that were raised. */
export interface LoadOutcome {
  acked: string[];
  errors: unknown[];
}

/**
 * Runs `total` enqueues with at most `concurrency` in flight; `during` runs alongside once
 * `startAfter` of them have been acknowledged.
 */
export async function enqueueUnderLoad(
  client: SiloGRPCClient,
  options: { total: number; concurrency: number; tenants: string[]; taskGroup: string; startAfter?: number; during?: () => Promise<void> },
): Promise<LoadOutcome> {
  const acked: string[] = [];
  const errors: unknown[] = [];
  let next = 0;
  let faultDone: Promise<void> = Promise.resolve();
  let faultStarted = false;
  const worker = async (): Promise<void> => {
    while (next < options.total) {
      const i = next++;
      try {
        const handle = await client.enqueue({ payload: { i }, taskGroup: options.taskGroup, tenant: options.tenants[i % options.tenants.length]! });
        acked.push(handle.id);
      } catch (err) {
        errors.push(err);
      }
      if (!faultStarted && options.during && acked.length >= (options.startAfter ?? 0)) {
        faultStarted = true;
        faultDone = options.during();
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await faultDone;
  return { acked, errors };
}

/** Fails with the offending error when any error is not a typed SiloError. */
export function untyped(errors: unknown[]): unknown[] {
  return errors.filter((e) => !(e instanceof SiloError));
}
