import { HpackError, decodeHuffman } from "./hpack-huffman.js";
import { latin1 } from "./latin1.js";

// HPACK (RFC 7541) for our HTTP/2 client: a decoder for the server's header blocks, with its
// dynamic table, and a stateless encoder. The encoder never adds to the server's dynamic table,
// so the blocks it makes can be cached and concatenated in any order.

export { HpackError };

/** The static table (RFC 7541 Appendix A): entry i + 1 is (staticNames[i], staticValues[i]). */
const staticNames = [
  ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status",
  ":status", ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding",
  "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age", "allow",
  "authorization", "cache-control", "content-disposition", "content-encoding", "content-language",
  "content-length", "content-location", "content-range", "content-type", "cookie", "date", "etag",
  "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "link", "location", "max-forwards", "proxy-authenticate",
  "proxy-authorization", "range", "referer", "refresh", "retry-after", "server", "set-cookie",
  "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
] as const;
const staticValues = [
  "", "GET", "POST", "/", "/index.html", "http", "https", "200", "204",
  "206", "304", "400", "404", "500", "", "gzip, deflate",
] as const; // entries 17..61 have empty values

const staticCount = 61;

function staticValue(index: number): string {
  return staticValues[index - 1] ?? "";
}

/** Lowest static-table index of each name. */
const staticNameIndex = new Map<string, number>();
for (let i = staticCount; i >= 1; i--) staticNameIndex.set(staticNames[i - 1]!, i);

/** Largest integer a decoded HPACK integer may be (2^31 - 1). */
const maxInteger = 0x7fffffff;

/**
 * Decodes the header blocks of one HTTP/2 connection (the server-to-client direction), keeping the
 * dynamic table between blocks. Any HpackError leaves the table unusable: the connection must be
 * closed with COMPRESSION_ERROR.
 */
export class HpackDecoder {
  // Dynamic table as a ring buffer, newest entry at `head`; capacity is a power of two.
  #names: string[] = [];
  #values: string[] = [];
  #mask = -1;
  #head = 0;
  #count = 0;
  /** Size of the entries in octets (RFC 7541 §4.1). */
  #size = 0;
  /** Maximum size the encoder chose with its last dynamic table size update. */
  #maxSize: number;
  /** Our SETTINGS_HEADER_TABLE_SIZE: the largest size the encoder may choose. */
  #limit: number;
  #sizeUpdateRequired = false;
  #pos = 0;

  constructor(maxTableSize = 4096) {
    checkTableSize(maxTableSize);
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
  }

  /**
   * Changes the limit on the dynamic table size (our SETTINGS_HEADER_TABLE_SIZE, once acked).
   * Lowering it below the encoder's current size evicts entries at once, and the next block must
   * start with a dynamic table size update (RFC 7541 §4.2).
   */
  setMaxTableSize(n: number): void {
    checkTableSize(n);
    this.#limit = n;
    if (n < this.#maxSize) {
      this.#maxSize = n;
      this.#evictTo(n);
      this.#sizeUpdateRequired = true;
    }
  }

  /** Current size of the dynamic table in octets. */
  get dynamicTableSize(): number {
    return this.#size;
  }

