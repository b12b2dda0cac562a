import type { ClientTelemetry } from "./client-telemetry.js";
import { wrongShardRetryCounter } from "./otel.js";

const wrongShardCounters = new WeakMap<object, () => void>();

/** The client's OpenTelemetry hooks on Node: its `meter` option, and its wrong-shard retries. */
export const clientTelemetry: ClientTelemetry | false = {
  init(client, meter) {
    wrongShardCounters.set(client, wrongShardRetryCounter(meter));
  },
  wrongShardRetry(client) {
    wrongShardCounters.get(client)?.();
  },
};
