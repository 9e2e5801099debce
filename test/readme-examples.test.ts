// Every example of the Python README that needs no worker thread, translated to the
// TypeScript API (SPEC section 1). Examples that need `use_thread_pool=True`, `.sync()` from a
// worker, `await_children_sync()` in a worker, thread pool selection at run time, or a
// concurrent future consumed by another thread belong to the worker-thread suite.
import { afterEach, describe, expect, it } from "vitest";
import * as promising from "../src/index.ts";
import { gate, layerKind, sleep } from "./helpers.ts";

afterEach(() => {
  promising.Defaults.START_SOON = true;
});

const fetchData = promising.function(async function fetchData(url: string) {
  // ... fetch something ...
  return { url, status: "ok" };
});

const childTask = promising.function(async function childTask(name: string) {
  return `done: ${name}`;
});

describe("README: quick start", () => {
  it("a decorated async function returns a Promise, not a coroutine", async () => {
    const promise = fetchData("https://example.com"); // Returns a Promise
    expect(promise).toBeInstanceOf(promising.Promise);
    const result = await promise; // Await it to get the result
    expect(result).toEqual({ url: "https://example.com", status: "ok" });
  });

  it("a Promise can be consumed multiple times without re-executing; results are identical", async () => {
    let executions = 0;
    const counted = promising.function(async function counted(url: string) {
      executions++;
      return { url };
    });
    const promise = counted("https://example.com");
    const result1 = await promise; // Executes the function
    const result2 = await promise; // Returns the cached result
    const result3 = await promise.then((r) => r);
    const layer = await promise.unpackOnce();
    expect(executions).toBe(1);
    expect(result1).toBe(result2);
    expect(result2).toBe(result3);
    expect((layer as { value: unknown }).value).toBe(result1);
  });
});

describe("README: automatic hierarchy", () => {
  it("Promises created during another Promise's execution are its children", async () => {
    let a!: promising.Promise<string>;
    let b!: promising.Promise<string>;
    const parentTask = promising.function(async function parentTask() {
      // These Promises become children of parentTask's Promise
      a = childTask("a");
      b = childTask("b");
      return "parent done";
    });
    const promise = parentTask();
    expect(await promise).toBe("parent done");
    expect(a.getParentContext()).toBe(promise);
    expect(b.getParentPromise()).toBe(promise);
    expect(await a).toBe("done: a");
    expect(await b).toBe("done: b");
  });

  it("awaitChildren() waits for the entire subtree before the parent resolves", async () => {
    const finished: string[] = [];
    const slowChild = promising.function(async function slowChild(name: string) {
      await sleep(5);
      const grand = promising.function(async function grand() {
        await sleep(5);
        finished.push(`grand of ${name}`);
      });
      grand();
      finished.push(name);
    });
    const parentTask = promising.function(async function parentTask() {
      slowChild("a");
      slowChild("b");
      // Wait for all descendants to complete before returning
      await promising.awaitChildren();
      return "all done";
    });
    expect(await parentTask()).toBe("all done");
    expect(finished.sort()).toEqual(["a", "b", "grand of a", "grand of b"]);
  });

  it("awaitChildren({ recursively: false }) waits for direct children only", async () => {
    const g = gate();
    let grandchild!: promising.Promise<void>;
    const child = promising.function(async function child() {
      grandchild = promising.function(async function grandchildFn() {
        await g.promise;
      })();
    });
    const parentTask = promising.function(async function parentTask() {
      const c = child();
      await promising.awaitChildren({ recursively: false });
      return c.done() && !grandchild.done();
    });
    expect(await parentTask()).toBe(true);
    g.open();
    await grandchild;
  });

  it("awaitChildren does not propagate child errors; await the child itself to handle them", async () => {
    const failing = promising.function(async function failing(name: string) {
      throw new Error(`failed: ${name}`);
    });
    const timingOnly = promising.function(async function timingOnly() {
      const a = failing("a");
      await promising.awaitChildren(); // does not throw
      await a.catch(() => undefined);
      return "all done";
    });
    expect(await timingOnly()).toBe("all done");

    const propagating = promising.function(async function propagating() {
      const a = childTask("a");
      const b = failing("b");
      // Await each child to propagate its exceptions
      await a;
      await b;
      return "all done";
    });
    await expect(propagating()).rejects.toThrow("failed: b");
  });
});

