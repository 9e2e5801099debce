// Pool methods decorated with legacy decorators in the main thread (Vitest compiles
// fixtures/legacy/ with experimentalDecorators) and with standard decorators in the pool workers
// (tsx): the two systems decorate in a different order, and both threads must still name each
// function the same.
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { afterFn, LegacySvc, legacyHere, workerDecoratorsFn } from "./fixtures/legacy/legacy-pool.ts";

afterAll(async () => {
  await (promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool).close();
});

describe("pool methods compiled with different decorator systems in the two threads", () => {
  it("run in the worker: instance and static methods, and a function decorated after the class", async () => {
    // The premise: this thread compiled the fixture with legacy decorators, and the worker with
    // standard ones (its decorator got a context object, not a property descriptor).
    expect(legacyHere).toBe(true);
    expect(await workerDecoratorsFn()).toEqual({ legacy: false, standardContext: true, isMainThread: false });
    expect(await (new LegacySvc(1).add(2) as unknown as Promise<unknown>)).toEqual({
      sum: 3,
      isMainThread: false,
    });
    expect(await (LegacySvc.st(3) as unknown as Promise<unknown>)).toEqual({
      name: "LegacySvc",
      x: 3,
      isMainThread: false,
    });
    expect(await (new LegacySvc(0).twice(4) as unknown as Promise<unknown>)).toEqual({
      twice: 8,
      isMainThread: false,
    });
    expect(await afterFn()).toBe(false);
  });
});
