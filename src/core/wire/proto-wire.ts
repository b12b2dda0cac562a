// Protobuf binary wire format: the reader and writer the hand-written codec needs, and nothing
// more. Our own, so the root entry loads no file of @bufbuild/protobuf (its index boots 60-odd
// modules an unbundled cold start pays for). The method names follow protobuf-es's BinaryReader
// and BinaryWriter, against which test/wire/ checks every message both ways.

/** Protobuf wire types (the low 3 bits of a tag). */
export enum WireType {
  Varint = 0,
  Bit64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Bit32 = 5,
}

/** An int64 field value as the generated types accept it. */
export type Int64Input = bigint | number | string;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
let textEncoder: InstanceType<typeof TextEncoder> | undefined;
let textDecoder: InstanceType<typeof TextDecoder> | undefined;

function defaultDecodeUtf8(bytes: Uint8Array): string {
  return (textDecoder ??= new TextDecoder()).decode(bytes);
}

export class BinaryReader {
  /** Current read position. */
  pos = 0;
  /** Number of bytes. */
  readonly len: number;
  readonly #view: DataView;
  readonly #buf: Uint8Array;
  readonly #decodeUtf8: (bytes: Uint8Array) => string;

  constructor(buf: Uint8Array, decodeUtf8: (bytes: Uint8Array) => string = defaultDecodeUtf8) {
    this.#buf = buf;
    this.#decodeUtf8 = decodeUtf8;
    this.len = buf.length;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Reads a tag: `[fieldNo, wireType]`. */
  tag(): [number, WireType] {
    const tag = this.uint32();
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo <= 0 || wireType > 5) throw new Error(`illegal tag: field no ${fieldNo} wire type ${wireType}`);
    return [fieldNo, wireType];
  }

  /** Skips one field of the given wire type; returns the skipped bytes. */
  skip(wireType: WireType, fieldNo?: number): Uint8Array {
    const start = this.pos;
    switch (wireType) {
      case WireType.Varint:
        while ((this.#byte() & 0x80) !== 0) {
          // Continuation bit set: keep going.
        }
        break;
      case WireType.Bit64:
        this.#advance(8);
        break;
      case WireType.Bit32:
        this.#advance(4);
        break;
      case WireType.LengthDelimited:
        this.#advance(this.uint32());
        break;
      case WireType.StartGroup:
        for (;;) {
          const [fn, wt] = this.tag();
          if (wt === WireType.EndGroup) {
            if (fieldNo !== undefined && fn !== fieldNo) throw new Error("invalid end group tag");
            break;
          }
          this.skip(wt, fn);
        }
        break;
      default:
        throw new Error(`can't skip wire type ${wireType}`);
    }
    return this.#buf.subarray(start, this.pos);
  }

  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.#byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    // A 32-bit value encoded as a 10-byte varint (negative int32): drop the high bytes.
    for (let i = 0; i < 5; i++) if ((this.#byte() & 0x80) === 0) return result >>> 0;
    throw new Error("invalid varint");
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** A 64-bit varint as a signed bigint. */
  int64(): bigint {
    return BigInt.asIntN(64, this.#varint64());
  }

  uint64(): bigint {
    return this.#varint64();
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  double(): number {
    const value = this.#view.getFloat64(this.pos, true);
    this.#advance(8);
    return value;
  }

  bytes(): Uint8Array {
    const len = this.uint32();
    const start = this.pos;
    this.#advance(len);
    return this.#buf.subarray(start, start + len);
  }

  string(): string {
    return this.#decodeUtf8(this.bytes());
  }

  #varint64(): bigint {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    throw new Error("invalid varint");
  }

  #byte(): number {
    if (this.pos >= this.len) throw new RangeError("premature EOF");
    return this.#buf[this.pos++] as number;
  }

  #advance(n: number): void {
    if (n < 0 || this.pos + n > this.len) throw new RangeError("premature EOF");
    this.pos += n;
  }
}

export class BinaryWriter {
  #buf = new Uint8Array(256);
  #pos = 0;
  /** Start offsets of the open length-delimited fields (see fork/join). */
  readonly #forks: number[] = [];

  /** Returns the bytes written so far (a copy) and resets the writer for reuse. */
  finish(): Uint8Array {
    if (this.#forks.length > 0) throw new Error("invalid state, fork stack not empty");
    const out = this.#buf.slice(0, this.#pos);
    this.#pos = 0;
    return out;
  }

  /** Starts a length-delimited field; its length is written by {@link join}. */
  fork(): this {
    // Reserve the usual single length byte; join() moves the body when the length needs more.
    this.#forks.push(this.#pos);
    this.#ensure(1);
    this.#pos += 1;
    return this;
  }

  /** Ends the innermost {@link fork}, writing its length before its bytes. */
  join(): this {
    const start = this.#forks.pop();
    if (start === undefined) throw new Error("invalid state, fork stack empty");
    const bodyStart = start + 1;
    const len = this.#pos - bodyStart;
    const lenBytes = varint32Size(len);
    if (lenBytes > 1) {
      // Rare (sub-messages over 127 bytes): shift the body right to make room for the length.
      this.#ensure(lenBytes - 1);
      this.#buf.copyWithin(start + lenBytes, bodyStart, this.#pos);
      this.#pos += lenBytes - 1;
    }
    let p = start;
    let v = len;
    while (v > 0x7f) {
      this.#buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[p] = v;
    return this;
  }

  tag(fieldNo: number, wireType: WireType): this {
    return this.#varint32(((fieldNo << 3) | wireType) >>> 0);
  }

  /** Writes bytes as they are (no length prefix). */
  raw(bytes: Uint8Array): this {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    return this;
  }

  uint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`invalid uint32: ${value}`);
    return this.#varint32(value);
  }

  #varint32(value: number): this {
    this.#ensure(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[this.#pos++] = v;
    return this;
  }

  int32(value: number): this {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`invalid int32: ${value}`);
    // Negative int32 values take ten bytes, sign-extended to 64 bits.
    return value < 0 ? this.#varint64(BigInt.asUintN(64, BigInt(value))) : this.#varint32(value);
  }

