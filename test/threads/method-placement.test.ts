// Pool methods named alike, compiled with different decorator systems in the two threads
// (fixtures/legacy/placement.ts): each call runs the method it names, never its namesake.
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { Placed } from "./fixtures/legacy/placement.ts";

afterAll(async () => {
  await (promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool).close();
});

const call = (result: unknown) => result as Promise<unknown>;

describe("static and instance pool methods with colliding names", () => {
  it("an instance and a static method of the same name each run themselves", async () => {
    expect(await call(new Placed().add(1))).toEqual({ kind: "instance add", x: 1, isMainThread: false });
    expect(await call(Placed.add(2))).toEqual({ kind: "static add", x: 2, isMainThread: false });
  });

  it("names that differ only in trailing digits are not confused", async () => {
    expect(await call(new Placed().step1(3))).toEqual({ kind: "instance step1", x: 3, isMainThread: false });
    expect(await call(Placed.step2(4))).toEqual({ kind: "static step2", x: 4, isMainThread: false });
  });
});