describe("README: sync functions and useThreadPool", () => {
  it("useThreadPool: false runs a lightweight transform directly on the event loop thread", async () => {
    const lightweightTransform = promising.function(
      { useThreadPool: false },
      function lightweightTransform(data: number[]) {
        return data.map((x) => x * 2);
      },
    );
    expect(await lightweightTransform([1, 2, 3])).toEqual([2, 4, 6]);
  });

  it("omitting useThreadPool on a sync function raises DecorationError", () => {
    expect(() =>
      promising.function(function cpuHeavy(data: number[]) {
        return [...data].sort();
      }),
    ).toThrow(promising.DecorationError);
  });

  it("useThreadPool is disallowed for async functions, at decoration or call time", () => {
    expect(() => promising.function({ useThreadPool: true }, async () => 1)).toThrow(
      promising.DecorationError,
    );
    const f = promising.function(async () => 1);
    expect(() => f.with({ useThreadPool: false })).toThrow(promising.DecorationError);
  });

  it("with useThreadPool: false, .sync() and awaitChildrenSync() raise SyncUsageError", async () => {
    const asyncGreet = promising.function(async function asyncGreet(name: string) {
      return `hello, ${name}`;
    });
    const syncCaller = promising.function({ useThreadPool: false }, function syncCaller() {
      const greeting = asyncGreet.with({ startSoon: false })("world");
      return greeting.sync(); // would deadlock the event loop
    });
    await expect(syncCaller()).rejects.toBeInstanceOf(promising.SyncUsageError);
    const syncParent = promising.function({ useThreadPool: false }, function syncParent() {
      childTask("a");
      childTask("b");
      promising.awaitChildrenSync();
      return "done";
    });
    await expect(syncParent()).rejects.toBeInstanceOf(promising.SyncUsageError);
  });

  it("sync(), awaitChildrenSync() and concurrentFuture.result()/exception() raise SyncUsageError on the event loop thread", async () => {
    const promise = fetchData("https://example.com");
    expect(() => promise.sync()).toThrow(promising.SyncUsageError);
    const future = promise.asConcurrentFuture();
    expect(() => future.result({ timeoutMs: 5000 })).toThrow(promising.SyncUsageError);
    expect(() => future.exception()).toThrow(promising.SyncUsageError);
    await promising.context().run(() => {
      expect(() => promising.awaitChildrenSync()).toThrow(promising.SyncUsageError);
    });
    await promise;
  });

  it("the thread pool setting inherits through contexts (configuration only, nothing runs on it)", async () => {
    const customPool = new promising.ThreadPool({ maxThreads: 8 });
    try {
      const transform = promising.function({ useThreadPool: false }, (x: number) => x);
      await promising.context({ threadPool: customPool }).run(async () => {
        // All sync promising functions here would use customPool
        const p = transform(1);
        expect(p.getThreadPoolExecutor()).toBe(customPool);
        await p;
      });
      const outside = transform(2);
      expect(outside.getThreadPoolExecutor()).toBe(promising.Defaults.PROMISING_THREAD_POOL);
      await outside;
    } finally {
      await customPool.close();
    }
  });
});

describe("README: methods", () => {
  it("instance methods and static methods (either decorator order is in decorators.test.ts)", async () => {
    class MyService {
      @promising.fn
      async instanceMethod() {
        return this instanceof MyService ? "instance" : "wrong this";
      }

      @promising.fn
      static async fromConfig(_path: string) {
        return new this();
      }

      @promising.fn
      static async utility(x: number) {
        return x * 2;
      }
    }
    const svc = await MyService.fromConfig("config.toml");
    expect(svc).toBeInstanceOf(MyService);
    expect(await svc.instanceMethod()).toBe("instance");
    expect(await MyService.utility(21)).toBe(42);
  });
});

