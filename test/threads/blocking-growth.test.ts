// A worker blocked in `.sync()` stops counting against `maxThreads` only after a short grace
// (threads/pool.ts, BLOCKED_GRACE_MS): blocks the main thread answers at once must not make the
// pool start workers, while a block on queued pool work still does (see pool.test.ts, starvation).
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { asyncIdentityFn, syncOnArgFn } from "./fixtures/node-release.ts";

const pool = new promising.ThreadPool({ maxThreads: 1, minThreads: 1 });
afterAll(() => pool.close());

describe("short blocks", () => {
  it("many queued tasks that each block briefly run on the one thread: the pool does not grow", {
    timeout: 60_000,
  }, async () => {
    const shared = asyncIdentityFn(7);
    let peak = pool.threads;
    const sampler = setInterval(() => {
      peak = Math.max(peak, pool.threads);
    }, 1);
    try {
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => syncOnArgFn.with({ threadPool: pool })(shared)),
        );
        expect(results).toEqual(Array(50).fill(7));
      }
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBe(1);
  });
});
