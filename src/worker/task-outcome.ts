import { encodePayload } from "../core/payload-codec.js";

/** The `outcome` oneof of `ReportOutcomeRequest`, ready to send. */
export type WireOutcome =
  | { case: "success"; value: { encoding: { case: "msgpack"; value: Uint8Array } } }
  | { case: "failure"; value: { code: string; data: { encoding: { case: "msgpack"; value: Uint8Array } } } }
  | { case: "cancelled"; value: Record<string, never> };

/** Error code reported when a handler throws something without a string `code`. */
export const HANDLER_ERROR = "HANDLER_ERROR";
/** Error code reported when a handler's result or failure data cannot be MessagePack-encoded. */
export const RESULT_NOT_ENCODABLE = "RESULT_NOT_ENCODABLE";
/** Error code reported when the job's payload is not valid MessagePack. */
export const PAYLOAD_NOT_DECODABLE = "PAYLOAD_NOT_DECODABLE";

const CANCELLED: WireOutcome = { case: "cancelled", value: {} };

function msgpack(value: Uint8Array): { encoding: { case: "msgpack"; value: Uint8Array } } {
  return { encoding: { case: "msgpack", value } };
}

/** The cancelled outcome. */
export function cancelledOutcome(): WireOutcome {
  return CANCELLED;
}

/** A failure with `data` encoded; data that cannot be encoded is replaced by a description. */
export function failureOutcome(code: string, data: unknown): WireOutcome {
  let bytes: Uint8Array;
  try {
    bytes = encodePayload(data, "failure data");
  } catch (err) {
    bytes = encodePayload({ message: (err as Error).message, name: "SiloValidationError", code });
    code = RESULT_NOT_ENCODABLE;
  }
  return { case: "failure", value: { code, data: msgpack(bytes) } };
}

/** The failure a thrown value reports: code `error.code` when it is a string, data `{ message, name }`. */
export function errorOutcome(err: unknown): WireOutcome {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null | undefined;
  const isObject = typeof err === "object" && err !== null;
  const code = isObject && typeof e?.code === "string" && e.code !== "" ? e.code : HANDLER_ERROR;
  const message = isObject && typeof e?.message === "string" ? e.message : String(err);
  const name = isObject && typeof e?.name === "string" ? e.name : typeof err;
  return failureOutcome(code, { message, name });
}

/** What a handler's return value reports: a `TaskOutcome` as given, anything else as the result. */
export function resultOutcome(value: unknown): WireOutcome {
  let result = value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = value as { type?: unknown; code?: unknown; data?: unknown; result?: unknown };
    if (v.type === "cancelled") return CANCELLED;
    if (v.type === "failure" && typeof v.code === "string" && v.code !== "") return failureOutcome(v.code, v.data);
    if (v.type === "success" && "result" in v) result = v.result;
  }
  try {
    return { case: "success", value: msgpack(encodePayload(result, "result")) };
  } catch (err) {
    return failureOutcome(RESULT_NOT_ENCODABLE, { message: (err as Error).message, name: (err as Error).name });
  }
}