describe("README: promising.context", () => {
  it("children created inside context({ childrenStartSoon: false }) are deferred until awaited", async () => {
    const log: string[] = [];
    const tracked = promising.function(async function tracked(name: string) {
      log.push(name);
      return `done: ${name}`;
    });
    await promising.context({ childrenStartSoon: false }).run(async (ctx) => {
      const a = tracked("a"); // deferred — won't start until awaited
      const b = tracked("b"); // same
      await sleep(5);
      expect(log).toEqual([]);
      expect(a.getParentContext()).toBe(ctx);
      const resultA = await a;
      expect(log).toEqual(["a"]);
      const resultB = await b;
      expect([resultA, resultB]).toEqual(["done: a", "done: b"]);
    });
  });

  it("nesting: inner contexts become children of outer ones", async () => {
    await promising.context().run(async (outer) => {
      await promising.context().run(async (inner) => {
        expect(promising.getActiveContext()).toBe(inner);
        expect(inner.getParentContext()).toBe(outer);
      });
      expect(promising.getActiveContext()).toBe(outer);
    });
  });

  it("as a decorator: each call runs in a fresh context and returns the function's own result", async () => {
    const log: string[] = [];
    const tracked = promising.function(async function tracked(name: string) {
      log.push(name);
    });
    const doWork = promising.context({ childrenStartSoon: false })(async function doWork() {
      // Children created here inherit startSoon: false
      const a = tracked("x");
      const b = tracked("y");
      await sleep(5);
      const startedEarly = log.length > 0;
      await Promise.all([a, b]);
      return startedEarly ? "started early" : "done";
    });
    const r = doWork();
    expect(r).not.toBeInstanceOf(promising.Promise);
    expect(await r).toBe("done");
    log.length = 0;
    // call-time override of the decorator's setting
    expect(await doWork.with({ childrenStartSoon: true })()).toBe("started early");
  });

  it("a context-decorated sync function returns its result directly", () => {
    const syncWork = promising.context(function syncWork(x: number) {
      return promising.getActiveContext() instanceof promising.PromisingContext ? x : -1;
    });
    expect(syncWork(7)).toBe(7);
  });
});

describe("README: startSoon and configuration inheritance", () => {
  it("startSoon: false defers execution until awaited", async () => {
    const log: string[] = [];
    const lazyFetch = promising.function({ startSoon: false }, async function lazyFetch(url: string) {
      log.push(url);
      return { url };
    });
    const promise = lazyFetch("https://example.com"); // Not running yet
    await sleep(5);
    expect(log).toEqual([]);
    const result = await promise; // Now it starts
    expect(result).toEqual({ url: "https://example.com" });
    expect(log).toEqual(["https://example.com"]);
  });

  it("childrenStartSoon on a parent; a call-time startSoon: true overrides it", async () => {
    const log: string[] = [];
    const tracked = promising.function(async function tracked(name: string) {
      log.push(name);
    });
    const parent = promising.function({ childrenStartSoon: false }, async function parent() {
      const a = tracked("a"); // Deferred (inherits from parent)
      const b = tracked.with({ startSoon: true })("b"); // Overridden: starts immediately
      await sleep(5);
      const snapshot = [...log];
      await Promise.all([a, b]);
      return snapshot;
    });
    expect(await parent()).toEqual(["b"]);
  });

  it("Defaults.START_SOON switches the global default", async () => {
    const log: string[] = [];
    const tracked = promising.function(async function tracked(name: string) {
      log.push(name);
    });
    // All Promises start immediately by default (this is the initial value)
    promising.Defaults.START_SOON = true;
    const eager = tracked("eager");
    // Change to lazy execution globally
    promising.Defaults.START_SOON = false;
    const lazy = tracked("lazy");
    await sleep(5);
    expect(log).toEqual(["eager"]);
    await Promise.all([eager, lazy]);
    expect(log).toEqual(["eager", "lazy"]);
  });

  it("configuration is frozen at creation: later changes to Defaults have no effect", async () => {
    const log: string[] = [];
    const tracked = promising.function(async function tracked(name: string) {
      log.push(name);
    });
    promising.Defaults.START_SOON = false;
    const created = tracked("frozen-lazy");
    promising.Defaults.START_SOON = true;
    await sleep(5);
    expect(log).toEqual([]);
    await created;
    expect(log).toEqual(["frozen-lazy"]);
  });
});

describe("README: result unpacking", () => {
  const inner = promising.function(async function inner() {
    return "hello";
  });

  it("await recursively unpacks nested Promises", async () => {
    const outer = promising.function(async function outer() {
      return inner(); // Returns a Promise, not a string
    });
    expect(await outer()).toBe("hello"); // Recursively unpacks
  });

  it("unpackOnce() resolves one level only (a sync outer shows the layer; an async one adopts it)", async () => {
    // JS async functions adopt returned thenables, so the README's one-level example needs a
    // sync outer function (SPEC 4.2).
    const outer = promising.function({ useThreadPool: false }, function outer() {
      return inner();
    });
    const oneLevel = await outer().unpackOnce(); // { promise: the inner Promise }
    expect(layerKind(oneLevel)).toBe("promise");
    const innerPromise = (oneLevel as { promise: promising.Promise<string> }).promise;
    expect(innerPromise).toBeInstanceOf(promising.Promise);
    const final = await innerPromise;
    expect(final).toBe("hello");

    const asyncOuter = promising.function(async function asyncOuter() {
      return inner();
    });
    expect(await asyncOuter().unpackOnce()).toEqual({ value: "hello" });
  });
});

