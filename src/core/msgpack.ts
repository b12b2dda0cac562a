// The classes' own ESM modules: the package has no "exports" map, so its name alone would load its
// CommonJS build (about 20 files) on Node's cold start (see msgpack-esm.d.ts).
import { DecodeError } from "@msgpack/msgpack/dist.esm/DecodeError.mjs";
import { ExtData } from "@msgpack/msgpack/dist.esm/ExtData.mjs";

// A compact MessagePack codec for payloads, results and query rows. It gives exactly what
// @msgpack/msgpack 3 gives: `encodeMsgpack` is its `Encoder({ ignoreUndefined: true,
// useBigInt64: true }).encode`, `decodeMsgpack` its default `decode` (same bytes, same values,
// same errors; test/core/msgpack.test.ts compares them), in about a fifth of the bundled size.
// That library's Encoder and Decoder classes are most of a minimal Worker's MessagePack cost;
// only its tiny `ExtData` and `DecodeError` classes are shared, so values and errors stay the
// library's own. One difference: a map key whose last UTF-8 sequence is cut short is read the
// same way every time, where the library's key cache may answer with an earlier key's text.
// No `eval`, so it runs in workerd.

const MAX_DEPTH = 100;

/**
 * An ExtData of either of the package's builds: on Node a caller's `import "@msgpack/msgpack"`
 * gets the CommonJS class, this module the ESM one.
 */
function isExtData(v: object): v is ExtData {
  return v instanceof ExtData || (v.constructor?.name === "ExtData" && typeof (v as ExtData).type === "number" && (v as ExtData).data instanceof Uint8Array);
}

// The encoder's buffer, grown as needed and kept for the next value.
let buf = new Uint8Array(2048);
let view = new DataView(buf.buffer);
let pos = 0;
let busy = false;

function room(n: number): void {
  if (pos + n > buf.length) {
    const next = new Uint8Array((pos + n) * 2);
    next.set(buf);
    buf = next;
    view = new DataView(next.buffer);
  }
}

type Setter = "setUint8" | "setInt8" | "setUint16" | "setInt16" | "setUint32" | "setInt32" | "setFloat64" | "setBigUint64" | "setBigInt64";

/** A type byte, then `value` in `n` bytes (big-endian) through `set`. */
function put(type: number, n: number, set?: Setter, value?: number | bigint): void {
  room(n + 1);
  buf[pos++] = type;
  if (set) view[set](pos, value as never);
  pos += n;
}

/** A length header: `fix + n` below `fixLimit`, else the 8-, 16- or 32-bit form (0 when absent). */
function head(n: number, what: string, fix: number, fixLimit: number, t8: number, t16: number): void {
  if (n < fixLimit) put(fix + n, 0);
  else if (t8 && n < 0x100) put(t8, 1, "setUint8", n);
  else if (n < 0x10000) put(t16, 2, "setUint16", n);
  else if (n < 0x100000000) put(t16 + 1, 4, "setUint32", n);
  else throw new Error(`${what}: ${n}`);
}

/** UTF-8 length of `s` (surrogate pairs joined, a lone surrogate as 3 bytes); written at `pos` when `write`. */
function utf8(s: string, write: boolean): number {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    let c = s.charCodeAt(i++);
    if (c >= 0xd800 && c <= 0xdbff && i < s.length) {
      const low = s.charCodeAt(i);
      if ((low & 0xfc00) === 0xdc00) {
        i++;
        c = ((c & 0x3ff) << 10) + (low & 0x3ff) + 0x10000;
      }
    }
    const len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (write) {
      if (len === 1) buf[pos + n] = c;
      else {
        // Lead byte, then 6 bits per continuation byte.
        buf[pos + n] = (0xf00 >> len) | (c >> (6 * (len - 1)));
        for (let k = 1; k < len; k++) buf[pos + n + k] = 0x80 | ((c >> (6 * (len - 1 - k))) & 0x3f);
      }
    }
    n += len;
  }
  return n;
}

let textEncoder: InstanceType<typeof TextEncoder> | undefined;

