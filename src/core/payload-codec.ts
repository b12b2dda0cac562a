import { SiloValidationError } from "./errors.js";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.js";
import { PayloadDecodeError } from "./payload-decode-error.js";

/**
 * MessagePack, the encoding of payloads, results and error data that Silo's official workers
 * decode, through msgpack.ts (@msgpack/msgpack's behaviour in a fraction of its size).
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
 * True when every value is one MessagePack carries as is: the allocation-free check of the common
 * case, before `findUnencodable` (which builds paths for the error message) runs on a failure.
 */
function isEncodable(value: unknown, depth: number, ancestors: object[]): boolean {
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
    case "bigint":
    case "undefined":
      return true;
    case "function":
    case "symbol":
      return false;
  }
  if (value === null) return true;
  if (depth > MAX_DEPTH) return false;
  const obj = value as object;
  if (obj instanceof Uint8Array || obj instanceof Date || ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return true;
  if (ancestors.includes(obj)) return false;
  ancestors.push(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) if (!isEncodable(obj[i], depth + 1, ancestors)) return false;
      return true;
    }
    if (obj instanceof Map || obj instanceof Set || obj instanceof Promise) return false;
    for (const key in obj) {
      if (Object.prototype.hasOwnProperty.call(obj, key) && !isEncodable((obj as Record<string, unknown>)[key], depth + 1, ancestors)) return false;
    }
    return true;
  } finally {
    ancestors.pop();
  }
}

const ancestorsScratch: object[] = [];

/**
 * Encodes a JSON-like value as MessagePack. `field` names the option in errors. Undefined object
 * properties are dropped, as JSON would.
 */
export function encodePayload(value: unknown, field = "payload"): Uint8Array {
  // Push and pop stay balanced (finally), so the scratch stack is empty between calls.
  if (!isEncodable(value, 0, ancestorsScratch)) {
    const problem = findUnencodable(value, field, 0, new Set());
    if (problem) throw new SiloValidationError(field, problem);
  }
  try {
    return encodeMsgpack(value);
  } catch (err) {
    throw new SiloValidationError(field, `MessagePack cannot encode it (${(err as Error).message})`);
  }
}

/**
 * Decodes MessagePack bytes; empty bytes decode to `undefined`. Anything that cannot be decoded
 * (invalid bytes, a `__proto__` map key, nesting deeper than the stack allows) throws
 * `PayloadDecodeError` naming `field`, never the codec's own error.
 */
export function decodePayload(bytes: Uint8Array | undefined, field = "MessagePack bytes"): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return decodeMsgpack(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PayloadDecodeError(field, reason.length > 200 ? `${reason.slice(0, 200)}…` : reason, { cause: err });
  }
}

let utf8: InstanceType<typeof TextDecoder> | undefined;

/**
 * Decodes attempt results and error data, which workers other than ours may have stored as
 * something other than MessagePack: never throws. Empty bytes give `undefined`; bytes that are
 * not MessagePack come back as their UTF-8 text, or as the raw bytes when they are not UTF-8.
 */
export function decodeLenient(bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return decodeMsgpack(bytes);
  } catch {
    try {
      return (utf8 ??= new TextDecoder("utf-8", { fatal: true })).decode(bytes);
    } catch {
      // A plain copy: the network's bytes may be a Node Buffer over a larger chunk.
      return new Uint8Array(bytes);
    }
  }
}
