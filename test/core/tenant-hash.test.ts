import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hashTenant } from "../../src/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../../shared/xxh64-vectors.json", import.meta.url), "utf8")) as Array<{
  tenant: string;
  xxh64: string;
}>;

describe("hashTenant", () => {
  it("has test vectors to check against, including empty, multi-byte and 1,000-byte tenants", () => {
    expect(vectors.length).toBeGreaterThan(50);
    expect(vectors.some((v) => v.tenant === "")).toBe(true);
    expect(vectors.some((v) => /[^\x00-\x7f]/.test(v.tenant))).toBe(true);
    expect(vectors.some((v) => new TextEncoder().encode(v.tenant).length >= 1000)).toBe(true);
  });

  it.each(vectors.map((v) => [JSON.stringify(v.tenant).slice(0, 48), v.tenant, v.xxh64] as const))(
    "hashes %s like the reference xxhsum",
    (_label, tenant, expected) => {
      expect(hashTenant(tenant)).toBe(expected);
    },
  );

  it("returns 16 lower-case hex characters", () => {
    expect(hashTenant("customer-123")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("encodes a lone surrogate as U+FFFD, as TextEncoder does", () => {
    expect(hashTenant("a\ud800b")).toBe(hashTenant("a\ufffdb"));
  });

  it("gives the same answer after hashing a longer string (the shared buffer is reused safely)", () => {
    const before = hashTenant("customer-123");
    hashTenant("x".repeat(5000));
    expect(hashTenant("customer-123")).toBe(before);
  });
});
