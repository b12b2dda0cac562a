// The hand-written ImportJobs codec (src/core/wire/import-messages.ts) against the generated
// protobuf-es code: our request bytes decode with the generated fromBinary to the same message,
// and the generated toBinary of a response decodes with ours to the same message. Seeded random
// values plus edge cases (absent optionals, zero values, unknown enum numbers, unknown fields).
import { create, equals, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import type { AttemptStatus, ImportAttemptSchema, ImportJobRequestSchema, LimitSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { ImportJobsRequestSchema, ImportJobsResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { decodeImportJobsResponse, encodeImportJobsRequest } from "../../src/core/wire/import-messages.js";

let seed = 0x1a2b;
function rand(): number {
  // mulberry32: deterministic, so a failure reproduces.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
const chance = (p = 0.5): boolean => rand() < p;
const str = (): string => pick(["", "a", "job-1", "ünïcødé", "日本語", "emoji 🚀", "x".repeat(300), "nul\0byte"]);
const u32 = (): number => pick([0, 1, 99, 127, 128, 2 ** 32 - 1]);
const i64 = (): bigint => pick([0n, 1n, -1n, 1_700_000_000_000n, 2n ** 63n - 1n, -(2n ** 63n)]);
const bytes = (): Uint8Array => Uint8Array.from({ length: pick([0, 1, 5, 300]) }, () => Math.floor(rand() * 256));
const serialized = () => ({ encoding: { case: "msgpack" as const, value: bytes() } });
const map = (): Record<string, string> => Object.fromEntries(Array.from({ length: pick([0, 1, 3]) }, (_, i) => [`${str()}-${i}`, str()]));
const list = <T>(f: () => T): T[] => Array.from({ length: pick([0, 1, 3]) }, f);

function limit(): MessageInitShape<typeof LimitSchema> {
  switch (pick([0, 1, 2])) {
    case 0:
      return { limit: { case: "concurrency", value: { key: str(), maxConcurrency: u32() } } };
    case 1:
      return {
        limit: {
          case: "rateLimit",
          value: {
            name: str(),
            uniqueKey: str(),
            limit: i64(),
            durationMs: i64(),
            hits: pick([0, 1, -1]),
            algorithm: pick([0, 1]),
            behavior: pick([0, 12]),
            ...(chance() ? { retryPolicy: { initialBackoffMs: i64(), maxBackoffMs: i64(), backoffMultiplier: pick([0, 2.5]), maxRetries: u32() } } : {}),
          },
        },
      };
    default:
      return { limit: { case: "floatingConcurrency", value: { key: str(), defaultMaxConcurrency: u32(), refreshIntervalMs: i64(), metadata: map() } } };
  }
}

const attempt = (): MessageInitShape<typeof ImportAttemptSchema> => ({
  status: pick([0, 1, 2, 3, 9]) as AttemptStatus,
  startedAtMs: i64(),
  finishedAtMs: i64(),
  ...(chance() ? { result: serialized() } : {}),
  ...(chance() ? { errorCode: str() } : {}),
  ...(chance() ? { errorData: serialized() } : {}),
});

const job = (): MessageInitShape<typeof ImportJobRequestSchema> => ({
  shard: str(),
  id: str(),
  priority: u32(),
  enqueueTimeMs: i64(),
  startAtMs: i64(),
  ...(chance() ? { retryPolicy: { retryCount: u32(), initialIntervalMs: i64(), maxIntervalMs: i64(), randomizeInterval: chance(), backoffFactor: pick([0, 2, 1.5]) } } : {}),
  ...(chance(0.9) ? { payload: serialized() } : {}),
  limits: list(limit),
  ...(chance() ? { tenant: str() } : {}),
  metadata: map(),
  taskGroup: str(),
  attempts: list(attempt),
});

describe("ImportJobs wire codec against the generated code", () => {
  it("encodes every ImportJobsRequest the way the generated decoder reads it", () => {
    const edge: MessageInitShape<typeof ImportJobsRequestSchema>[] = [
      { jobs: [] },
      { jobs: [{}] },
      { jobs: [{ tenant: "", attempts: [{}], retryPolicy: {} }] },
    ];
    for (const init of [...edge, ...Array.from({ length: 80 }, () => ({ jobs: list(job) }))]) {
      const expected = create(ImportJobsRequestSchema, init);
      const decoded = fromBinary(ImportJobsRequestSchema, encodeImportJobsRequest(init));
      expect(equals(ImportJobsRequestSchema, decoded, expected)).toBe(true);
    }
  });

  it("decodes every ImportJobsResponse the generated encoder writes, skipping unknown fields", () => {
    const result = () => ({ id: str(), success: chance(), ...(chance() ? { error: str() } : {}), status: pick([0, 1, 2, 3, 4, 17]) });
    const edge = [{ results: [] }, { results: [{}] }, { results: [{ error: "" }] }];
    for (const init of [...edge, ...Array.from({ length: 80 }, () => ({ results: list(result) }))]) {
      const expected = create(ImportJobsResponseSchema, init);
      const bytesOut = toBinary(ImportJobsResponseSchema, expected);
      expect(equals(ImportJobsResponseSchema, decodeImportJobsResponse(bytesOut), expected)).toBe(true);
      const w = new BinaryWriter();
      w.tag(900, WireType.LengthDelimited).string("from the future");
      const withUnknown = new Uint8Array([...w.finish(), ...bytesOut]);
      expect(equals(ImportJobsResponseSchema, decodeImportJobsResponse(withUnknown), expected)).toBe(true);
    }
  });
});