describe("README: creating Promises directly", () => {
  async function myCoro() {
    return "hello";
  }

  it("from a thunk", async () => {
    const promise = new promising.Promise(() => myCoro(), { startSoon: true });
    expect(await promise).toBe("hello");
  });

  it("prefilled with a result", async () => {
    const promise = new promising.Promise({ prefilledResult: 42 });
    expect(promise.done()).toBe(true);
    expect(promise.result()).toBe(42);
  });

  it("prefilled with an error", async () => {
    const oops = new RangeError("oops");
    const promise = new promising.Promise({ prefilledError: oops });
    expect(promise.done()).toBe(true);
    expect(promise.error()).toBe(oops);
    await expect(promise).rejects.toBe(oops);
  });

  it("explicit parent, and no parent", async () => {
    // Explicit parent (overrides automatic context-based detection)
    const parent = new promising.Promise({ prefilledResult: "parent" });
    await promising.context().run(async (ctx) => {
      const child = new promising.Promise(() => myCoro(), { parent });
      expect(child.getParentContext()).toBe(parent);
      // No parent (opt out of automatic parent detection)
      const orphan = new promising.Promise(() => myCoro(), { parent: null });
      expect(orphan.getParentContext({ raiseIfNone: false })).toBeNull();
      // the default is the active context
      const adopted = new promising.Promise(() => myCoro());
      expect(adopted.getParentContext()).toBe(ctx);
      expect(await Promise.all([child, orphan, adopted])).toEqual(["hello", "hello", "hello"]);
    });
  });
});

describe("README: PromisingFunction.run()", () => {
  it("creates a root, awaits the result and all children recursively", async () => {
    const finished: string[] = [];
    const slow = promising.function(async function slow(name: string) {
      await sleep(5);
      finished.push(name);
    });
    const main = promising.function(async function main(n: number) {
      for (let i = 0; i < n; i++) slow(`child-${i}`);
      return "main done";
    });
    expect(await main.run(3)).toBe("main done");
    expect(finished.sort()).toEqual(["child-0", "child-1", "child-2"]);
  });
});

describe("README: module functions and context methods", () => {
  it("getActiveContext / getActivePromise / getTrace / formatTrace inside a promise", async () => {
    const traced = promising.function({ namespace: "traced" }, async () => ({
      ctx: promising.getActiveContext(),
      promise: promising.getActivePromise(),
      trace: promising.getTrace(),
      formatted: promising.formatTrace(),
    }));
    const p = traced();
    const r = await p;
    expect(r.ctx).toBe(p);
    expect(r.promise).toBe(p);
    expect(r.trace).toEqual([p]);
    expect(r.formatted).toHaveLength(1);
    expect(r.formatted[0]).toContain("traced");
  });

  it("collectRemainingChildren lists reachable, still-running children", async () => {
    const g = gate();
    const slow = promising.function(async function slow() {
      await g.promise;
    });
    const parent = promising.function(async function parent() {
      const a = slow();
      const remaining = promising.collectRemainingChildren() as Set<unknown>;
      g.open();
      await a;
      return {
        hasA: remaining.has(a),
        size: remaining.size,
        after: promising.collectRemainingChildren().size,
      };
    });
    expect(await parent()).toEqual({ hasA: true, size: 1, after: 0 });
  });

  it("sentinels raise SentinelUsageError on coercion", () => {
    expect(promising.INHERIT).toBeInstanceOf(promising.Sentinel);
    expect(() => `${promising.INHERIT as any}`).toThrow(promising.SentinelUsageError);
  });

  it("all errors inherit from PromisingError", () => {
    for (const e of [
      new promising.ContextNotFoundError("x"),
      new promising.ContextAlreadyActiveError("x"),
      new promising.ContextNotActiveError("x"),
      new promising.DecorationError("x"),
      new promising.EventLoopMismatchError("x"),
      new promising.NoRunningEventLoopError("x"),
      new promising.PromiseNotFoundError("x"),
      new promising.SentinelUsageError("x"),
      new promising.SyncUsageError("x"),
    ]) {
      expect(e).toBeInstanceOf(promising.PromisingError);
    }
  });
});
