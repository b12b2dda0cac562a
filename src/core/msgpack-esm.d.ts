// @msgpack/msgpack has no "exports" map, so `import "@msgpack/msgpack"` on Node loads its CommonJS
// build ("main"): about 20 files through the CJS loader on every cold start. msgpack.ts, our own
// codec, needs only the package's ExtData and DecodeError classes, so it imports their ESM modules
// directly (the version is pinned exactly). Their types are the package's.
declare module "@msgpack/msgpack/dist.esm/DecodeError.mjs" {
  export { DecodeError } from "@msgpack/msgpack";
}
declare module "@msgpack/msgpack/dist.esm/ExtData.mjs" {
  export { ExtData } from "@msgpack/msgpack";
}
