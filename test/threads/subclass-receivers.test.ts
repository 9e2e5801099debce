// Pool methods called on a subclass (or an instance of one) run on that subclass in the worker,
// with its overrides, as they would on the main thread (SPEC 2.11, 4.9).
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { BigShape, callsFromWorkerFn, makeHidden, Shape } from "./fixtures/subclass-methods.ts";

afterAll(async () => {
  await (promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool).close();
});

describe("pool methods on subclasses", () => {
  it("an instance of an exported subclass: the worker runs the method on that subclass, overrides included", async () => {
    expect(await new Shape(3).area()).toEqual({ value: 3, className: "Shape" });
    expect(await new BigShape(3).area()).toEqual({ value: 30, className: "BigShape" });
  });

  it("a static method called through an exported subclass: `this` is the subclass", async () => {
    expect(await Shape.describe()).toBe("Shape:shape");
    expect(await BigShape.describe()).toBe("BigShape:big");
  });

  it("a subclass the worker cannot find fails, naming it and the fix, instead of running the base class's code", async () => {
    await expect(makeHidden().area()).rejects.toThrow(
      /an instance of HiddenShape, a subclass of Shape, which the pool worker cannot find among the exports of .*subclass-methods\.ts\. Export HiddenShape/,
    );
  });

  it("called from inside a worker on a subclass instance: a clear error, not the base class's result", async () => {
    const report = (await callsFromWorkerFn()) as { ok: boolean; message?: string };
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/on an instance of BigShape, a subclass of the class that declares it/);
  });
});
