// The upstream client's MessagePack helpers under its own names (`encodeBytes`, `decodeBytes`,
// `tolerantDecodeAttemptBytes` in typescript_client/src/client.ts), for code and tests written
// against @silo/client. silo-edge's own names are `encodePayload`, `decodePayload` and the lenient
// decoding `getJob` / `getJobResult` already apply.
import { decodeLenient, decodePayload, encodePayload } from "./payload-codec.js";
import { PayloadDecodeError } from "./payload-decode-error.js";

/** Encodes a value as MessagePack (`encodePayload` with the field named `value`). */
export function encodeBytes(value: unknown): Uint8Array {
  return encodePayload(value, "value");
}

/**
 * Decodes MessagePack bytes. Unlike `decodePayload`, absent or empty bytes are an error, as they
 * are upstream: `PayloadDecodeError` saying "No bytes to decode for field <field>".
 */
export function decodeBytes<T = unknown>(bytes: Uint8Array | undefined, field: string): T {
  if (bytes === undefined || bytes.length === 0) throw new PayloadDecodeError(field, `No bytes to decode for field ${field}`);
  return decodePayload(bytes, field) as T;
}

/**
 * Decodes an attempt's stored result or error data without ever throwing: empty bytes give
 * `undefined`, bytes that are not MessagePack their UTF-8 text (or the bytes themselves when they
 * are not UTF-8). `field` is accepted for the upstream signature and not used.
 */
export function tolerantDecodeAttemptBytes<T = unknown>(bytes: Uint8Array | undefined, _field?: string): T | undefined {
  return decodeLenient(bytes) as T | undefined;
}