  int64(value: Int64Input): this {
    const v = BigInt(value);
    if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`invalid int64: ${v}`);
    return this.#varint64(BigInt.asUintN(64, v));
  }

  uint64(value: Int64Input): this {
    const v = BigInt(value);
    if (v < 0n || v > UINT64_MAX) throw new RangeError(`invalid uint64: ${v}`);
    return this.#varint64(v);
  }

  bool(value: boolean): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = value ? 1 : 0;
    return this;
  }

  double(value: number): this {
    this.#ensure(8);
    new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#pos, 8).setFloat64(0, value, true);
    this.#pos += 8;
    return this;
  }

  bytes(value: Uint8Array): this {
    return this.#varint32(value.length).raw(value);
  }

  string(value: string): this {
    // Most strings here are ASCII ids and names: write them directly, else encode.
    const len = value.length;
    let ascii = len <= 256;
    for (let i = 0; ascii && i < len; i++) if (value.charCodeAt(i) > 0x7f) ascii = false;
    if (!ascii) return this.bytes((textEncoder ??= new TextEncoder()).encode(value));
    this.#varint32(len);
    this.#ensure(len);
    for (let i = 0; i < len; i++) this.#buf[this.#pos++] = value.charCodeAt(i);
    return this;
  }

  #varint64(value: bigint): this {
    this.#ensure(10);
    let lo = Number(value & 0xffffffffn);
    let hi = Number(value >> 32n);
    while (hi > 0 || lo > 0x7f) {
      this.#buf[this.#pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
      hi >>>= 7;
    }
    this.#buf[this.#pos++] = lo;
    return this;
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }
}

function varint32Size(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  return 5;
}

/** Decodes standard or URL-safe base64, with or without padding. */
export function base64Decode(text: string): Uint8Array {
  const normalized = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const padded = normalized + "=".repeat((4 - (normalized.length % 4)) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
