import { loadOpenTelemetry, openTelemetry, openTelemetryRegistered, traceContextHeaders } from "./otel.js";
import type { UnaryBytesOptions, UnaryBytesResponse, UnaryChannel } from "./unary-channel.js";

/** `options` with the active OpenTelemetry context's propagation fields added to its headers. */
function withTraceContext(options: UnaryBytesOptions): UnaryBytesOptions {
  const fields = traceContextHeaders();
  if (!fields) return options;
  const h = options.headers;
  const headers: Record<string, string> = {};
  // Duck-typed: `instanceof Headers` would load undici on the first traced call.
  if (h !== undefined && typeof (h as Headers).forEach === "function") (h as Headers).forEach((v, k) => (headers[k] = v));
  else if (h !== undefined) Object.assign(headers, h);
  return { ...options, headers: Object.assign(headers, fields) };
}

/**
 * Wraps a channel so every call carries the active OpenTelemetry trace context, injected through
 * the global propagator, as the upstream client's interceptor does. The first call waits for the
 * one-time import of `@opentelemetry/api` once something registered with it; until then, and
 * without it, calls pass through unchanged. A call with nothing to propagate (no propagator, or
 * no span or baggage active) allocates nothing.
 */
export function createTraceContextChannel(channel: UnaryChannel): UnaryChannel {
  const call =
    (method: "unaryBytes" | "unaryFrame") =>
    (path: string, body: Uint8Array, options: UnaryBytesOptions): Promise<UnaryBytesResponse> => {
      const api = openTelemetry();
      if (api === null) return channel[method](path, body, options);
      if (api === undefined) {
        // Nothing registered yet: no trace context to send, and no reason to import the API.
        if (!openTelemetryRegistered()) return channel[method](path, body, options);
        return loadOpenTelemetry().then(() => channel[method](path, body, withTraceContext(options)));
      }
      return channel[method](path, body, withTraceContext(options));
    };
  return { unaryBytes: call("unaryBytes"), unaryFrame: call("unaryFrame") };
}
