// The claim slots that decide who runs a task sent ahead (threads/task-claims.ts), and the
// pool's O(1) task queue (threads/task-queue.ts).
import { describe, expect, it } from "vitest";
import { ShortIdNames, ShortIds } from "../../src/threads/short-ids.ts";
import { CLAIM_SLOTS, claimTask, TaskClaims } from "../../src/threads/task-claims.ts";
import { TaskQueue } from "../../src/threads/task-queue.ts";

describe("TaskClaims", () => {
  it("exactly one side wins a task: the worker's claim or the main thread's reclaim", () => {
    const claims = new TaskClaims();
    const worker = new Int32Array(claims.buffer);
    const a = claims.offer(7);
    expect(claimTask(worker, a, 7)).toBe(true);
    expect(claims.claimed(a, 7)).toBe(true);
    expect(claims.reclaim(a, 7)).toBe(false);
    const b = claims.offer(8);
    expect(claims.reclaim(b, 8)).toBe(true);
    expect(claimTask(worker, b, 8)).toBe(false);
  });

  it("a stale message for a reused slot cannot claim the task now in it", () => {
    const claims = new TaskClaims();
    const worker = new Int32Array(claims.buffer);
    const slot = claims.offer(1);
    expect(claims.reclaim(slot, 1)).toBe(true);
    const reused = claims.offer(2);
    expect(reused).toBe(slot);
    expect(claimTask(worker, slot, 1)).toBe(false);
    expect(claimTask(worker, slot, 2)).toBe(true);
  });

  it("slots are recycled on release and reclaim; running out throws instead of overwriting", () => {
    const claims = new TaskClaims();
    const worker = new Int32Array(claims.buffer);
    const used = Array.from({ length: CLAIM_SLOTS }, (_, i) => claims.offer(i + 1));
    expect(new Set(used).size).toBe(CLAIM_SLOTS);
    expect(claims.available).toBe(0);
    expect(() => claims.offer(999)).toThrow(/no free claim slot/);
    expect(claimTask(worker, used[0]!, 1)).toBe(true);
    claims.release(used[0]!);
    expect(claims.reclaim(used[1]!, 2)).toBe(true);
    expect(claims.available).toBe(2);
  });
});

describe("TaskQueue", () => {
  it("is first in, first out, also across compactions", () => {
    const queue = new TaskQueue<number>();
    for (let i = 0; i < 5_000; i++) queue.push(i);
    const out: number[] = [];
    for (let i = 0; i < 3_000; i++) out.push(queue.shift()!);
    for (let i = 5_000; i < 6_000; i++) queue.push(i);
    for (let value = queue.shift(); value !== undefined; value = queue.shift()) out.push(value);
    expect(out).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
    expect(queue.length).toBe(0);
  });

  it("moveToFront moves the first match ahead of the rest, keeping their order", () => {
    const queue = new TaskQueue<string>();
    for (const item of ["a", "b", "c", "d"]) queue.push(item);
    queue.shift();
    expect(queue.moveToFront((item) => item === "d")).toBe(true);
    expect(queue.moveToFront((item) => item === "zzz")).toBe(false);
    expect(queue.drain()).toEqual(["d", "b", "c"]);
  });

  it("unshiftAll puts tasks back at the front in their order; drain empties it", () => {
    const queue = new TaskQueue<string>();
    queue.push("c");
    queue.push("d");
    queue.unshiftAll(["a", "b"]);
    expect(queue.length).toBe(4);
    expect(queue.shift()).toBe("a");
    queue.unshiftAll(["x"]);
    expect(queue.drain()).toEqual(["x", "b", "c", "d"]);
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});

describe("ShortIds / ShortIdNames", () => {
  it("the first use of a value carries it in full; after forget() the next use does again", () => {
    const ids = new ShortIds<object>();
    const names = new ShortIdNames<object>();
    const a = { name: "a" };
    const b = { name: "b" };
    const first = ids.name(a);
    expect(first.full).toBe(a);
    expect(names.resolve(first.id, first.full)).toBe(a);
    const again = ids.name(a);
    expect(again).toEqual({ id: first.id, full: undefined });
    expect(names.resolve(again.id, again.full)).toBe(a);
    const lost = ids.name(b);
    ids.forget(b);
    const retried = ids.name(b);
    expect(retried.full).toBe(b);
    expect(retried.id).not.toBe(first.id);
    expect(lost.id).not.toBe(first.id);
    expect(names.resolve(retried.id, retried.full)).toBe(b);
    expect(names.resolve(999, undefined)).toBeUndefined();
  });
});
