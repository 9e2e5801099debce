// In a worker, a promise for a call into the main thread is a local stand-in. Once a blocking
// call has returned its outcome, the stand-in reports that outcome like any settled promise:
// done(), result(), error(), toString() and collectRemainingChildren() agree with what .sync() gave,
// and after awaitChildrenSync() the children it waited for are done there too.
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { afterAwaitChildrenFn, afterSyncFn } from "./fixtures/stand-ins.ts";

const pool = new promising.ThreadPool({ maxThreads: 1 });
afterAll(() => pool.close());

describe("a worker's promise after .sync() / .unpackOnceSync()", () => {
  it("is settled with the outcome the blocking call returned", { timeout: 60_000 }, async () => {
    expect(await afterSyncFn.with({ threadPool: pool })()).toEqual({
      okBefore: false,
      okAfter: true,
      sameResult: true,
      okString: "Promise(answer, fulfilled)",
      onceDone: true,
      onceSame: true,
      badDone: true,
      sameError: true,
      badString: "Promise(fail, rejected)",
      remaining: 0,
    });
  });

  it("after awaitChildrenSync() the children are done with their outcomes (sync_parent)", {
    timeout: 60_000,
  }, async () => {
    expect(await afterAwaitChildrenFn.with({ threadPool: pool })()).toEqual({
      first: [true, 1],
      inContext: [true, 2],
      failing: [true, "child failed", "RangeError"],
      // A value that cannot cross stays pending here; .sync() on it says why (and settles it so).
      unsendable: [false, "PromisingError", true],
      remaining: ["Promise(returnsFunction, pending)"],
    });
  });
});
