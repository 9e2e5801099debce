// The async context of the code that started a pool function reaches the calls its worker makes
// back into the main thread: a request id set with AsyncLocalStorage around a pool call is what
// the async functions that worker calls see, for concurrent requests each its own.
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import {
  explicitParentsFn,
  nestedPoolReadsRequestIdFn,
  poolReadsRequestIdFn,
  requestId,
  rootContextFn,
} from "./fixtures/async-context.ts";

const pool = new promising.ThreadPool({ maxThreads: 2 });
afterAll(() => pool.close());
const on = { threadPool: pool };

describe("AsyncLocalStorage across the thread hop", () => {
  it("calls a pool function makes back run in the context that started it, per request", {
    timeout: 60_000,
  }, async () => {
    const ids = ["r1", "r2", "r3", "r4"];
    const results = await Promise.all(
      ids.map((id) => requestId.run(id, () => poolReadsRequestIdFn.with(on)())),
    );
    expect(results).toEqual(ids.map((id) => [id, id]));
  });

  it("through a pool function that calls a pool function", { timeout: 60_000 }, async () => {
    const results = await Promise.all(
      ["a", "b"].map((id) => requestId.run(id, () => nestedPoolReadsRequestIdFn.with(on)())),
    );
    expect(results).toEqual([
      ["a", "a"],
      ["b", "b"],
    ]);
  });

  it("without a context the calls see none", { timeout: 60_000 }, async () => {
    expect(await poolReadsRequestIdFn.with(on)()).toEqual(["none", "none"]);
  });
});

describe("an explicit parent in a worker's call", () => {
  it("wins over the active promise, as on the main thread; parent: null makes a root there", {
    timeout: 60_000,
  }, async () => {
    const where = await requestId.run("req", () => explicitParentsFn.with(on)());
    expect(where).toEqual({
      active: { parent: "Promise(explicitParents, pending)", requestId: "req" },
      root: { parent: "null", requestId: "req" },
      explicit: { parent: "PromisingContext(other)", requestId: "req" },
    });
  });

  it("a context entered with parent: null in a worker is a root on the main thread", {
    timeout: 60_000,
  }, async () => {
    expect(await rootContextFn.with(on)()).toEqual({
      parent: "PromisingContext(detached)",
      requestId: "none",
    });
  });
});
