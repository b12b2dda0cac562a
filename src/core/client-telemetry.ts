/**
 * OpenTelemetry hooks of the client, resolved through the `#client-telemetry` import: the real
 * ones on Node (client-telemetry-otel.ts), the constant `false` on fetch-only runtimes
 * (client-telemetry-none.ts), where bundlers then drop every call.
 */
export interface ClientTelemetry {
  /** Called by the constructor with the client's `meter` option. */
  init(client: object, meter: unknown): void;
  /** Called once per retry after a "shard not found" answer. */
  wrongShardRetry(client: object): void;
}
