import { BinaryReader, BinaryWriter, WireType } from "./proto-wire.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ConcurrencyLimitSchema,
  FloatingConcurrencyLimitSchema,
  GubernatorRateLimitSchema,
  Limit,
  LimitSchema,
  RateLimitRetryPolicySchema,
  RetryPolicy,
  RetryPolicySchema,
  SerializedBytes,
  SerializedBytesSchema,
} from "../../gen/silo/v1/silo_pb.js";

// Hand-written protobuf encoding of the silo.v1 messages several RPCs share (payload bytes,
// retry policy, limits, string maps), on our own protobuf wire reader and writer (proto-wire.ts).
// The generated silo_pb.ts stays the source of truth: test/wire/silo-wire-codec.test.ts checks
// these against its toBinary/fromBinary. Types come from it as types only, so nothing here boots
// its file descriptor.

export { BinaryReader, BinaryWriter, WireType };

export const LD = WireType.LengthDelimited;
export const VARINT = WireType.Varint;
export const BIT64 = WireType.Bit64;

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/**
 * UTF-8 decoding for `BinaryReader`: ids and shard UUIDs (36 characters) are ASCII but longer
 * than the reader's own ASCII fast path, and TextDecoder costs more than the loop for them.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const len = bytes.length;
  if (len <= 128) {
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if ((bytes[i] as number) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return (textDecoder ??= new TextDecoder()).decode(bytes);
}

/** Reads a field tag; returns `fieldNo << 3 | wireType` as protobuf encodes it. */
export function readTag(r: BinaryReader): number {
  const tag = r.uint32();
  if (tag >>> 3 === 0) throw new Error(`illegal tag: field no 0, wire type ${tag & 7}`);
  return tag;
}

/** Skips a field this client does not know (newer server). */
export function skipField(r: BinaryReader, tag: number): void {
  r.skip((tag & 7) as WireType, tag >>> 3);
}

/** End offset of a length-delimited sub-message starting at the reader's position. */
export function subEnd(r: BinaryReader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError("premature EOF");
  return end;
}

export function readInt64(r: BinaryReader): bigint {
  return r.int64() as bigint;
}


// ---------------------------------------------------------------------------------------------
// map<string, string>

export function writeStringMap(w: BinaryWriter, fieldNo: number, map: { readonly [key: string]: string } | undefined): void {
  if (map === undefined) return;
  for (const key in map) {
    const value = map[key] as string;
    w.tag(fieldNo, LD).fork();
    if (key !== "") w.tag(1, LD).string(key);
    if (value !== "") w.tag(2, LD).string(value);
    w.join();
  }
}

export function readStringMapEntry(r: BinaryReader, map: { [key: string]: string }): void {
  const end = subEnd(r);
  let key = "";
  let value = "";
  while (r.pos < end) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) key = r.string();
    else if (tag === ((2 << 3) | LD)) value = r.string();
    else skipField(r, tag);
  }
  map[key] = value;
}

// ---------------------------------------------------------------------------------------------
// SerializedBytes

export function writeSerializedBytes(w: BinaryWriter, fieldNo: number, m: MessageInitShape<typeof SerializedBytesSchema> | undefined): void {
  if (m === undefined) return;
  w.tag(fieldNo, LD).fork();
  const e = m.encoding;
  if (e !== undefined && e.case === "msgpack") w.tag(1, LD).bytes(e.value);
  w.join();
}

