import { SiloValidationError } from "./errors.js";

/** Structured fields of a log entry. Never holds a token or header values. */
export type LogFields = Record<string, unknown>;

/**
 * Where the client reports what it does on its own: retries, redirects, topology refreshes and
 * background-enqueue failures. The four methods take `(fields, message)`, the order pino uses;
 * `console` works too (it prints the fields, then the message).
 */
export interface SiloLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const noop = (): void => undefined;

/** The default: logs nothing. */
export const silentLogger: SiloLogger = { debug: noop, info: noop, warn: noop, error: noop };

const LEVELS = ["debug", "info", "warn", "error"] as const;

/** Checks the `logger` option; a logger that throws never breaks a call. */
export function checkLogger(value: unknown): SiloLogger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) throw new SiloValidationError("logger", "must be an object with debug, info, warn and error methods (console or pino work)");
  const logger = value as Record<string, unknown>;
  for (const level of LEVELS) {
    if (typeof logger[level] !== "function") throw new SiloValidationError(`logger.${level}`, "must be a function (fields, message) => void");
  }
  const safe = {} as SiloLogger;
  for (const level of LEVELS) {
    const method = logger[level] as (fields: LogFields, message: string) => void;
    safe[level] = (fields, message) => {
      try {
        method.call(value, fields, message);
      } catch {
        // A broken logger must not turn a working call into a failure.
      }
    };
  }
  return safe;
}
