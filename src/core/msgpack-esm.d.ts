// @msgpack/msgpack has no "exports" map, so Node loads its CommonJS build ("main"): about 20 files
// through the CJS loader on every cold start. Its ESM build's own modules for the encoder and the
// decoder are about half of that (payload-codec.ts imports them; the version is pinned exactly).
// Their types are the package's.
declare module "@msgpack/msgpack/dist.esm/Encoder.mjs" {
  export { Encoder } from "@msgpack/msgpack";
}
declare module "@msgpack/msgpack/dist.esm/decode.mjs" {
  export { decode } from "@msgpack/msgpack";
}