export function readSerializedBytes(r: BinaryReader): SerializedBytes {
  const end = subEnd(r);
  const m: SerializedBytes = { $typeName: "silo.v1.SerializedBytes", encoding: { case: undefined } };
  while (r.pos < end) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.encoding = { case: "msgpack", value: r.bytes() };
    else skipField(r, tag);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// RetryPolicy

export function writeRetryPolicy(w: BinaryWriter, fieldNo: number, m: MessageInitShape<typeof RetryPolicySchema> | undefined): void {
  if (m === undefined) return;
  w.tag(fieldNo, LD).fork();
  if (m.retryCount) w.tag(1, VARINT).uint32(m.retryCount);
  if (m.initialIntervalMs) w.tag(2, VARINT).int64(m.initialIntervalMs);
  if (m.maxIntervalMs) w.tag(3, VARINT).int64(m.maxIntervalMs);
  if (m.randomizeInterval) w.tag(4, VARINT).bool(true);
  if (m.backoffFactor) w.tag(5, BIT64).double(m.backoffFactor);
  w.join();
}

export function readRetryPolicy(r: BinaryReader): RetryPolicy {
  const end = subEnd(r);
  const m: RetryPolicy = {
    $typeName: "silo.v1.RetryPolicy",
    retryCount: 0,
    initialIntervalMs: 0n,
    maxIntervalMs: 0n,
    randomizeInterval: false,
    backoffFactor: 0,
  };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | VARINT:
        m.retryCount = r.uint32();
        break;
      case (2 << 3) | VARINT:
        m.initialIntervalMs = readInt64(r);
        break;
      case (3 << 3) | VARINT:
        m.maxIntervalMs = readInt64(r);
        break;
      case (4 << 3) | VARINT:
        m.randomizeInterval = r.bool();
        break;
      case (5 << 3) | BIT64:
        m.backoffFactor = r.double();
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Limit and its three cases

function writeConcurrencyLimit(w: BinaryWriter, m: MessageInitShape<typeof ConcurrencyLimitSchema>): void {
  if (m.key) w.tag(1, LD).string(m.key);
  if (m.maxConcurrency) w.tag(2, VARINT).uint32(m.maxConcurrency);
}

function writeRateLimitRetryPolicy(w: BinaryWriter, m: MessageInitShape<typeof RateLimitRetryPolicySchema>): void {
  if (m.initialBackoffMs) w.tag(1, VARINT).int64(m.initialBackoffMs);
  if (m.maxBackoffMs) w.tag(2, VARINT).int64(m.maxBackoffMs);
  if (m.backoffMultiplier) w.tag(3, BIT64).double(m.backoffMultiplier);
  if (m.maxRetries) w.tag(4, VARINT).uint32(m.maxRetries);
}

function writeGubernatorRateLimit(w: BinaryWriter, m: MessageInitShape<typeof GubernatorRateLimitSchema>): void {
  if (m.name) w.tag(1, LD).string(m.name);
  if (m.uniqueKey) w.tag(2, LD).string(m.uniqueKey);
  if (m.limit) w.tag(3, VARINT).int64(m.limit);
  if (m.durationMs) w.tag(4, VARINT).int64(m.durationMs);
  if (m.hits) w.tag(5, VARINT).int32(m.hits);
  if (m.algorithm) w.tag(6, VARINT).int32(m.algorithm);
  if (m.behavior) w.tag(7, VARINT).int32(m.behavior);
  if (m.retryPolicy !== undefined) {
    w.tag(8, LD).fork();
    writeRateLimitRetryPolicy(w, m.retryPolicy);
    w.join();
  }
}

function writeFloatingConcurrencyLimit(w: BinaryWriter, m: MessageInitShape<typeof FloatingConcurrencyLimitSchema>): void {
  if (m.key) w.tag(1, LD).string(m.key);
  if (m.defaultMaxConcurrency) w.tag(2, VARINT).uint32(m.defaultMaxConcurrency);
  if (m.refreshIntervalMs) w.tag(3, VARINT).int64(m.refreshIntervalMs);
  writeStringMap(w, 4, m.metadata);
}

export function writeLimits(w: BinaryWriter, fieldNo: number, limits: readonly MessageInitShape<typeof LimitSchema>[] | undefined): void {
  if (limits === undefined) return;
  for (const limit of limits) {
    w.tag(fieldNo, LD).fork();
    const l = limit.limit;
    if (l !== undefined && l.case !== undefined) {
      w.tag(l.case === "concurrency" ? 1 : l.case === "rateLimit" ? 2 : 3, LD).fork();
      if (l.case === "concurrency") writeConcurrencyLimit(w, l.value);
      else if (l.case === "rateLimit") writeGubernatorRateLimit(w, l.value);
      else writeFloatingConcurrencyLimit(w, l.value);
      w.join();
    }
    w.join();
  }
}

export function readLimit(r: BinaryReader): Limit {
  const end = subEnd(r);
  const m: Limit = { $typeName: "silo.v1.Limit", limit: { case: undefined } };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD: {
        const e = subEnd(r);
        const v = { $typeName: "silo.v1.ConcurrencyLimit" as const, key: "", maxConcurrency: 0 };
        while (r.pos < e) {
          const t = readTag(r);
          if (t === ((1 << 3) | LD)) v.key = r.string();
          else if (t === ((2 << 3) | VARINT)) v.maxConcurrency = r.uint32();
          else skipField(r, t);
        }
        m.limit = { case: "concurrency", value: v };
        break;
      }
      case (2 << 3) | LD:
        m.limit = { case: "rateLimit", value: readGubernatorRateLimit(r) };
        break;
      case (3 << 3) | LD: {
        const e = subEnd(r);
        const v = {
          $typeName: "silo.v1.FloatingConcurrencyLimit" as const,
          key: "",
          defaultMaxConcurrency: 0,
          refreshIntervalMs: 0n,
          metadata: {} as { [key: string]: string },
        };
        while (r.pos < e) {
          const t = readTag(r);
          switch (t) {
            case (1 << 3) | LD:
              v.key = r.string();
              break;
            case (2 << 3) | VARINT:
              v.defaultMaxConcurrency = r.uint32();
              break;
            case (3 << 3) | VARINT:
              v.refreshIntervalMs = readInt64(r);
              break;
            case (4 << 3) | LD:
              readStringMapEntry(r, v.metadata);
              break;
            default:
              skipField(r, t);
          }
        }
        m.limit = { case: "floatingConcurrency", value: v };
        break;
      }
      default:
        skipField(r, tag);
    }
  }
  return m;
}

