import type * as OtelApi from "@opentelemetry/api";
import { SiloValidationError } from "./errors.js";
import type { OtelCounter, OtelMeter } from "./otel-types.js";

// OpenTelemetry, when the application has `@opentelemetry/api` installed (an optional peer
// dependency). It is imported lazily, once per process; without it every hook here does nothing.
// Only Node code paths import this module (platform-node, the SiloWorker), so a Worker bundle of
// the client never contains it.

type Api = typeof OtelApi;

// Held in a variable so bundlers leave the import alone: they neither fail when the optional
// peer is absent nor inline it when present. Runtimes that cannot resolve it (workerd) reject,
// which means "not installed".
const OTEL_API = "@opentelemetry/api";

/** undefined: not tried yet; null: not installed. */
let api: Api | null | undefined;
let loading: Promise<Api | null> | undefined;

/** Imports `@opentelemetry/api` once; resolves to null when it is not installed. */
export function loadOpenTelemetry(): Promise<Api | null> {
  if (api !== undefined) return Promise.resolve(api);
  loading ??= import(/* webpackIgnore: true */ /* @vite-ignore */ OTEL_API).then(
    (m: Api & { default?: Api }) => (api = typeof m.propagation === "object" ? m : (m.default ?? null)),
    () => (api = null),
  );
  return loading;
}

// @opentelemetry/api 1.x keeps whatever an SDK registers (tracer or meter provider, propagator,
// context manager) on this global. Until it exists, the API would propagate nothing and record
// nothing, so the first RPC need not wait for importing it (tens of files from node_modules).
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");

/** True once anything registered an OpenTelemetry global (an SDK's providers, propagator...). */
export function openTelemetryRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[OTEL_GLOBAL] !== undefined;
}

/** The API once loaded: undefined while not tried, null when not installed. */
export function openTelemetry(): Api | null | undefined {
  return api;
}

/**
 * One carrier for every call: the propagator writes into it, and only when it wrote something
 * are the fields copied out. With no propagator registered, or no span or baggage in the active
 * context, a call allocates nothing here.
 */
const carrier: Record<string, string> = Object.create(null) as Record<string, string>;
let written = 0;

const lowerCaseSetter: OtelApi.TextMapSetter<Record<string, string>> = {
  set(target, key, value) {
    target[key.toLowerCase()] = value;
    written++;
  },
};

/**
 * The active context's propagation fields (`traceparent`, `tracestate`, `baggage`... whatever
 * the global propagator writes), keys lower-cased; undefined when there are none.
 */
export function traceContextHeaders(): Record<string, string> | undefined {
  if (!api) return undefined;
  written = 0;
  try {
    api.propagation.inject(api.context.active(), carrier, lowerCaseSetter);
  } catch (e) {
    // Emptied when a propagator throws half-way, so no field leaks into the next call.
    takeCarrier();
    throw e;
  }
  return written === 0 ? undefined : takeCarrier();
}

function takeCarrier(): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const key in carrier) {
    fields[key] = carrier[key]!;
    delete carrier[key];
  }
  return fields;
}

/** Checks a `meter` option: undefined or something with `createCounter` and `createObservableGauge`. */
export function checkMeter(field: string, value: unknown): OtelMeter | undefined {
  if (value === undefined) return undefined;
  const m = value as Partial<OtelMeter> | null;
  if (typeof m !== "object" || m === null || typeof m.createCounter !== "function" || typeof m.createObservableGauge !== "function") {
    throw new SiloValidationError(field, "must be an OpenTelemetry Meter (metrics.getMeter(name) from @opentelemetry/api)");
  }
  return m as OtelMeter;
}

/** `meter`, or the global MeterProvider's meter `name` once the API is loaded, else undefined. */
export function resolveMeter(meter: OtelMeter | undefined, name: string): OtelMeter | undefined {
  return meter ?? (api ? (api.metrics.getMeter(name) as OtelMeter) : undefined);
}

/**
 * A function that adds 1 to `silo.client.wrong_shard_retries` (meter `silo-client` unless `meter`
 * is given). The counter is created on first use, so a MeterProvider registered after the client
 * was built is still used.
 */
export function wrongShardRetryCounter(meterOption: unknown): () => void {
  const given = checkMeter("meter", meterOption);
  let counter: OtelCounter | undefined;
  return function countWrongShardRetry(): void {
    if (!counter) {
      const meter = resolveMeter(given, "silo-client");
      if (!meter) return;
      counter = meter.createCounter("silo.client.wrong_shard_retries", { description: "Number of wrong-shard retries during RPC calls" });
    }
    counter.add(1);
  };
}
