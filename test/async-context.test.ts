// Other libraries' AsyncLocalStorage values (request ids, tracing spans) reach the work of a
// promise: eager work runs in the async context of the call that created the promise, deferred
// work in the context of its first consumer, as Python's asyncio.create_task copies contextvars.
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import * as promising from "../src/index.ts";

const requestId = new AsyncLocalStorage<string>();

const report = promising.function(async function report(label: string) {
  return `${label}:${requestId.getStore()}`;
});

describe("AsyncLocalStorage values of the caller reach the work", () => {
  it("eager children created in different contexts in one tick each see their own", async () => {
    const parent = promising.function(async function parent() {
      // One synchronous loop: every child starts in the same scheduler drain.
      const children = ["a", "b", "c"].map((label) =>
        requestId.run(label.toUpperCase(), () => report(label)),
      );
      children.push(report("none"));
      return Promise.all(children);
    });
    expect(await parent.run()).toEqual(["a:A", "b:B", "c:C", "none:undefined"]);
  });

  it("a root promise created inside a context sees it, also after awaits and in grandchildren", async () => {
    const grandchild = promising.function(async function grandchild() {
      return requestId.getStore();
    });
    const child = promising.function(async function child() {
      const before = requestId.getStore();
      await new Promise((resolve) => setTimeout(resolve, 1));
      return [before, requestId.getStore(), await grandchild()];
    });
    const first = requestId.run("first", () => child());
    const second = requestId.run("second", () => child());
    expect(await Promise.all([first, second])).toEqual([
      ["first", "first", "first"],
      ["second", "second", "second"],
    ]);
  });

  it("interleaved requests never see each other's values", async () => {
    const handle = promising.function(async function handle(id: string) {
      const seen: (string | undefined)[] = [];
      for (let step = 0; step < 5; step++) {
        seen.push(await report(id));
        await null;
      }
      return seen;
    });
    const ids = Array.from({ length: 20 }, (_, index) => `request-${index}`);
    const results = await Promise.all(ids.map((id) => requestId.run(id, () => handle(id))));
    results.forEach((seen, index) => {
      expect(seen).toEqual(Array(5).fill(`request-${index}:request-${index}`));
    });
  });

  it("a deferred promise runs in the context of its first consumer", async () => {
    const lazy = requestId.run("creator", () => report.with({ startSoon: false })("lazy"));
    const consumed = await requestId.run("consumer", async () => await lazy);
    expect(consumed).toBe("lazy:consumer");
    // Cached: a later consumer in another context gets the same value.
    expect(await requestId.run("later", async () => await lazy)).toBe("lazy:consumer");
  });

  it("a manual promise's thunk sees the context that created it", async () => {
    const promise = requestId.run(
      "manual",
      () => new promising.Promise(() => Promise.resolve(requestId.getStore()), { parent: null }),
    );
    expect(await promise).toBe("manual");
  });

  it("the promise hierarchy is unaffected: each child's active promise and parent are its own", async () => {
    const child = promising.function(async function child() {
      const me = promising.getActivePromise();
      return { me, parent: me.getParentPromise(), store: requestId.getStore() };
    });
    const parent = promising.function(async function parent() {
      const self = promising.getActivePromise();
      const x = requestId.run("x", () => child());
      const y = requestId.run("y", () => child());
      const [fromX, fromY] = await Promise.all([x, y]);
      expect(fromX.me).toBe(x);
      expect(fromY.me).toBe(y);
      expect(fromX.parent).toBe(self);
      expect(fromY.parent).toBe(self);
      return [fromX.store, fromY.store];
    });
    expect(await parent.run()).toEqual(["x", "y"]);
  });

  it("eager starts keep creation order across contexts", async () => {
    const order: string[] = [];
    const record = promising.function(async function record(label: string) {
      order.push(`${label}:${requestId.getStore()}`);
    });
    const parent = promising.function(async function parent() {
      const all = [];
      for (let index = 0; index < 6; index++) {
        const label = String(index);
        all.push(index % 2 === 0 ? requestId.run(`even-${index}`, () => record(label)) : record(label));
      }
      await Promise.all(all);
    });
    await parent.run();
    expect(order).toEqual(["0:even-0", "1:undefined", "2:even-2", "3:undefined", "4:even-4", "5:undefined"]);
  });
});
