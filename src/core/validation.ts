import { SiloValidationError } from "./errors.js";

/**
 * Checks of user input against the server's limits, run before any network call so a bad value
 * fails fast with the offending field named, instead of as a server error after a round trip.
 */

/** Longest tenant id and task group the server accepts. */
export const MAX_NAME_LENGTH = 64;
/** Most metadata entries per job. */
export const MAX_METADATA_ENTRIES = 16;
/** Metadata keys must be shorter than this many characters. */
export const MAX_METADATA_KEY_LENGTH = 64;
/** Metadata values must be shorter than this many UTF-8 bytes. */
export const MAX_METADATA_VALUE_BYTES = 65_535;

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;
const INT64_MAX = (1n << 63n) - 1n;

const utf8 = new TextEncoder();

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "object" ? (value === null ? "null" : "an object") : String(value);
}

/**
 * Length in Unicode code points, as the server counts (Rust's `chars().count()`): an emoji is
 * one character, not two UTF-16 units.
 */
export function codePointLength(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** A non-empty string of at most 64 characters, counted as code points (tenant, task group). */
export function checkName(field: string, value: unknown): string {
  if (typeof value !== "string") throw new SiloValidationError(field, `must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new SiloValidationError(field, "must not be empty");
  // UTF-16 length >= code points, so the count is only needed above the limit.
  if (value.length > MAX_NAME_LENGTH) {
    const chars = codePointLength(value);
    if (chars > MAX_NAME_LENGTH) throw new SiloValidationError(field, `must be at most ${MAX_NAME_LENGTH} characters, got ${chars}`);
  }
  return value;
}

/** A tenant id, or undefined for the default tenant. */
export function checkTenant(field: string, value: unknown): string | undefined {
  return value === undefined ? undefined : checkName(field, value);
}

/** A job id: a non-empty string. */
export function checkJobId(field: string, value: unknown): string {
  if (typeof value !== "string") throw new SiloValidationError(field, `must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new SiloValidationError(field, "must not be empty");
  return value;
}

/** An integer in [min, max] given as number. */
export function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value === "bigint" && value >= BigInt(min) && value <= BigInt(max)) return Number(value);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SiloValidationError(field, `must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new SiloValidationError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A non-negative uint32. */
export function checkUint32(field: string, value: unknown): number {
  return checkInt(field, value, 0, UINT32_MAX);
}

/** A non-negative int32. */
export function checkInt32(field: string, value: unknown): number {
  return checkInt(field, value, 0, INT32_MAX);
}

/** A non-negative int64 given as bigint or safe-integer number. */
export function checkInt64(field: string, value: unknown): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new SiloValidationError(field, `must be a whole number of milliseconds (a safe integer or bigint), got ${describe(value)}`);
    }
    value = BigInt(value);
  }
  if (typeof value !== "bigint") throw new SiloValidationError(field, `must be a bigint or integer number, got ${describe(value)}`);
  if (value < 0n) throw new SiloValidationError(field, `must not be negative, got ${value}`);
  if (value > INT64_MAX) throw new SiloValidationError(field, "does not fit in a signed 64-bit integer");
  return value;
}

/** A finite, non-negative number (backoff factors). */
export function checkFactor(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new SiloValidationError(field, `must be a finite number >= 0, got ${describe(value)}`);
  }
  return value;
}

/** A boolean. */
export function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new SiloValidationError(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** A plain object (options bags). */
export function checkObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SiloValidationError(field, `must be an object, got ${Array.isArray(value) ? "an array" : describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Job metadata: at most 16 string entries, keys under 64 characters, values under 65,535 bytes. */
export function checkMetadata(field: string, value: unknown): Record<string, string> {
  const obj = checkObject(field, value);
  const keys = Object.keys(obj);
  if (keys.length > MAX_METADATA_ENTRIES) {
    throw new SiloValidationError(field, `has ${keys.length} entries; at most ${MAX_METADATA_ENTRIES} are allowed`);
  }
  const out: Record<string, string> = {};
  for (const key of keys) {
    const v = obj[key];
    if (key.length === 0) throw new SiloValidationError(field, "keys must not be empty");
    if (key.length >= MAX_METADATA_KEY_LENGTH && codePointLength(key) >= MAX_METADATA_KEY_LENGTH) {
      throw new SiloValidationError(field, `key ${describe(key)} must be shorter than ${MAX_METADATA_KEY_LENGTH} characters, got ${codePointLength(key)}`);
    }
    if (typeof v !== "string") throw new SiloValidationError(`${field}.${key}`, `must be a string, got ${describe(v)}`);
    if (v.length >= MAX_METADATA_VALUE_BYTES / 3 && utf8.encode(v).length >= MAX_METADATA_VALUE_BYTES) {
      throw new SiloValidationError(`${field}.${key}`, `value must be shorter than ${MAX_METADATA_VALUE_BYTES} bytes`);
    }
    out[key] = v;
  }
  return out;
}

/** Rejects keys an options object does not know, so a typo does not silently drop a setting. */
export function checkKnownKeys(field: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key) && obj[key] !== undefined) {
      throw new SiloValidationError(field ? `${field}.${key}` : key, `is not a known option (expected one of: ${known.join(", ")})`);
    }
  }
}

/** Header names and values `Headers` accepts; anything else would throw a TypeError mid-call. */
export function checkHeaders(field: string, value: unknown): Record<string, string> {
  const obj = checkObject(field, value);
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== "string") throw new SiloValidationError(`${field}.${k}`, `must be a string, got ${describe(v)}`);
    try {
      new Headers([[k, v]]);
    } catch {
      throw new SiloValidationError(`${field}.${k}`, "is not a valid HTTP header name and value (no spaces in names, no line breaks in values)");
    }
  }
  return obj as Record<string, string>;
}

/** An AbortSignal, from this realm or another (workerd, jsdom). */
export function checkSignal(field: string, value: unknown): AbortSignal {
  const s = value as Partial<AbortSignal> | null;
  if (typeof s !== "object" || s === null || typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function" || typeof s.removeEventListener !== "function") {
    throw new SiloValidationError(field, `must be an AbortSignal, got ${describe(value)}`);
  }
  return value as AbortSignal;
}

/** Per-call options (`timeoutMs`, `signal`, `headers`), checked before any network call. */
export function checkCallOptions(value: unknown): void {
  if (value === undefined) return;
  const o = checkObject("options", value);
  checkKnownKeys("", o, ["timeoutMs", "signal", "headers"]);
  if (o.timeoutMs !== undefined) checkInt("timeoutMs", o.timeoutMs, 1, 2 ** 31 - 1);
  if (o.signal !== undefined) checkSignal("signal", o.signal);
  if (o.headers !== undefined) checkHeaders("headers", o.headers);
}