function readGubernatorRateLimit(r: BinaryReader): Extract<Limit["limit"], { case: "rateLimit" }>["value"] {
  const end = subEnd(r);
  const m: Extract<Limit["limit"], { case: "rateLimit" }>["value"] = {
    $typeName: "silo.v1.GubernatorRateLimit",
    name: "",
    uniqueKey: "",
    limit: 0n,
    durationMs: 0n,
    hits: 0,
    algorithm: 0,
    behavior: 0,
  };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.name = r.string();
        break;
      case (2 << 3) | LD:
        m.uniqueKey = r.string();
        break;
      case (3 << 3) | VARINT:
        m.limit = readInt64(r);
        break;
      case (4 << 3) | VARINT:
        m.durationMs = readInt64(r);
        break;
      case (5 << 3) | VARINT:
        m.hits = r.int32();
        break;
      case (6 << 3) | VARINT:
        m.algorithm = r.int32();
        break;
      case (7 << 3) | VARINT:
        m.behavior = r.int32();
        break;
      case (8 << 3) | LD: {
        const e = subEnd(r);
        const p = {
          $typeName: "silo.v1.RateLimitRetryPolicy" as const,
          initialBackoffMs: 0n,
          maxBackoffMs: 0n,
          backoffMultiplier: 0,
          maxRetries: 0,
        };
        while (r.pos < e) {
          const t = readTag(r);
          switch (t) {
            case (1 << 3) | VARINT:
              p.initialBackoffMs = readInt64(r);
              break;
            case (2 << 3) | VARINT:
              p.maxBackoffMs = readInt64(r);
              break;
            case (3 << 3) | BIT64:
              p.backoffMultiplier = r.double();
              break;
            case (4 << 3) | VARINT:
              p.maxRetries = r.uint32();
              break;
            default:
              skipField(r, t);
          }
        }
        m.retryPolicy = p;
        break;
      }
      default:
        skipField(r, tag);
    }
  }
  return m;
}
