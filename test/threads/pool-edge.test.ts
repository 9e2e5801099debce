// Pool functions on REAL worker threads: call forms and edge cases (fixtures/pool-edge.ts).
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import * as edge from "./fixtures/pool-edge.ts";

const pools: promising.ThreadPool[] = [];

afterAll(async () => {
  await Promise.all(
    [...pools, promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool].map((pool) => pool.close()),
  );
});

describe("plain pool functions called as properties", () => {
  it("through a module namespace or a copy of it, the receiver is ignored, not sent as `this`", async () => {
    expect(await edge.addFn(3, 4)).toBe(7);
    const copy = { ...edge };
    expect(await copy.addFn(1, 2)).toBe(3);
    expect(await edge.receiverFn()).toBe("undefined");
    expect(await copy.receiverFn()).toBe("undefined");
  });

  it("inside a pool function, calls through the module namespace reach the main thread", async () => {
    expect(await edge.greetsThroughNamespaceFn()).toBe("hi ns");
    expect(await edge.addsThroughObjectFn()).toBe(5);
  });
});

describe("methods keep `this` across threads", () => {
  it("legacy-decorated instance and static methods get their receiver in the worker", async () => {
    const counter = new edge.Counter(5);
    expect(await (counter.bump(2) as unknown as Promise<unknown>)).toEqual({ count: 7, isCounter: true });
    expect(await (edge.Counter.describe() as unknown as Promise<unknown>)).toBe("class");
  });
});
