// When a waiting thread watches shared memory before parking (threads/spin-wait.ts): the policy
// as a pure state machine, and the wait itself against a real second thread.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { MAX_PARKS_BETWEEN_WATCHES, SpinThenWait, WatchPolicy } from "../../src/threads/spin-wait.ts";

/** Parks (each longer than the window) until the policy watches again; how many it took. */
function parksUntilWatch(policy: WatchPolicy): number {
  let parks = 0;
  while (!policy.shouldWatch()) {
    policy.parked(10 * policy.windowMicroseconds);
    parks++;
    if (parks > 10 * MAX_PARKS_BETWEEN_WATCHES) throw new Error("the policy never watches again");
  }
  return parks;
}

describe("WatchPolicy", () => {
  it("watches while watching catches the change", () => {
    const policy = new WatchPolicy(50);
    for (let i = 0; i < 100; i++) {
      expect(policy.shouldWatch()).toBe(true);
      policy.watched(true);
    }
  });

  it("after failed watches, parks 1, 2, 4, … times before watching again, up to the cap", () => {
    const policy = new WatchPolicy(50);
    const gaps: number[] = [];
    for (let i = 0; i < 12; i++) {
      expect(policy.shouldWatch()).toBe(true);
      policy.watched(false);
      gaps.push(parksUntilWatch(policy));
    }
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256, 256]);
  });

  it("a slow answer (GC, a burst) does not stop watching for good: one caught watch resets the backoff", () => {
    const policy = new WatchPolicy(50);
    for (let i = 0; i < 5; i++) {
      policy.watched(false);
      parksUntilWatch(policy);
    }
    policy.watched(true);
    policy.watched(false);
    expect(parksUntilWatch(policy)).toBe(1);
  });

  it("a park that ends within the window brings watching back at once", () => {
    const policy = new WatchPolicy(50);
    for (let i = 0; i < 6; i++) {
      policy.watched(false);
      parksUntilWatch(policy);
    }
    policy.watched(false);
    expect(policy.shouldWatch()).toBe(false);
    policy.parked(20);
    expect(policy.shouldWatch()).toBe(true);
    policy.watched(false);
    expect(parksUntilWatch(policy)).toBe(1);
  });

  it("timed-out parks count towards the next watch", () => {
    const policy = new WatchPolicy(50);
    policy.watched(false);
    expect(policy.shouldWatch()).toBe(false);
    policy.parked(Number.POSITIVE_INFINITY);
    expect(policy.shouldWatch()).toBe(true);
  });
});

describe("SpinThenWait", () => {
  it("returns false on a timeout and true once another thread changes the word", async () => {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    const waiter = new SpinThenWait(50);
    expect(waiter.wait(shared, 0, 0, 5)).toBe(false);
    expect(waiter.wait(shared, 0, 1, 5)).toBe(true);
    // A thread that changes the word after 30 ms: this one parks (the watch runs out) and wakes.
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const word = new Int32Array(workerData);
       Atomics.wait(word, 0, 0, 30);
       Atomics.store(word, 0, 7);
       Atomics.notify(word, 0);`,
      { eval: true, workerData: shared.buffer },
    );
    try {
      expect(waiter.wait(shared, 0, 0, 10_000)).toBe(true);
      expect(Atomics.load(shared, 0)).toBe(7);
    } finally {
      await worker.terminate();
    }
  });
});
