// The OpenTelemetry shapes silo-edge's public types mention, written out so that they need no
// type from @opentelemetry/api (an optional peer): any real Meter, Counter or ObservableGauge fits.

/** Attributes of a metric recording. */
export type OtelAttributes = Record<string, string | number | boolean>;

/** The part of an OpenTelemetry `Counter` silo-edge uses. */
export interface OtelCounter {
  add(value: number, attributes?: OtelAttributes): void;
}

/** The part of an OpenTelemetry `ObservableGauge` silo-edge uses. */
export interface OtelObservableGauge {
  addCallback(callback: (result: { observe(value: number, attributes?: OtelAttributes): void }) => void): void;
}

/**
 * The part of an OpenTelemetry `Meter` (from `@opentelemetry/api`) silo-edge uses; any real
 * `Meter` fits.
 */
export interface OtelMeter {
  createCounter(name: string, options?: { description?: string }): OtelCounter;
  createObservableGauge(name: string, options?: { description?: string }): OtelObservableGauge;
}
