// The main thread keeps, per pool worker, the promises and contexts that worker can name by id.
// It must forget them once the worker no longer refers to them (its local stand-ins were
// collected), or a pool function calling an async function a million times would keep a million
// promises and their results alive. And it must never forget one the worker still uses.
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import {
  asyncIdentityFn,
  callsAfterReturningFn,
  collectsManyFn,
  contextsFn,
  keepHandleFn,
  passesOwnPromiseFn,
  returnsThenableFn,
  syncManyFn,
  syncOnArgFn,
  useKeptHandleFn,
  workerGcFn,
} from "./fixtures/node-release.ts";

const pool = new promising.ThreadPool({ maxThreads: 1, minThreads: 1 });
const on = { threadPool: pool };
afterAll(() => pool.close());

const ROUND = 2000;

describe("main-thread nodes named by a worker", () => {
  it("are released once the worker has collected its stand-ins: the table stays bounded", {
    timeout: 60_000,
  }, async () => {
    const tracked: number[] = [];
    for (let round = 0; round < 8; round++) {
      expect(await syncManyFn.with(on)(ROUND)).toBe((ROUND * (ROUND - 1)) / 2);
      await workerGcFn.with(on)();
      tracked.push(pool._trackedNodes());
    }
    // Without releases every call stays: 16,000 after eight rounds.
    expect(Math.max(...tracked.slice(3)), `tracked after each round: ${tracked}`).toBeLessThan(3 * ROUND);
  });

  it("a main-thread promise passed to many tasks stays usable across sweeps and releases", {
    timeout: 60_000,
  }, async () => {
    const shared = asyncIdentityFn(7);
    for (let round = 0; round < 5; round++) {
      // One at a time: queued tasks behind a blocked worker would make the pool start more workers.
      for (let call = 0; call < 20; call++) expect(await syncOnArgFn.with(on)(shared)).toBe(7);
      await syncManyFn.with(on)(ROUND);
      await workerGcFn.with(on)();
    }
    expect(await syncOnArgFn.with(on)(shared)).toBe(7);
  });

  it("a handle the worker keeps in module state is never released under it", {
    timeout: 60_000,
  }, async () => {
    await keepHandleFn.with(on)(42);
    for (let round = 0; round < 4; round++) {
      await syncManyFn.with(on)(ROUND);
      await workerGcFn.with(on)();
    }
    expect(await useKeptHandleFn.with(on)()).toBe(42);
  });

  it("a task's own promise, kept by the task and passed to a later task on the same worker, is the same object there", async () => {
    // Single worker: the child runs after its parent's task has ended, on the same thread.
    expect(await passesOwnPromiseFn.with(on)()).toBe(true);
  });

  it("a pool function's returned promise can call promising functions after its task has ended", async () => {
    // The continuation runs in a worker timer, with the task's promise still its active parent.
    expect(await callsAfterReturningFn.with(on)(5)).toEqual([5, "Promise(callsAfterReturning, pending)"]);
  });

  it("contexts entered and thenables returned in a worker are released too", {
    timeout: 60_000,
  }, async () => {
    const before = pool._trackedNodes();
    for (let round = 0; round < 6; round++) {
      const values = await Promise.all(
        Array.from({ length: 300 }, (_, index) => returnsThenableFn.with(on)(index)),
      );
      expect(values[299]).toBe(299);
      expect(await contextsFn.with(on)(ROUND)).toBe((ROUND * (ROUND - 1)) / 2);
      await workerGcFn.with(on)();
    }
    // Six rounds name 13,800 nodes; released ones leave far fewer behind.
    expect(pool._trackedNodes() - before).toBeLessThan(3 * ROUND);
  });

  it("nodes the main thread lists for collectRemainingChildren() in a worker are released too", {
    timeout: 60_000,
  }, async () => {
    const tracked: number[] = [];
    let listed = 0;
    for (let round = 0; round < 6; round++) {
      listed += (await collectsManyFn.with(on)(ROUND)) as number;
      await workerGcFn.with(on)();
      tracked.push(pool._trackedNodes());
    }
    // The worker saw the main thread's children (most are still remembered when it asks).
    expect(listed).toBeGreaterThan(ROUND);
    // Without releases every call and child stays: 24,000 after six rounds.
    expect(Math.max(...tracked.slice(2)), `tracked after each round: ${tracked}`).toBeLessThan(3 * ROUND);
  });
});
