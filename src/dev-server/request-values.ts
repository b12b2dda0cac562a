import type { SerializedBytes } from "../gen/silo/v1/silo_pb.js";
import { invalidArgument } from "./errors.js";

/** The stock server's metadata limits: at most 16 entries, keys < 64 chars, values < 65,535 bytes. */
export function validateMetadata(metadata: Record<string, string>): void {
  const entries = Object.entries(metadata);
  if (entries.length > 16) throw invalidArgument("metadata has too many entries (max 16)");
  for (const [key, value] of entries) {
    if ([...key].length >= 64) throw invalidArgument("metadata key too long (must be < 64 chars)");
    if (Buffer.byteLength(value, "utf8") >= 65535) {
      throw invalidArgument("metadata value too long (must be < u16::MAX bytes)");
    }
  }
}

export function msgpackBytes(bytes: SerializedBytes | undefined): Uint8Array {
  return bytes?.encoding.case === "msgpack" ? bytes.encoding.value : new Uint8Array();
}

