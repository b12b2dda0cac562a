import { latin1 } from "./latin1.js";

// The HPACK Huffman code (RFC 7541 §5.2, Appendix B) for our HTTP/2 client.
// The code is canonical, so only the 257 code lengths are stored; the codes, and the 4-bit state
// table the decoder walks, are built the first time a Huffman string is decoded or encoded.

/** A malformed header block: an HTTP/2 COMPRESSION_ERROR, fatal to the connection. */
export class HpackError extends Error {
  override name = "HpackError";
}

/** Code length in bits of each symbol, 0..255 then 256 (EOS), from RFC 7541 Appendix B. */
const codeLengths = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, // 256 (EOS)
] as const;

const EOS = 256;

// Decoder state table: one state per internal node of the code tree (256 of them, root = 0), and
// for each state 16 entries, one per next 4 input bits. An entry is -1 when those bits complete
// EOS, else the next state in bits 0-7, the emitted symbol in bits 8-15 and `emitFlag` when a
// symbol was completed (codes are at least 5 bits long, so 4 bits complete at most one).
const emitFlag = 1 << 16;

let codes: Uint32Array | undefined;
let decodeTable: Int32Array | undefined;
/** 1 for the states a string may end in: the root, or ≤ 7 bits down the all-ones (EOS) path. */
let acceptingStates: Uint8Array | undefined;
let scratch = new Uint8Array(256);

/** Assigns the canonical codes: by increasing length, then by symbol. */
function buildCodes(): Uint32Array {
  const order = Array.from(codeLengths.keys()).sort((a, b) => codeLengths[a]! - codeLengths[b]! || a - b);
  const built = new Uint32Array(codeLengths.length);
  let code = 0;
  let prevLength = 0;
  for (const sym of order) {
    const length = codeLengths[sym]!;
    code *= 2 ** (length - prevLength);
    built[sym] = code;
    code++;
    prevLength = length;
  }
  return built;
}

function buildDecodeTable(): void {
  const symbolCodes = (codes ??= buildCodes());
  // Binary tree: children of internal node n at [2n] (bit 0) and [2n + 1] (bit 1); a value > 0 is
  // an internal node, ~symbol (< 0) a leaf, 0 not yet built (the root is nobody's child).
  const children = new Int32Array(2 * 256);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = symbolCodes[sym]!;
    let node = 0;
    for (let bit = codeLengths[sym]! - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (children[slot] === 0) children[slot] = nodes++;
      node = children[slot]!;
    }
    children[2 * node + (code & 1)] = ~sym;
  }
  const table = new Int32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = children[2 * node + ((nibble >>> bit) & 1)]!;
        if (child >= 0) {
          node = child;
        } else if (~child === EOS) {
          entry = -1;
          break;
        } else {
          entry = emitFlag | (~child << 8);
          node = 0;
        }
      }
      table[(state << 4) | nibble] = entry < 0 ? -1 : entry | node;
    }
  }
  const accepting = new Uint8Array(256);
  accepting[0] = 1;
  for (let depth = 1, node = 0; depth <= 7; depth++) {
    node = children[2 * node + 1]!;
    accepting[node] = 1;
  }
  decodeTable = table;
  acceptingStates = accepting;
}

/**
 * Decodes the Huffman-coded string in `src[start, end)` to a latin1 string. Throws HpackError on
 * EOS inside the string, or padding that is 8 bits or longer or not a prefix of EOS (all ones).
 */
export function decodeHuffman(src: Uint8Array, start: number, end: number): string {
  if (decodeTable === undefined) buildDecodeTable();
  const table = decodeTable!;
  // The shortest code is 5 bits, so n octets hold at most 8n/5 symbols.
  const maxLength = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < maxLength) scratch = new Uint8Array(Math.max(maxLength, 2 * scratch.length));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const octet = src[i]!;
    let entry = table[(state << 4) | (octet >>> 4)]!;
    if (entry < 0) throw new HpackError("HPACK: EOS symbol inside a Huffman-coded string");
    if ((entry & emitFlag) !== 0) out[n++] = (entry >>> 8) & 0xff;
    entry = table[((entry & 0xff) << 4) | (octet & 0x0f)]!;
    if (entry < 0) throw new HpackError("HPACK: EOS symbol inside a Huffman-coded string");
    if ((entry & emitFlag) !== 0) out[n++] = (entry >>> 8) & 0xff;
    state = entry & 0xff;
  }
  if (acceptingStates![state] !== 1) {
    throw new HpackError("HPACK: invalid padding at the end of a Huffman-coded string");
  }
  return latin1(out, 0, n);
}

/** Huffman-encodes a latin1 string (char codes above 0xff are truncated to their low byte). */
export function encodeHuffman(value: string): Uint8Array {
  const symbolCodes = (codes ??= buildCodes());
  let bits = 0;
  for (let i = 0; i < value.length; i++) bits += codeLengths[value.charCodeAt(i) & 0xff]!;
  const out = new Uint8Array(Math.ceil(bits / 8));
  let o = 0;
  let pending = 0; // bits not yet written, fewer than 8
  let pendingBits = 0;
  for (let i = 0; i < value.length; i++) {
    const sym = value.charCodeAt(i) & 0xff;
    const code = symbolCodes[sym]!;
    let left = codeLengths[sym]!;
    while (left > 0) {
      const take = Math.min(8 - pendingBits, left);
      left -= take;
      pending = (pending << take) | ((code >>> left) & ((1 << take) - 1));
      pendingBits += take;
      if (pendingBits === 8) {
        out[o++] = pending;
        pending = 0;
        pendingBits = 0;
      }
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (pendingBits > 0) out[o] = (pending << (8 - pendingBits)) | (0xff >>> pendingBits);
  return out;
}

/** The code of one symbol (0..256) and its length in bits. For tests. */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  const symbolCodes = (codes ??= buildCodes());
  return { code: symbolCodes[symbol]!, bits: codeLengths[symbol]! };
}
