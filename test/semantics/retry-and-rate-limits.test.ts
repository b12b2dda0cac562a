// Contract sections "Semantics … / Retry backoff" and "Semantics … / Rate limits", over gRPC and
// gRPC-web. Rate limits run against the dev server's built-in Gubernator stand-in, which has the
// semantics of the mock in the real server's tests (src/gubernator.rs).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GubernatorAlgorithm, JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import { randomFactor } from "../../src/dev-server/retry-backoff.js";
import type { LimitInit, SemanticsServer } from "./harness.js";
import { concurrency, jobOps, startSemanticsServer, transports } from "./harness.js";

const rate = (name: string, limit: bigint, durationMs: bigint, retryPolicy?: Record<string, unknown>, extra: Record<string, unknown> = {}): LimitInit => ({
  limit: { case: "rateLimit", value: { name, uniqueKey: "k", limit, durationMs, hits: 1, ...(retryPolicy ? { retryPolicy } : {}), ...extra } },
});

describe.each(transports)("Semantics: retry backoff over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  /** Fail every attempt of a fresh job; returns the delays the server chose. */
  const delays = async (retryPolicy: Record<string, unknown>, failures: number): Promise<{ delays: number[]; id: string; g: string }> => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy });
    const out: number[] = [];
    for (let i = 0; i < failures; i++) {
      const job = await ops.job(id);
      s.clock.advance(Math.max(0, Number(job.nextAttemptStartsAfterMs ?? 0n) - s.clock.now()));
      const [t] = await ops.lease(g);
      await ops.fail(t!.id);
      const after = await ops.job(id);
      if (after.status !== JobStatus.SCHEDULED) break;
      out.push(Number(after.nextAttemptStartsAfterMs) - s.clock.now());
    }
    return { delays: out, id, g };
  };

  it("Semantics/Retry backoff: the contract's example, initial 1000 × 2^n from n = 1, then FAILED after retry_count retries", async () => {
    const r = await delays({ retryCount: 3, initialIntervalMs: 1000n, maxIntervalMs: 60_000n, backoffFactor: 2 }, 4);
    expect(r.delays).toEqual([2000, 4000, 8000]);
    expect((await ops.job(r.id)).status).toBe(JobStatus.FAILED);
  });

  it("Semantics/Retry backoff: no retry_policy makes the first failure final", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g);
    await ops.fail((await ops.lease(g))[0]!.id);
    expect((await ops.job(id)).status).toBe(JobStatus.FAILED);
  });

  it("Semantics/Retry backoff: max_interval_ms 0 is a cap of 0, so every retry is immediate", async () => {
    const r = await delays({ retryCount: 2, initialIntervalMs: 5000n, maxIntervalMs: 0n, backoffFactor: 2 }, 2);
    expect(r.delays).toEqual([0, 0]);
  });

  it("Semantics/Retry backoff: fields of a present policy get no defaults, backoff_factor 0 gives delay 0", async () => {
    const r = await delays({ retryCount: 1, initialIntervalMs: 5000n, maxIntervalMs: 60_000n, backoffFactor: 0 }, 1);
    expect(r.delays).toEqual([0]);
  });

  it("Semantics/Retry backoff: randomize_interval multiplies by a factor in [1,2) from failure time and n, before the cap (src/retry.rs)", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { retryPolicy: { retryCount: 1, initialIntervalMs: 1000n, maxIntervalMs: 60_000n, backoffFactor: 2, randomizeInterval: true } });
    await ops.fail((await ops.lease(g))[0]!.id);
    const delay = Number((await ops.job(id)).nextAttemptStartsAfterMs) - s.clock.now();
    const factor = randomFactor(s.clock.now(), 1);
    expect(factor).toBeGreaterThanOrEqual(1);
    expect(factor).toBeLessThan(2);
    expect(delay).toBe(Math.round(2000 * factor));
    const capped = await delays({ retryCount: 1, initialIntervalMs: 1000n, maxIntervalMs: 2000n, backoffFactor: 2, randomizeInterval: true }, 1);
    expect(capped.delays).toEqual([2000]);
  });

  it("Semantics/Retry backoff: the retry walks the limits again and waits in the request queue behind earlier waiters", async () => {
    const g = ops.group();
    const key = ops.group("k");
    const policy = { retryCount: 1, initialIntervalMs: 0n, maxIntervalMs: 0n, backoffFactor: 1 };
    const a = await ops.enqueue(g, { retryPolicy: policy, limits: [concurrency(key, 1)] });
    const b = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const [ta] = await ops.lease(g);
    expect(ta?.jobId).toBe(a);
    s.clock.advance(1);
    await ops.fail(ta!.id);
    // A's slot went to B, which was waiting; A's retry queues behind it.
    const [tb] = await ops.lease(g);
    expect(tb?.jobId).toBe(b);
    expect(await ops.lease(g)).toHaveLength(0);
    await ops.succeed(tb!.id);
    expect((await ops.lease(g)).map((t) => [t.jobId, t.attemptNumber])).toEqual([[a, 2]]);
  });
});

