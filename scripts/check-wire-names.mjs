// Compares proto/silo/v1/silo.proto with the real server's schema image, name by name.
// `buf breaking --against` with WIRE rules catches changed numbers and types but not a message,
// enum value or RPC we lack, so this walks both descriptor sets and reports every difference.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const image = process.argv[2] ?? "../shared/silo-v1.binpb";
const dir = mkdtempSync(join(tmpdir(), "silo-wire-"));
const buf = (input, out) => execFileSync("npx", ["buf", "build", input, "--exclude-source-info", "-o", out], { stdio: "inherit" });
buf(image, join(dir, "theirs.json"));
buf("proto", join(dir, "ours.json"));

function describe(set) {
  const out = new Map();
  for (const file of set.file) {
    const pkg = file.package;
    const walkMessage = (m, prefix) => {
      const name = `${prefix}.${m.name}`;
      out.set(`message ${name}`, "");
      for (const f of m.field ?? []) {
        const oneof = f.oneofIndex !== undefined ? m.oneofDecl[f.oneofIndex].name : "";
        out.set(`field ${name}.${f.name}`, JSON.stringify([f.number, f.label, f.type, f.typeName ?? "", oneof, f.proto3Optional ?? false]));
      }
      for (const r of m.reservedRange ?? []) out.set(`reserved ${name} ${r.start}-${r.end}`, "");
      for (const r of m.reservedName ?? []) out.set(`reserved ${name} ${r}`, "");
      for (const n of m.nestedType ?? []) walkMessage(n, name);
      for (const e of m.enumType ?? []) walkEnum(e, name);
    };
    const walkEnum = (e, prefix) => {
      for (const v of e.value ?? []) out.set(`enum ${prefix}.${e.name}.${v.name}`, String(v.number));
    };
    for (const m of file.messageType ?? []) walkMessage(m, pkg);
    for (const e of file.enumType ?? []) walkEnum(e, pkg);
    for (const s of file.service ?? []) {
      for (const m of s.method ?? []) {
        out.set(`rpc ${pkg}.${s.name}.${m.name}`, JSON.stringify([m.inputType, m.outputType, !!m.clientStreaming, !!m.serverStreaming]));
      }
    }
  }
  return out;
}

const theirs = describe(JSON.parse(readFileSync(join(dir, "theirs.json"), "utf8")));
const ours = describe(JSON.parse(readFileSync(join(dir, "ours.json"), "utf8")));
const problems = [];
for (const [key, value] of theirs) {
  if (!ours.has(key)) problems.push(`missing in proto/: ${key}`);
  else if (ours.get(key) !== value) problems.push(`differs: ${key}: ours ${ours.get(key)}, server ${value}`);
}
for (const key of ours.keys()) if (!theirs.has(key)) problems.push(`not in the server's schema: ${key}`);
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`wire schema matches the server's image: ${theirs.size} names compared`);
