// Bytes to a latin1 (ISO-8859-1) string without Buffer. TextDecoder cannot do it: its "latin1"
// label means windows-1252, which maps 0x80-0x9f to other characters.

/** Largest slice handed to String.fromCharCode at once (argument count limits). */
const CHUNK = 4096;

/** `src[start, end)` as a string with one UTF-16 unit per octet. */
export function latin1(src: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(src[i]!);
    return s;
  }
  let s = "";
  for (let at = start; at < end; at += CHUNK) {
    s += String.fromCharCode.apply(null, src.subarray(at, Math.min(end, at + CHUNK)) as unknown as number[]);
  }
  return s;
}