function encodeString(s: string): void {
  const n = utf8(s, false);
  room(5 + n);
  head(n, "Too long string", 0xa0, 32, 0xd9, 0xda);
  // Long strings through TextEncoder, as the library does (a lone surrogate becomes U+FFFD there).
  if (s.length > 50) (textEncoder ??= new TextEncoder()).encodeInto(s, buf.subarray(pos));
  else utf8(s, true);
  pos += n;
}

function encodeNumber(v: number): void {
  if (Number.isSafeInteger(v) && v < 0x100000000 && v >= -0x80000000) {
    if (v >= 0) {
      if (v < 0x80) put(v, 0);
      else if (v < 0x100) put(0xcc, 1, "setUint8", v);
      else if (v < 0x10000) put(0xcd, 2, "setUint16", v);
      else put(0xce, 4, "setUint32", v);
    } else if (v >= -0x20) put(v & 0xff, 0);
    else if (v >= -0x80) put(0xd0, 1, "setInt8", v);
    else if (v >= -0x8000) put(0xd1, 2, "setInt16", v);
    else put(0xd2, 4, "setInt32", v);
  } else put(0xcb, 8, "setFloat64", v);
}

/** The timestamp extension's data (type -1): 32, 64 or 96 bits, as the spec's smallest fit. */
function timestamp(date: Date): Uint8Array {
  const ms = date.getTime();
  let sec = Math.floor(ms / 1e3);
  let nsec = (ms - sec * 1e3) * 1e6;
  const carry = Math.floor(nsec / 1e9);
  sec += carry;
  nsec -= carry * 1e9;
  if (sec >= 0 && nsec >= 0 && sec <= 0x3ffffffff) {
    if (nsec === 0 && sec <= 0xffffffff) {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, sec);
      return out;
    }
    const out = new Uint8Array(8);
    const v = new DataView(out.buffer);
    v.setUint32(0, (nsec << 2) | ((sec / 0x100000000) & 0x3));
    v.setUint32(4, sec & 0xffffffff);
    return out;
  }
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, nsec);
  v.setUint32(4, Math.floor(sec / 0x100000000));
  v.setUint32(8, sec);
  return out;
}

function encodeExt(type: number, data: Uint8Array): void {
  const n = data.length;
  const fixed = [1, 2, 4, 8, 16].indexOf(n);
  if (fixed >= 0) put(0xd4 + fixed, 0);
  else head(n, "Too large extension object", 0, 0, 0xc7, 0xc8);
  put(type & 0xff, 0);
  writeBytes(data);
}

function writeBytes(data: Uint8Array): void {
  room(data.length);
  buf.set(data, pos);
  pos += data.length;
}

function encodeValue(v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`Too deep objects in depth ${depth}`);
  if (v == null) put(0xc0, 0);
  else if (typeof v === "boolean") put(v ? 0xc3 : 0xc2, 0);
  else if (typeof v === "number") encodeNumber(v);
  else if (typeof v === "string") encodeString(v);
  else if (typeof v === "bigint") put(v >= 0n ? 0xcf : 0xd3, 8, v >= 0n ? "setBigUint64" : "setBigInt64", v);
  else if (v instanceof Date) encodeExt(-1, timestamp(v));
  else if (isExtData(v)) encodeExt(v.type, v.data as Uint8Array);
  else if (Array.isArray(v)) {
    head(v.length, "Too large array", 0x90, 16, 0, 0xdc);
    for (const item of v) encodeValue(item, depth + 1);
  } else if (ArrayBuffer.isView(v)) {
    head(v.byteLength, "Too large binary", 0, 0, 0xc4, 0xc5);
    writeBytes(v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    let size = 0;
    for (const key of keys) if (o[key] !== undefined) size++;
    head(size, "Too large map object", 0x80, 16, 0, 0xde);
    for (const key of keys) {
      const value = o[key];
      if (value !== undefined) {
        encodeString(key);
        encodeValue(value, depth + 1);
      }
    }
  } else {
    throw new Error(`Unrecognized object: ${Object.prototype.toString.apply(v)}`);
  }
}