describe.each(transports)("Semantics: rate limits over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport);
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  /**
   * The stand-in's running total for a name, checked without changing it: a probe job with hits
   * 0 and limit T passes exactly when the total is <= T.
   */
  const passes = async (name: string, limit: number): Promise<boolean> => {
    const g = ops.group("probe");
    await ops.enqueue(g, { limits: [rate(name, BigInt(limit), 600_000n, undefined, { hits: 0 })] });
    return (await ops.lease(g)).length > 0;
  };
  const expectTotal = async (name: string, total: number): Promise<void> => {
    expect(await passes(name, total), `total <= ${total}`).toBe(true);
    expect(await passes(name, total - 1), `total > ${total - 1}`).toBe(false);
  };

  it("Semantics/Rate limits: a rate limit sent without retry_policy is stored with 100 / 30000 / 2.0 / 0, a given one as sent", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { limits: [rate(ops.group("r"), 10n, 1000n), rate(ops.group("r"), 10n, 1000n, { initialBackoffMs: 0n, maxBackoffMs: 0n })] });
    const job = await ops.job(id);
    const policies = job.limits.map((l) => (l.limit.case === "rateLimit" ? l.limit.value.retryPolicy : undefined));
    expect(policies[0]).toMatchObject({ initialBackoffMs: 100n, maxBackoffMs: 30_000n, backoffMultiplier: 2, maxRetries: 0 });
    expect(policies[1]).toMatchObject({ initialBackoffMs: 0n, maxBackoffMs: 0n, backoffMultiplier: 0, maxRetries: 0 });
    const [t] = await ops.lease(g);
    expect(t?.limits[0]?.limit.case === "rateLimit" && t.limits[0].limit.value.retryPolicy?.maxBackoffMs).toBe(30_000n);
  });

  it("Semantics/Rate limits: the check runs inside LeaseTasks and is never handed to a worker; under the limit the job runs", async () => {
    const g = ops.group();
    const name = ops.group("r");
    const a = await ops.enqueue(g, { limits: [rate(name, 2n, 60_000n)] });
    const b = await ops.enqueue(g, { limits: [rate(name, 2n, 60_000n)] });
    expect((await ops.lease(g)).map((t) => t.jobId).sort()).toEqual([a, b].sort());
  });

  it("Semantics/Rate limits: over the limit the next check is at Gubernator's reset_time when it falls within max_backoff_ms", async () => {
    const g = ops.group();
    const name = ops.group("r");
    await ops.enqueue(g, { limits: [rate(name, 1n, 5000n)] });
    expect(await ops.lease(g)).toHaveLength(1);
    const late = await ops.enqueue(g, { limits: [rate(name, 1n, 5000n)] });
    expect(await ops.lease(g)).toHaveLength(0);
    await expectTotal(name, 2);
    s.clock.advance(4999);
    await ops.lease(g);
    await expectTotal(name, 2);
    s.clock.advance(1);
    // The stand-in never resets its totals, so the re-check at reset_time is over the limit again.
    await ops.lease(g);
    await expectTotal(name, 3);
    expect((await ops.job(late)).status).toBe(JobStatus.SCHEDULED);
  });

  it("Semantics/Rate limits: otherwise the next check is at now + min(initial × multiplier^k, max_backoff_ms)", async () => {
    const g = ops.group();
    const name = ops.group("r");
    const policy = { initialBackoffMs: 100n, maxBackoffMs: 1000n, backoffMultiplier: 3, maxRetries: 0 };
    await ops.enqueue(g, { limits: [rate(name, 1n, 600_000n, policy)] });
    expect(await ops.lease(g)).toHaveLength(1);
    await ops.enqueue(g, { limits: [rate(name, 1n, 600_000n, policy)] });
    await ops.lease(g);
    // Checks at +0 (k=0 → +100), +100 (k=1 → +300), +400 (k=2 → +900), +1300 (k=3 → +1000, the cap).
    let expected = 2;
    for (const wait of [100, 300, 900, 1000]) {
      s.clock.advance(wait - 1);
      await ops.lease(g);
      await expectTotal(name, expected);
      s.clock.advance(1);
      await ops.lease(g);
      await expectTotal(name, ++expected);
    }
  });

  it("Semantics/Rate limits: with max_retries the job is dropped after that many over-limit checks and stays SCHEDULED with its slots freed", async () => {
    const g = ops.group();
    const name = ops.group("r");
    const key = ops.group("k");
    const policy = { initialBackoffMs: 10n, maxBackoffMs: 10n, backoffMultiplier: 1, maxRetries: 2 };
    await ops.enqueue(g, { limits: [rate(name, 1n, 600_000n, policy)] });
    expect(await ops.lease(g)).toHaveLength(1);
    const dropped = await ops.enqueue(g, { limits: [concurrency(key, 1), rate(name, 1n, 600_000n, policy)] });
    const other = await ops.enqueue(g, { limits: [concurrency(key, 1)] });
    const leased = (await ops.lease(g)).map((t) => t.jobId);
    expect(leased).toEqual([]);
    // Checks k = 0 and 1 are over the limit and re-queued; k = 2 reaches max_retries and drops the job.
    s.clock.advance(10);
    expect(await ops.lease(g)).toEqual([]);
    s.clock.advance(10);
    // The concurrency slot the dropped job held goes to the job waiting for it.
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([other]);
    expect((await ops.job(dropped)).status).toBe(JobStatus.SCHEDULED);
    s.clock.advance(3_600_000);
    expect(await ops.lease(g)).toHaveLength(0);
  });

  it("Semantics/Rate limits: max_backoff_ms 0 re-checks immediately", async () => {
    const g = ops.group();
    const name = ops.group("r");
    const policy = { initialBackoffMs: 100n, maxBackoffMs: 0n, backoffMultiplier: 2, maxRetries: 0 };
    await ops.enqueue(g, { limits: [rate(name, 1n, 600_000n, policy)] });
    expect(await ops.lease(g)).toHaveLength(1);
    const id = await ops.enqueue(g, { limits: [rate(name, 1n, 600_000n, policy)] });
    await ops.lease(g);
    // One LeaseTasks ran the check again and again without the clock moving.
    expect(await passes(name, 3)).toBe(false);
    expect((await ops.job(id)).status).toBe(JobStatus.SCHEDULED);
  });

  it("Semantics/Rate limits: an unknown algorithm is stored as token bucket and behavior is kept unchanged", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { limits: [rate(ops.group("r"), 5n, 1000n, undefined, { algorithm: 7 as GubernatorAlgorithm, behavior: 12345 })] });
    const l = (await ops.job(id)).limits[0]?.limit;
    expect(l?.case === "rateLimit" && [l.value.algorithm, l.value.behavior]).toEqual([GubernatorAlgorithm.TOKEN_BUCKET, 12345]);
  });
});

describe.each(transports)("Semantics: rate limits without Gubernator over $name", (transport) => {
  let s: SemanticsServer;
  let ops: ReturnType<typeof jobOps>;
  beforeAll(async () => {
    s = await startSemanticsServer(transport, { gubernator: "none" });
    ops = jobOps(s);
  });
  afterAll(() => s.server.close());

  it("Semantics/Rate limits: a server without Gubernator re-checks every initial_backoff_ms forever and never runs the job (src/gubernator.rs)", async () => {
    const g = ops.group();
    const id = await ops.enqueue(g, { limits: [rate(ops.group("r"), 1000n, 1000n, { initialBackoffMs: 50n, maxBackoffMs: 50n, backoffMultiplier: 1, maxRetries: 1 })] });
    for (let i = 0; i < 5; i++) {
      expect(await ops.lease(g)).toHaveLength(0);
      s.clock.advance(50);
    }
    expect((await ops.job(id)).status).toBe(JobStatus.SCHEDULED);
    // Jobs without a rate limit are unaffected.
    const plain = await ops.enqueue(g);
    expect((await ops.lease(g)).map((t) => t.jobId)).toEqual([plain]);
  });
});
