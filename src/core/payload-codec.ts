import { SiloValidationError } from "./errors.js";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.js";
import { PayloadDecodeError } from "./payload-decode-error.js";

/**
 * MessagePack, the encoding of payloads, results and error data that Silo's official workers
 * decode, through msgpack.ts (@msgpack/msgpack's behaviour in a fraction of its size).
 */

const MAX_DEPTH = 100;

/**
 * The first value inside `value` MessagePack cannot carry, as `[its path below value, what is
 * wrong]`, or undefined when there is none. Allocates only once it found one, so the common case
 * (an encodable payload) costs one walk and no garbage.
 */
function unencodable(value: unknown, depth: number, ancestors: object[]): [string, string] | undefined {
  switch (typeof value) {
    case "function":
    case "symbol":
      return ["", `is a ${typeof value}, which MessagePack cannot encode`];
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null) return undefined;
  if (depth > MAX_DEPTH) return ["", `is nested more than ${MAX_DEPTH} levels deep`];
  const obj = value as object;
  if (obj instanceof Uint8Array || obj instanceof Date || ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return undefined;
  if (ancestors.includes(obj)) return ["", "contains a circular reference"];
  ancestors.push(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        const problem = unencodable(obj[i], depth + 1, ancestors);
        if (problem) return [`[${i}]${problem[0]}`, problem[1]];
      }
      return undefined;
    }
    if (obj instanceof Map || obj instanceof Set || obj instanceof Promise) return ["", `is a ${obj.constructor.name}; use a plain object or array`];
    for (const key in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
      const problem = unencodable((obj as Record<string, unknown>)[key], depth + 1, ancestors);
      if (problem) return [`.${key}${problem[0]}`, problem[1]];
    }
    return undefined;
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
  const problem = unencodable(value, 0, ancestorsScratch);
  if (problem) throw new SiloValidationError(field, `${field}${problem[0]} ${problem[1]}`);
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
