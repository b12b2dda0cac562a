import { decode, encode } from "@msgpack/msgpack";
import { SiloValidationError } from "./errors.js";

/**
 * MessagePack, the encoding of payloads, results and error data that Silo's official workers
 * decode. @msgpack/msgpack uses no `eval`, so it runs in workerd.
 */

const MAX_DEPTH = 100;

/** Finds the first value MessagePack cannot carry, so the error can name where it is. */
function findUnencodable(value: unknown, path: string, depth: number, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "function":
      return `${path} is a function, which MessagePack cannot encode`;
    case "symbol":
      return `${path} is a symbol, which MessagePack cannot encode`;
    case "number":
    case "string":
    case "boolean":
    case "bigint":
    case "undefined":
      return undefined;
  }
  if (value === null) return undefined;
  if (depth > MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
  const obj = value as object;
  if (obj instanceof Uint8Array || obj instanceof Date || ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    return undefined;
  }
  if (seen.has(obj)) return `${path} contains a circular reference`;
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        const problem = findUnencodable(obj[i], `${path}[${i}]`, depth + 1, seen);
        if (problem) return problem;
      }
      return undefined;
    }
    if (obj instanceof Map || obj instanceof Set || obj instanceof Promise) {
      return `${path} is a ${obj.constructor.name}; use a plain object or array`;
    }
    for (const key of Object.keys(obj)) {
      const problem = findUnencodable((obj as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, seen);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    seen.delete(obj);
  }
}

/**
 * Encodes a JSON-like value as MessagePack. `field` names the option in errors. Undefined object
 * properties are dropped, as JSON would.
 */
export function encodePayload(value: unknown, field = "payload"): Uint8Array {
  const problem = findUnencodable(value, field, 0, new Set());
  if (problem) throw new SiloValidationError(field, problem);
  try {
    return encode(value, { ignoreUndefined: true, useBigInt64: true });
  } catch (err) {
    throw new SiloValidationError(field, `MessagePack cannot encode it (${(err as Error).message})`);
  }
}

/** Decodes MessagePack bytes; empty bytes decode to `undefined`. */
export function decodePayload(bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  return decode(bytes);
}