/**
 * Encodes `value` as MessagePack: a fresh array (the buffer is reused). Undefined map values
 * are left out; bigints are 64-bit; integers beyond 32 bits are float64; Dates are timestamps.
 */
export function encodeMsgpack(value: unknown): Uint8Array {
  // A getter may encode while we do: it gets its own buffer, and ours is restored after.
  const saved = busy ? ([buf, view, pos] as const) : undefined;
  if (saved) {
    buf = new Uint8Array(2048);
    view = new DataView(buf.buffer);
  }
  busy = true;
  pos = 0;
  try {
    encodeValue(value, 1);
    return buf.slice(0, pos);
  } finally {
    if (saved) [buf, view, pos] = saved;
    else busy = false;
  }
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/** UTF-8 as the library reads it: up to 200 bytes leniently by hand (bad bytes kept as code units), longer through TextDecoder. */
function utf8Text(start: number, n: number): string {
  if (n > 200) return (textDecoder ??= new TextDecoder()).decode(bytes.subarray(start, start + n));
  const end = start + n;
  let i = start;
  let out = "";
  while (i < end) {
    const b1 = bytes[i++]!;
    let unit: number;
    if ((b1 & 0x80) === 0) unit = b1;
    else if ((b1 & 0xe0) === 0xc0) unit = ((b1 & 0x1f) << 6) | (bytes[i++]! & 0x3f);
    else if ((b1 & 0xf0) === 0xe0) unit = ((b1 & 0x1f) << 12) | ((bytes[i++]! & 0x3f) << 6) | (bytes[i++]! & 0x3f);
    else if ((b1 & 0xf8) === 0xf0) {
      unit = ((b1 & 0x07) << 0x12) | ((bytes[i++]! & 0x3f) << 0x0c) | ((bytes[i++]! & 0x3f) << 0x06) | (bytes[i++]! & 0x3f);
      if (unit > 0xffff) {
        unit -= 0x10000;
        out += String.fromCharCode(((unit >>> 10) & 0x3ff) | 0xd800);
        unit = 0xdc00 | (unit & 0x3ff);
      }
    } else unit = b1;
    out += String.fromCharCode(unit);
  }
  return out;
}

/** An array or map being filled; `key` is `NO_KEY` while a map waits for its next key. */
interface Open {
  into: Record<string | number, unknown>;
  size: number;
  count: number;
  map: boolean;
  key: unknown;
}

const NO_KEY = Symbol();

// The decoder's input; decoding runs no caller code, so it is never re-entered.
let bytes: Uint8Array = buf;
let dv: DataView = view;
let at = 0;

/** A `size`-byte field after a `skip`-byte length, checked against what is left: its start. */
function take(size: number, skip: number): number {
  if (dv.byteLength - at < size + skip) throw new RangeError("Insufficient data");
  const start = at + skip;
  at = start + size;
  return start;
}

type Getter = "getUint8" | "getInt8" | "getUint16" | "getInt16" | "getUint32" | "getInt32" | "getFloat32" | "getFloat64";

function read(get: Getter, n: number): number {
  const v = dv[get](at);
  at += n;
  return v;
}

/** The 1-, 2- or 4-byte length at `at`, not consumed. */
function look(n: number): number {
  return n === 1 ? dv.getUint8(at) : n === 2 ? dv.getUint16(at) : dv.getUint32(at);
}

/** A string of `n` bytes after a `skip`-byte length. */
function readString(n: number, skip: number): string {
  const start = take(n, skip);
  return utf8Text(start, n);
}

/**
 * Decodes one MessagePack value filling all of `input`. Throws the library's errors:
 * `DecodeError` for a value that cannot be one, `RangeError` for missing or extra bytes.
 * Binary values are views into `input`; int64 and uint64 come back as (possibly rounded) numbers.
 */
export function decodeMsgpack(input: Uint8Array): unknown {
  bytes = input;
  dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  at = 0;
  const open: Open[] = [];
  for (;;) {
    const type = read("getUint8", 1);
    let v: unknown;
    let size = -1; // of an array or map to open
    let isMap = false;
    if (type < 0x80) v = type;
    else if (type < 0x90) {
      size = type - 0x80;
      isMap = true;
    } else if (type < 0xa0) size = type - 0x90;
    else if (type < 0xc0) v = readString(type - 0xa0, 0);
    else if (type >= 0xe0) v = type - 0x100;
    else if (type === 0xc0) v = null;
    else if (type === 0xc2 || type === 0xc3) v = type === 0xc3;
    else if (type >= 0xc4 && type <= 0xc6) {
      const n = 1 << (type - 0xc4);
      v = bytes.subarray(take(look(n), n), at);
    } else if ((type >= 0xc7 && type <= 0xc9) || (type >= 0xd4 && type <= 0xd8)) {
      const n = type <= 0xc9 ? 1 << (type - 0xc7) : 0;
      const len = n ? look(n) : 1 << (type - 0xd4);
      const extType = dv.getInt8(at + n);
      const data = bytes.subarray(take(len, n + 1), at);
      v = extType === -1 ? readTimestamp(data) : new ExtData(extType, data);
    } else if (type === 0xca) v = read("getFloat32", 4);
    else if (type === 0xcb) v = read("getFloat64", 8);
    else if (type === 0xcc) v = read("getUint8", 1);
    else if (type === 0xcd) v = read("getUint16", 2);
    else if (type === 0xce) v = read("getUint32", 4);
    else if (type === 0xcf || type === 0xd3) {
      const high = read(type === 0xcf ? "getUint32" : "getInt32", 4);
      v = high * 0x100000000 + read("getUint32", 4);
    } else if (type === 0xd0) v = read("getInt8", 1);
    else if (type === 0xd1) v = read("getInt16", 2);
    else if (type === 0xd2) v = read("getInt32", 4);
    else if (type >= 0xd9 && type <= 0xdb) {
      const n = 1 << (type - 0xd9);
      v = readString(look(n), n);
    } else if (type >= 0xdc && type <= 0xdf) {
      isMap = type >= 0xde;
      size = type & 1 ? read("getUint32", 4) : read("getUint16", 2);
    } else throw new DecodeError("Unrecognized type byte: 0xc1");
    if (size > 0) {
      open.push({ into: isMap ? {} : (new Array(size) as unknown as Record<number, unknown>), size, count: 0, map: isMap, key: NO_KEY });
      continue;
    }
    if (size === 0) v = isMap ? {} : [];
    // Completes the open arrays and maps this value finishes.
    for (;;) {
      const top = open[open.length - 1];
      if (top === undefined) {
        if (at < dv.byteLength) throw new RangeError(`Extra ${dv.byteLength - at} of ${dv.byteLength} byte(s) found at buffer[${at}]`);
        return v;
      }
      if (top.map && top.key === NO_KEY) {
        if (v === "__proto__") throw new DecodeError("The key __proto__ is not allowed");
        if (typeof v !== "string" && typeof v !== "number") throw new DecodeError(`The type of key must be string or number but ${typeof v}`);
        top.key = v;
        break;
      }
      top.into[top.map ? (top.key as string) : top.count] = v;
      top.key = NO_KEY;
      if (++top.count < top.size) break;
      v = top.into;
      open.pop();
    }
  }
}

function readTimestamp(data: Uint8Array): Date {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let sec: number;
  let nsec = 0;
  switch (data.byteLength) {
    case 4:
      sec = dv.getUint32(0);
      break;
    case 8: {
      const high = dv.getUint32(0);
      sec = (high & 0x3) * 0x100000000 + dv.getUint32(4);
      nsec = high >>> 2;
      break;
    }
    case 12:
      sec = dv.getInt32(4) * 0x100000000 + dv.getUint32(8);
      nsec = dv.getUint32(0);
      break;
    default:
      throw new DecodeError(`Unrecognized data size for timestamp (expected 4, 8, or 12): ${data.length}`);
  }
  return new Date(sec * 1e3 + nsec / 1e6);
}