  /** The dynamic table's entries, newest first (index 62 first). For tests and debugging. */
  dynamicTableEntries(): Array<[name: string, value: string]> {
    const entries: Array<[string, string]> = [];
    for (let i = 0; i < this.#count; i++) {
      const slot = (this.#head + i) & this.#mask;
      entries.push([this.#names[slot]!, this.#values[slot]!]);
    }
    return entries;
  }

  /**
   * Decodes one complete header block (the HEADERS and CONTINUATION fragments joined), calling
   * `onField` for each field in order. Throws HpackError on any malformed input.
   */
  decode(block: Uint8Array, onField: (name: string, value: string) => void): void {
    const end = block.length;
    let atStart = true;
    this.#pos = 0;
    while (this.#pos < end) {
      const first = block[this.#pos]!;
      if (first >= 0x80) {
        // Indexed header field (§6.1).
        const index = this.#readInteger(block, 7);
        if (this.#sizeUpdateRequired) throw missingSizeUpdate();
        atStart = false;
        onField(this.#nameAt(index), this.#valueAt(index));
      } else if (first >= 0x40) {
        // Literal header field with incremental indexing (§6.2.1).
        const index = this.#readInteger(block, 6);
        if (this.#sizeUpdateRequired) throw missingSizeUpdate();
        atStart = false;
        const name = index === 0 ? this.#readString(block) : this.#nameAt(index);
        const value = this.#readString(block);
        this.#insert(name, value);
        onField(name, value);
      } else if (first >= 0x20) {
        // Dynamic table size update (§6.3): only before the block's first field.
        if (!atStart) throw new HpackError("HPACK: dynamic table size update after a header field");
        const size = this.#readInteger(block, 5);
        if (size > this.#limit) {
          throw new HpackError(`HPACK: dynamic table size update to ${size} exceeds the limit of ${this.#limit}`);
        }
        this.#maxSize = size;
        this.#evictTo(size);
        this.#sizeUpdateRequired = false;
      } else {
        // Literal header field without indexing (0000xxxx) or never indexed (0001xxxx) (§6.2.2-3).
        const index = this.#readInteger(block, 4);
        if (this.#sizeUpdateRequired) throw missingSizeUpdate();
        atStart = false;
        const name = index === 0 ? this.#readString(block) : this.#nameAt(index);
        onField(name, this.#readString(block));
      }
    }
  }

  /** Reads an integer with an N-bit prefix (§5.1) at `this.#pos`. */
  #readInteger(block: Uint8Array, prefixBits: number): number {
    const end = block.length;
    let pos = this.#pos;
    if (pos >= end) throw truncated();
    const prefixMax = (1 << prefixBits) - 1;
    let value = block[pos++]! & prefixMax;
    if (value === prefixMax) {
      let multiplier = 1;
      let octet: number;
      do {
        if (pos >= end) throw truncated();
        // 5 continuation octets carry 35 bits, more than any integer we accept.
        if (multiplier > 2 ** 28) throw new HpackError("HPACK: integer encoding too long");
        octet = block[pos++]!;
        value += (octet & 0x7f) * multiplier;
        multiplier *= 128;
      } while (octet >= 0x80);
      if (value > maxInteger) throw new HpackError("HPACK: integer too large");
    }
    this.#pos = pos;
    return value;
  }

  /** Reads a string literal (§5.2) at `this.#pos`. */
  #readString(block: Uint8Array): string {
    if (this.#pos >= block.length) throw truncated();
    const huffman = block[this.#pos]! >= 0x80;
    const length = this.#readInteger(block, 7);
    const start = this.#pos;
    const stop = start + length;
    if (stop > block.length) throw truncated();
    this.#pos = stop;
    return huffman ? decodeHuffman(block, start, stop) : latin1(block, start, stop);
  }

  #nameAt(index: number): string {
    if (index <= staticCount) {
      if (index === 0) throw new HpackError("HPACK: index 0");
      return staticNames[index - 1]!;
    }
    return this.#names[this.#slotOf(index)]!;
  }

  #valueAt(index: number): string {
    if (index <= staticCount) {
      if (index === 0) throw new HpackError("HPACK: index 0");
      return staticValue(index);
    }
    return this.#values[this.#slotOf(index)]!;
  }

  #slotOf(index: number): number {
    const i = index - staticCount - 1;
    if (i >= this.#count) throw new HpackError(`HPACK: index ${index} is out of range`);
    return (this.#head + i) & this.#mask;
  }

  /** Adds an entry, evicting the oldest as needed (§4.4). */
  #insert(name: string, value: string): void {
    const entrySize = name.length + value.length + 32;
    if (entrySize > this.#maxSize) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - entrySize);
    if (this.#count === this.#names.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#count++;
    this.#size += entrySize;
  }

  /** Evicts the oldest entries until the table's size is at most `size`. */
  #evictTo(size: number): void {
    while (this.#size > size) {
      const slot = (this.#head + this.#count - 1) & this.#mask;
      this.#size -= this.#names[slot]!.length + this.#values[slot]!.length + 32;
      this.#names[slot] = "";
      this.#values[slot] = "";
      this.#count--;
    }
  }

  #grow(): void {
    const capacity = Math.max(16, 2 * this.#names.length);
    const names = new Array<string>(capacity).fill("");
    const values = new Array<string>(capacity).fill("");
    for (let i = 0; i < this.#count; i++) {
      const slot = (this.#head + i) & this.#mask;
      names[i] = this.#names[slot]!;
      values[i] = this.#values[slot]!;
    }
    this.#names = names;
    this.#values = values;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}

function checkTableSize(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`invalid HPACK table size: ${n}`);
}

function truncated(): HpackError {
  return new HpackError("HPACK: truncated header block");
}

function missingSizeUpdate(): HpackError {
  return new HpackError("HPACK: expected a dynamic table size update at the start of the header block");
}

/**
 * Encodes one header field. An exact static-table match becomes an indexed field (`:method: POST`
 * is the single octet 0x83); anything else a literal field without indexing, or never indexed when
 * `sensitive`, naming the static-table entry when the name is there. Strings are raw latin1
 * octets (no Huffman). The name must already be lowercase; nothing is validated.
 */
export function encodeField(name: string, value: string, sensitive = false): Uint8Array {
  const nameIndex = staticNameIndex.get(name) ?? 0;
  if (nameIndex !== 0) {
    for (let i = nameIndex; i <= staticCount && staticNames[i - 1] === name; i++) {
      if (staticValue(i) === value) return Uint8Array.of(0x80 | i);
    }
  }
  let length = integerLength(nameIndex, 4) + integerLength(value.length, 7) + value.length;
  if (nameIndex === 0) length += integerLength(name.length, 7) + name.length;
  const out = new Uint8Array(length);
  let pos = writeInteger(out, 0, sensitive ? 0x10 : 0x00, nameIndex, 4);
  if (nameIndex === 0) pos = writeString(out, pos, name);
  writeString(out, pos, value);
  return out;
}

/** Joins encoded fields (or blocks) into one header block. */
export function concatBlocks(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

function integerLength(value: number, prefixBits: number): number {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) return 1;
  let length = 2;
  for (let rest = value - prefixMax; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

function writeInteger(out: Uint8Array, pos: number, flags: number, value: number, prefixBits: number): number {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | prefixMax;
  let rest = value - prefixMax;
  while (rest >= 0x80) {
    out[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos++] = rest;
  return pos;
}

/** Writes a raw (non-Huffman) string literal. */
function writeString(out: Uint8Array, pos: number, s: string): number {
  pos = writeInteger(out, pos, 0x00, s.length, 7);
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}
