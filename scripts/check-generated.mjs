// Fails when src/gen/ differs from what `npm run generate` would write from proto/.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const out = mkdtempSync(join(tmpdir(), "silo-gen-"));
const template = join(out, "buf.gen.yaml");
writeFileSync(template, readFileSync("buf.gen.yaml", "utf8").replace("out: src/gen", `out: ${join(out, "gen")}`));
execFileSync("npx", ["buf", "generate", "--template", template], { stdio: "inherit" });

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
const fresh = new Map(files(join(out, "gen")).map((p) => [relative(join(out, "gen"), p), readFileSync(p, "utf8")]));
const committed = new Map(files("src/gen").map((p) => [relative("src/gen", p), readFileSync(p, "utf8")]));
const stale = [...new Set([...fresh.keys(), ...committed.keys()])].filter((k) => fresh.get(k) !== committed.get(k));
if (stale.length > 0) {
  console.error(`src/gen is stale (run \`npm run generate\` and commit): ${stale.join(", ")}`);
  process.exit(1);
}
console.log(`src/gen is up to date (${fresh.size} file(s))`);
