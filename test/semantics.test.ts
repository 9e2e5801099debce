// Behavioural tests for SPEC section 2 (items 1–11, single-thread parts) and section 4
// (items 2, 3, 4, 6, 7, 8, 10), plus sentinels, Defaults.START_SOON and bad input.
// Worker-thread behaviour (useThreadPool: true) is deliberately out of scope here.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isMainThread, threadId } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as promising from "../src/index.ts";
import {
  collectGarbage,
  collectGarbageUntil,
  gate,
  layerKind,
  macrotask,
  sleep,
  thenable,
  withStartSoon,
} from "./helpers.ts";

const P = promising.Promise;

/** Creates an async promising function that logs `name` when its body starts. */
function logged(log: string[], name: string, body?: () => unknown) {
  return promising.function({ namespace: name }, async () => {
    log.push(name);
    return body ? await body() : name;
  });
}

/** Asserts `fn` throws synchronously an instance of `cls` (and that it is an Error). */
function expectThrowsClass(fn: () => unknown, cls: new (...a: any[]) => Error, message?: RegExp): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected a synchronous throw").toBeDefined();
  expect(caught).toBeInstanceOf(cls);
  if (message) expect((caught as Error).message).toMatch(message);
  return caught as Error;
}

afterEach(() => {
  // A failing test must never leak a changed global default into the next one.
  promising.Defaults.START_SOON = true;
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.1 a decorated function always returns a promising.Promise", () => {
  const inner = promising.function(async function inner() {
    return "inner-value";
  });

  it("async function returning a plain value", async () => {
    const f = promising.function(async function f() {
      return 1;
    });
    const p = f();
    expect(p).toBeInstanceOf(promising.Promise);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(1);
  });

  it("async function returning a native promise, a thenable, or another promising.Promise", async () => {
    const a = promising.function(async () => Promise.resolve("native"));
    const b = promising.function(async () => thenable("foreign"));
    const c = promising.function(async () => inner());
    for (const [f, expected] of [
      [a, "native"],
      [b, "foreign"],
      [c, "inner-value"],
    ] as const) {
      const p = f();
      expect(p).toBeInstanceOf(promising.Promise);
      expect(await p).toBe(expected);
    }
  });

  it("sync function (useThreadPool: false) returning a value, native promise, thenable or promising.Promise", async () => {
    const values = promising.function({ useThreadPool: false }, () => 5);
    const native = promising.function({ useThreadPool: false }, () => Promise.resolve(6));
    const foreign = promising.function({ useThreadPool: false }, () => thenable(7));
    const nested = promising.function({ useThreadPool: false }, () => inner());
    const results: unknown[] = [];
    for (const f of [values, native, foreign, nested]) {
      const p = f();
      expect(p).toBeInstanceOf(promising.Promise);
      results.push(await p);
    }
    expect(results).toEqual([5, 6, 7, "inner-value"]);
  });

  it("a non-promising thenable result of a sync function is wrapped into a child promising.Promise", async () => {
    const native = Promise.resolve("n");
    const foreign = thenable("t");
    for (const returned of [native, foreign]) {
      const f = promising.function({ useThreadPool: false }, () => returned);
      const p = f();
      const layer = (await p.unpackOnce()) as { promise: promising.Promise<string> };
      expect(layerKind(layer)).toBe("promise");
      expect(layer.promise).toBeInstanceOf(promising.Promise);
      expect(layer.promise).not.toBe(returned);
      expect(layer.promise.getParentContext()).toBe(p);
      expect(await layer.promise).toBe(await p);
    }
  });

  it("a returned promising.Promise is not the promise the call returns", async () => {
    const q = inner();
    const f = promising.function({ useThreadPool: false }, () => q);
    const p = f();
    expect(p).not.toBe(q);
    expect(await p).toBe("inner-value");
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.2 async detection and DecorationError rules", () => {
  it("accepts async function expressions, async arrows and async methods", async () => {
    const obj = {
      async method() {
        return "m";
      },
    };
    const fns = [
      promising.function(async function named() {
        return "f";
      }),
      promising.function(async () => "a"),
      promising.function(obj.method),
    ];
    expect(await Promise.all(fns.map((f) => f()))).toEqual(["f", "a", "m"]);
  });

  it("a sync function without useThreadPool throws DecorationError at decoration time", () => {
    expectThrowsClass(() => promising.function(() => 1), promising.DecorationError, /useThreadPool/);
    expectThrowsClass(
      () =>
        promising.function(function plain() {
          return Promise.resolve(1); // returns a promise but is not an async function
        }),
      promising.DecorationError,
    );
    expectThrowsClass(() => promising.function({})(() => 1), promising.DecorationError, /useThreadPool/);
  });

  it("an async function with useThreadPool given at decoration time, any value, throws DecorationError", () => {
    for (const value of [true, false, null]) {
      expectThrowsClass(
        () => promising.function({ useThreadPool: value as any }, async () => 1),
        promising.DecorationError,
        /useThreadPool/,
      );
      expectThrowsClass(
        () => promising.function({ useThreadPool: value as any })(async () => 1),
        promising.DecorationError,
        /useThreadPool/,
      );
    }
  });

  it("an async function with useThreadPool given at call time throws DecorationError from .with()", () => {
    const f = promising.function(async () => 1);
    for (const value of [true, false, null]) {
      expectThrowsClass(
        () => f.with({ useThreadPool: value as any }),
        promising.DecorationError,
        /useThreadPool/,
      );
    }
    // absent / undefined keeps the decoration-time value and is fine
    expect(() => f.with({ useThreadPool: undefined })).not.toThrow();
  });

  it("a non-function throws DecorationError", () => {
    for (const bad of [42, "str", Symbol("s")]) {
      expectThrowsClass(() => (promising.function as any)(bad), promising.DecorationError);
    }
    for (const bad of [42, "str", null, {}]) {
      expectThrowsClass(() => (promising.function({}) as any)(bad), promising.DecorationError);
    }
  });

  it("the three call forms are equivalent", async () => {
    const body = async function triple(x: number) {
      return x * 3;
    };
    const a = promising.function(body);
    const b = promising.function({ namespace: "b" }, body);
    const c = promising.function({ namespace: "c" })(body);
    for (const f of [a, b, c]) expect(f).toBeInstanceOf(promising.PromisingFunction);
    expect(await a(1)).toBe(3);
    expect(await b(2)).toBe(6);
    expect(await c(3)).toBe(9);
    expect(b(0).namespace).toBe("b");
    expect(c(0).namespace).toBe("c");
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.3 useThreadPool: false runs on the owning thread; blocking calls throw SyncUsageError", () => {
  it("runs the sync function on the main thread, with its arguments", async () => {
    const f = promising.function({ useThreadPool: false }, (a: number, b: number) => ({
      sum: a + b,
      isMainThread,
      threadId,
    }));
    expect(await f(2, 3)).toEqual({ sum: 5, isMainThread: true, threadId: 0 });
  });

  it("inside the function, .sync(), .unpackOnceSync() and awaitChildrenSync() throw SyncUsageError", async () => {
    const child = promising.function(async function child() {
      return 1;
    });
    const f = promising.function({ useThreadPool: false }, function caller() {
      const c = child();
      const errors: unknown[] = [];
      for (const call of [
        () => c.sync(),
        () => c.unpackOnceSync(),
        () => promising.awaitChildrenSync(),
        () => promising.getActiveContext().awaitChildrenSync(),
      ]) {
        try {
          call();
          errors.push("no error");
        } catch (e) {
          errors.push(e);
        }
      }
      return errors;
    });
    const errors = (await f()) as unknown[];
    expect(errors).toHaveLength(4);
    for (const e of errors) {
      expect(e).toBeInstanceOf(promising.SyncUsageError);
      expect((e as Error).message.length).toBeGreaterThan(10);
    }
  });

  it("on the main thread outside any promise, blocking calls throw SyncUsageError too", async () => {
    const p = promising.function(async () => 1)();
    expectThrowsClass(() => p.sync(), promising.SyncUsageError);
    expectThrowsClass(() => p.sync({ timeoutMs: 10 }), promising.SyncUsageError);
    expectThrowsClass(() => p.unpackOnceSync(), promising.SyncUsageError);
    expectThrowsClass(() => p.awaitChildrenSync(), promising.SyncUsageError);
    await promising.context().run((ctx) => {
      expectThrowsClass(() => ctx.awaitChildrenSync(), promising.SyncUsageError);
      expectThrowsClass(() => promising.awaitChildrenSync(), promising.SyncUsageError);
    });
    // With no context active at all, and also with raiseIfNone: false: the thread is what is wrong.
    expectThrowsClass(() => promising.awaitChildrenSync(), promising.SyncUsageError);
    expectThrowsClass(() => promising.awaitChildrenSync({ raiseIfNone: false }), promising.SyncUsageError);
    expect(await p).toBe(1);
  });

  it("a concurrent future on the main thread: result()/exception() throw SyncUsageError, done() polls, transferList is an array", async () => {
    const g = gate();
    const p = promising.function(async () => {
      await g.promise;
      return "cf";
    })();
    const future = p.asConcurrentFuture();
    expect(Array.isArray(future.transferList)).toBe(true);
    expect(future.done()).toBe(false);
    expectThrowsClass(() => future.result(), promising.SyncUsageError);
    expectThrowsClass(() => future.exception(), promising.SyncUsageError);
    g.open();
    expect(await p).toBe("cf");
    await macrotask();
    expect(future.done()).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.4 eager start at the next microtask checkpoint, deferred start at first consumption", () => {
  it("eager: not synchronously inside the call, but before timers and I/O callbacks", async () => {
    const log: string[] = [];
    setTimeout(() => log.push("timeout"), 0);
    setImmediate(() => log.push("immediate"));
    const asyncFn = logged(log, "async-work");
    const syncFn = promising.function({ useThreadPool: false }, () => {
      log.push("sync-work");
    });
    const p1 = asyncFn();
    const p2 = syncFn();
    const p3 = new P(async () => {
      log.push("thunk-work");
    });
    log.push("after-calls");
    expect(log).toEqual(["after-calls"]);
    await sleep(15);
    expect(log.slice(0, 4).sort()).toEqual(["after-calls", "async-work", "sync-work", "thunk-work"].sort());
    expect(log[0]).toBe("after-calls");
    expect(log.indexOf("timeout")).toBeGreaterThan(3);
    expect(log.indexOf("immediate")).toBeGreaterThan(3);
    await Promise.all([p1, p2, p3]);
  });

  it("eager: the work has started once the current microtask queue drains (before a setTimeout(0) callback)", async () => {
    const log: string[] = [];
    const f = logged(log, "w");
    const p = f();
    const seenByTimer = await new Promise<string[]>((resolve) => setTimeout(() => resolve([...log]), 0));
    expect(seenByTimer).toEqual(["w"]);
    await p;
  });

  it("deferred: nothing runs until the first consumption; inspection does not start it", async () => {
    const log: string[] = [];
    const f = logged(log, "lazy");
    const p = f.with({ startSoon: false })();
    await sleep(10);
    p.done();
    void p.namespace;
    String(p);
    p.getParentContext({ raiseIfNone: false });
    p.collectRemainingChildren();
    await sleep(10);
    expect(log).toEqual([]);
    expect(p.done()).toBe(false);
    expect(await p).toBe("lazy");
    expect(log).toEqual(["lazy"]);
  });

  it.each([
    ["await", (p: promising.Promise<unknown>) => (async () => await p)()],
    ["then", (p: promising.Promise<unknown>) => p.then((v) => v)],
    ["unpackOnce", (p: promising.Promise<unknown>) => p.unpackOnce()],
    ["catch", (p: promising.Promise<unknown>) => p.catch(() => undefined)],
    ["finally", (p: promising.Promise<unknown>) => p.finally(() => undefined)],
    ["Promise.all", (p: promising.Promise<unknown>) => Promise.all([p])],
    ["Promise.race", (p: promising.Promise<unknown>) => Promise.race([p])],
    ["Promise.resolve", (p: promising.Promise<unknown>) => Promise.resolve(p)],
    ["promising.Promise.resolve", (p: promising.Promise<unknown>) => promising.Promise.resolve(p)],
    ["promising.Promise.all", (p: promising.Promise<unknown>) => promising.Promise.all([p])],
    ["promising.Promise.race", (p: promising.Promise<unknown>) => promising.Promise.race([p])],
  ])("deferred: %s starts it", async (_name, consume) => {
    const log: string[] = [];
    const p = logged(log, "x").with({ startSoon: false })();
    await sleep(5);
    expect(log).toEqual([]);
    // Not awaited: handing the promise over is the consumption that starts it.
    const consumed = consume(p);
    await sleep(5);
    expect(log).toEqual(["x"]);
    expect(p.done()).toBe(true);
    await consumed;
  });

  it("native consumers take a promising.Promise as it is: Promise.resolve(p) is p; reflection still sees the class", async () => {
    const p = promising.function(async () => 1)();
    expect(Promise.resolve(p)).toBe(p);
    expect(await Promise.resolve(p)).toBe(1);
    expect(Object.getPrototypeOf(p).constructor).toBe(P);
    expect(P.prototype.constructor).toBe(P);
    expect(p).toBeInstanceOf(P);
    expect(p).toBeInstanceOf(Promise);
    // Derived promises are plain native ones.
    expect(Object.getPrototypeOf(p.then(() => 0))).toBe(Promise.prototype);
  });

  it("a rejected promise consumed only through its constructor (Promise.resolve) counts as observed", async () => {
    const reports: unknown[] = [];
    const previous = promising.Defaults.ON_UNOBSERVED_FAILURE;
    promising.Defaults.ON_UNOBSERVED_FAILURE = (error) => reports.push(error);
    const observed = new Error("observed through Promise.resolve");
    const control = new Error("never observed (control)");
    try {
      await (async () => {
        const fails = promising.function(async (error: Error) => {
          throw error;
        });
        const p = fails(observed);
        fails(control);
        await macrotask();
        await expect(Promise.resolve(p)).rejects.toBe(observed);
      })();
      // The control's report proves that collection ran; the consumed one is never reported.
      await collectGarbageUntil(() => reports.includes(control));
      expect(reports).toEqual([control]);
    } finally {
      promising.Defaults.ON_UNOBSERVED_FAILURE = previous;
    }
  });

  it("deferred manual Promise starts on consumption", async () => {
    const log: string[] = [];
    const p = new P(
      async () => {
        log.push("thunk");
        return 3;
      },
      { startSoon: false },
    );
    await sleep(5);
    expect(log).toEqual([]);
    expect(await p).toBe(3);
    expect(log).toEqual(["thunk"]);
  });

  it("the work runs at most once however often it is consumed", async () => {
    let calls = 0;
    const f = promising.function(async () => {
      calls++;
      return { n: calls };
    });
    for (const startSoon of [true, false]) {
      calls = 0;
      const p = f.with({ startSoon })();
      const results = await Promise.all([p, p.then((v) => v), p.unpackOnce(), p, p.catch(() => null)]);
      expect(calls).toBe(1);
      const value = results[0];
      expect(results[1]).toBe(value);
      expect((results[2] as { value: unknown }).value).toBe(value);
      expect(results[3]).toBe(value);
      expect(results[4]).toBe(value);
      expect(p.result()).toBe(value);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.5 hierarchy", () => {
  // boxed: returning the active promise itself would make it adopt itself and never settle
  const child = promising.function(async function child() {
    return { active: promising.getActivePromise() };
  });

  it("a Promise created outside any context is a root", () => {
    const p = child();
    expect(p.getParentContext({ raiseIfNone: false })).toBeNull();
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
    return p.then(() => undefined);
  });

  it("a Promise created inside another one's work is its child, also after awaits, in timers and callbacks", async () => {
    const parent = promising.function(async function parent() {
      const kids: Record<string, promising.Promise<{ active: unknown }>> = {};
      kids.sync = child();
      await sleep(1);
      kids.afterAwait = child();
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          kids.timer = child();
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          kids.immediate = child();
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        process.nextTick(() => {
          kids.nextTick = child();
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          kids.microtask = child();
          resolve();
        }),
      );
      await Promise.resolve().then(() => {
        kids.thenCallback = child();
      });
      return kids;
    });
    const p = parent();
    const kids = await p;
    expect(Object.keys(kids)).toHaveLength(7);
    for (const [where, kid] of Object.entries(kids)) {
      expect(kid.getParentContext(), where).toBe(p);
      expect(kid.getParentPromise(), where).toBe(p);
      // and inside the child, the active promise is the child itself
      expect((await kid).active, where).toBe(kid);
    }
  });

  it("a Promise or context created inside a PromisingContext is its child; getParentPromise walks past contexts", async () => {
    const parent = promising.function(async function parent() {
      return promising.context({ namespace: "outer" }).run(async (outer) => {
        const inner = await promising.context({ namespace: "inner" }).run(async (innerCtx) => {
          const kid = child();
          expect(kid.getParentContext()).toBe(innerCtx);
          expect(kid.getParentPromise()).toBe(promising.getActivePromise());
          expect(innerCtx.getParentContext()).toBe(outer);
          return innerCtx;
        });
        return { outer, inner };
      });
    });
    const p = parent();
    const { outer, inner } = await p;
    expect(outer.getParentContext()).toBe(p);
    expect(outer.getParentPromise()).toBe(p);
    expect(inner.getParentPromise()).toBe(p);
    expect(outer).toBeInstanceOf(promising.PromisingContext);
    expect(outer).not.toBeInstanceOf(promising.Promise);
  });

  it("explicit parent wins; parent: null makes a root", async () => {
    const other = new P({ prefilledResult: "other" });
    const parent = promising.function(async function parent() {
      const explicit = child.with({ parent: other })();
      const root = child.with({ parent: null })();
      const manualExplicit = new P(async () => 1, { parent: other });
      const manualRoot = new P(async () => 1, { parent: null });
      await Promise.all([explicit, root, manualExplicit, manualRoot]);
      return { explicit, root, manualExplicit, manualRoot };
    });
    const r = await parent();
    expect(r.explicit.getParentContext()).toBe(other);
    expect(r.manualExplicit.getParentContext()).toBe(other);
    expect(r.root.getParentContext({ raiseIfNone: false })).toBeNull();
    expect(r.manualRoot.getParentContext({ raiseIfNone: false })).toBeNull();
  });

  it("the active Promise inside a thunk is the Promise itself", async () => {
    let p!: promising.Promise<boolean>;
    p = new P(async () => promising.getActivePromise() === p);
    expect(await p).toBe(true);
  });

  it("nested contexts nest and unwind", async () => {
    await promising.context().run(async (outer) => {
      expect(promising.getActiveContext()).toBe(outer);
      await promising.context().run(async (inner) => {
        expect(promising.getActiveContext()).toBe(inner);
        expect(inner.getParentContext()).toBe(outer);
        await sleep(1);
        expect(promising.getActiveContext()).toBe(inner);
      });
      expect(promising.getActiveContext()).toBe(outer);
      promising.context().run((syncInner) => {
        expect(promising.getActiveContext()).toBe(syncInner);
      });
      expect(promising.getActiveContext()).toBe(outer);
    });
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
  });

  it("entering an already active context throws ContextAlreadyActiveError", async () => {
    await promising.context().run(async (ctx) => {
      expectThrowsClass(() => ctx.run(() => 1), promising.ContextAlreadyActiveError);
      await expect((async () => ctx.run(async () => 1))()).rejects.toBeInstanceOf(
        promising.ContextAlreadyActiveError,
      );
    });
  });

  it("a Promise's own work runs with the Promise active and no leak afterwards", async () => {
    const p = child();
    expect((await p).active).toBe(p);
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.6 parents resolve with their own work; awaitChildren waits for the subtree", () => {
  it("a parent resolves while its children still run", async () => {
    const g = gate();
    const slow = promising.function(async function slow() {
      await g.promise;
      return "slow";
    });
    let kid!: promising.Promise<string>;
    const parent = promising.function(async function parent() {
      kid = slow();
      return "parent";
    });
    expect(await parent()).toBe("parent");
    expect(kid.done()).toBe(false);
    g.open();
    expect(await kid).toBe("slow");
  });

  it("awaitChildren() waits for children and grandchildren", async () => {
    const log: string[] = [];
    const leaf = promising.function(async function leaf(name: string, ms: number) {
      await sleep(ms);
      log.push(name);
    });
    const mid = promising.function(async function mid() {
      leaf("grandchild", 15);
      log.push("mid");
    });
    const parent = promising.function(async function parent() {
      leaf("child", 5);
      mid();
      await promising.awaitChildren();
      log.push("parent");
      return "all done";
    });
    expect(await parent()).toBe("all done");
    expect(log.indexOf("parent")).toBe(log.length - 1);
    expect(log.sort()).toEqual(["child", "grandchild", "mid", "parent"]);
  });

  it("awaitChildren({ recursively: false }) waits for direct children only", async () => {
    const g = gate();
    let grandchild!: promising.Promise<void>;
    const gc = promising.function(async function gc() {
      await g.promise;
    });
    const kid = promising.function(async function kid() {
      grandchild = gc();
      await sleep(2);
    });
    const parent = promising.function(async function parent() {
      const k = kid();
      await promising.awaitChildren({ recursively: false });
      const state = { kid: k.done(), grandchild: grandchild.done() };
      g.open();
      await promising.awaitChildren();
      return { ...state, grandchildAfter: grandchild.done() };
    });
    expect(await parent()).toEqual({ kid: true, grandchild: false, grandchildAfter: true });
  });

  it("awaitChildren loops while children spawn more children (also from timers)", async () => {
    const done: string[] = [];
    const leaf = promising.function(async function leaf(name: string, ms: number) {
      await sleep(ms);
      done.push(name);
    });
    const spawner = promising.function(async function spawner() {
      await sleep(2);
      leaf("late-grandchild", 15); // spawned at the very end of the child's own work
      done.push("spawner");
    });
    const parent = promising.function(async function parent() {
      spawner();
      setTimeout(() => leaf("timer-child", 20), 5); // a direct child created after awaitChildren began
      await promising.awaitChildren();
      return [...done].sort();
    });
    expect(await parent()).toEqual(["late-grandchild", "spawner", "timer-child"]);
  });

  it("awaitChildren starts deferred children", async () => {
    const log: string[] = [];
    const lazy = logged(log, "lazy");
    const parent = promising.function(async function parent() {
      const k = lazy.with({ startSoon: false })();
      await sleep(5);
      const before = [...log];
      await promising.awaitChildren();
      return { before, after: [...log], done: k.done() };
    });
    expect(await parent()).toEqual({ before: [], after: ["lazy"], done: true });
  });

  it("awaitChildren never throws a child's error; the child's own promise still rejects", async () => {
    const boom = new Error("child failure");
    const failing = promising.function(async function failing() {
      throw boom;
    });
    const parent = promising.function(async function parent() {
      const k = failing();
      const nested = promising.function(async () => ({ grandchild: failing() }))();
      await expect(promising.awaitChildren()).resolves.toBeUndefined();
      await expect(
        promising.getActiveContext().awaitChildren({ recursively: false }),
      ).resolves.toBeUndefined();
      await expect(k).rejects.toBe(boom);
      const { grandchild } = await nested;
      expect(grandchild.done()).toBe(true);
      await expect(grandchild).rejects.toBe(boom);
      return "ok";
    });
    expect(await parent()).toBe("ok");
  });

  it("ctx.awaitChildren() works on a PromisingContext too", async () => {
    const log: string[] = [];
    const leaf = promising.function(async function leaf() {
      await sleep(5);
      log.push("leaf");
    });
    await promising.context().run(async (ctx) => {
      leaf();
      leaf();
      await ctx.awaitChildren();
      expect(log).toEqual(["leaf", "leaf"]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.7 configuration is resolved and frozen at creation", () => {
  /** Whether the Promise's work had started by the time a few macrotasks passed. */
  async function startedWithoutConsumption(
    make: () => promising.Promise<unknown>,
    log: string[],
    name: string,
  ) {
    log.length = 0;
    const p = make();
    await sleep(5);
    const started = log.includes(name);
    await p;
    return started;
  }

  it("Defaults.START_SOON = false makes root promises deferred", async () => {
    const log: string[] = [];
    const f = logged(log, "w");
    await withStartSoon(promising.Defaults, false, async () => {
      expect(await startedWithoutConsumption(() => f(), log, "w")).toBe(false);
    });
    log.length = 0;
    expect(await startedWithoutConsumption(() => f(), log, "w")).toBe(true);
  });

  it("changing Defaults.START_SOON after creation does not affect existing promises or contexts", async () => {
    const log: string[] = [];
    const f = logged(log, "w");
    promising.Defaults.START_SOON = false;
    const p = f();
    const ctx = await promising.context().run((c) => c); // frozen with startSoonDefault = false
    promising.Defaults.START_SOON = true;
    await sleep(5);
    expect(log).toEqual([]);
    await p;
    log.length = 0;
    expect(await startedWithoutConsumption(() => ctx.run(() => f()), log, "w")).toBe(false);
  });

  it("startSoon: null uses the parent's enforced childrenStartSoon; an explicit startSoon wins", async () => {
    const log: string[] = [];
    const a = logged(log, "a");
    const b = logged(log, "b");
    await promising.context({ childrenStartSoon: false }).run(async () => {
      expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(false);
      expect(await startedWithoutConsumption(() => a.with({ startSoon: null })(), log, "a")).toBe(false);
      expect(await startedWithoutConsumption(() => b.with({ startSoon: true })(), log, "b")).toBe(true);
    });
    log.length = 0;
    await promising.context({ childrenStartSoon: true }).run(async () => {
      await withStartSoon(promising.Defaults, false, async () => {
        expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(true);
      });
    });
  });

  it("childrenStartSoon on a promise function applies to the promises created in its work", async () => {
    const log: string[] = [];
    const a = logged(log, "a");
    const parent = promising.function({ childrenStartSoon: false }, async function parent() {
      return startedWithoutConsumption(() => a(), log, "a");
    });
    expect(await parent()).toBe(false);
  });

  it("startSoon: INHERIT copies the parent promise's startSoon", async () => {
    const log: string[] = [];
    const kid = logged(log, "kid");
    const parent = promising.function(async function parent() {
      return startedWithoutConsumption(() => kid.with({ startSoon: promising.INHERIT })(), log, "kid");
    });
    expect(await parent.with({ startSoon: false })()).toBe(false);
    log.length = 0;
    expect(await parent.with({ startSoon: true })()).toBe(true);
    log.length = 0;
    // without INHERIT the child of a deferred parent falls back to the (eager) default
    const plainParent = promising.function({ startSoon: false }, async function plainParent() {
      return startedWithoutConsumption(() => kid(), log, "kid");
    });
    expect(await plainParent()).toBe(true);
  });

  it("childrenStartSoon: PromisingContext defaults to INHERIT, Promise to null (no enforcement)", async () => {
    const log: string[] = [];
    const a = logged(log, "a");
    await promising.context({ childrenStartSoon: false }).run(async () => {
      // an inner context passes the enforcement through
      await promising.context().run(async () => {
        expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(false);
      });
      // a Promise does not: its own children fall back to startSoonDefault (eager)
      const mid = promising.function(async function mid() {
        return startedWithoutConsumption(() => a(), log, "a");
      });
      expect(await mid.with({ startSoon: true })()).toBe(true);
      // unless it asks for INHERIT explicitly
      expect(await mid.with({ startSoon: true, childrenStartSoon: promising.INHERIT })()).toBe(false);
      // and an inner context can lift the enforcement with null
      await promising.context({ childrenStartSoon: null }).run(async () => {
        expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(true);
      });
    });
  });

  it("startSoonDefault: INHERIT propagates through contexts and promises; PROMISING_DEFAULT reads Defaults now", async () => {
    const log: string[] = [];
    const a = logged(log, "a");
    await promising.context({ startSoonDefault: false }).run(async () => {
      expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(false);
      const mid = promising.function(async function mid() {
        return startedWithoutConsumption(() => a(), log, "a");
      });
      expect(await mid.with({ startSoon: true })()).toBe(false);
      expect(
        await startedWithoutConsumption(
          () => a.with({ startSoonDefault: promising.PROMISING_DEFAULT })(),
          log,
          "a",
        ),
      ).toBe(true);
      expect(await startedWithoutConsumption(() => a.with({ startSoonDefault: true })(), log, "a")).toBe(
        true,
      );
      await promising.context({ startSoonDefault: promising.PROMISING_DEFAULT }).run(async () => {
        expect(await startedWithoutConsumption(() => a(), log, "a")).toBe(true);
      });
    });
  });

  it("threadPool: INHERIT from the context, concrete pool, PROMISING_DEFAULT at the root", async () => {
    const pool = new promising.ThreadPool({ maxThreads: 1 });
    try {
      const f = promising.function({ useThreadPool: false }, () => 1);
      const root = f();
      expect(root.getThreadPoolExecutor()).toBe(promising.Defaults.PROMISING_THREAD_POOL);
      await promising.context({ threadPool: pool }).run(async (ctx) => {
        expect(ctx.getThreadPoolExecutor()).toBe(pool);
        const inherited = f();
        expect(inherited.getThreadPoolExecutor()).toBe(pool);
        await promising.context().run((inner) => {
          expect(inner.getThreadPoolExecutor()).toBe(pool);
        });
        const reset = f.with({ threadPool: promising.PROMISING_DEFAULT })();
        expect(reset.getThreadPoolExecutor()).toBe(promising.Defaults.PROMISING_THREAD_POOL);
        await Promise.all([inherited, reset]);
      });
      const explicit = f.with({ threadPool: pool })();
      expect(explicit.getThreadPoolExecutor()).toBe(pool);
      await Promise.all([root, explicit]);
    } finally {
      await pool.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.8 children are held strongly while running, weakly otherwise", () => {
  it("collectRemainingChildren never misses a running, unreferenced child (even after GC)", async () => {
    const g = gate();
    // (the const and the function expression have different names: esbuild renames a function
    // expression that shadows its binding, e.g. `const slow = f(async function slow() {})` → slow2)
    const slowFn = promising.function(async function slowWorker(wait: Promise<void>) {
      await wait;
    });
    await promising.context().run(async (ctx) => {
      slowFn(g.promise); // no reference kept
      slowFn(g.promise);
      await collectGarbage();
      const running = ctx.collectRemainingChildren();
      expect(running).toBeInstanceOf(Set);
      expect(running.size).toBe(2);
      for (const c of running) expect(c.namespace).toBe("slowWorker");
      g.open();
      await ctx.awaitChildren();
      expect(ctx.collectRemainingChildren().size).toBe(0);
    });
  });

  it("a finished child stays listed with excludeDone: false while referenced, and is released once unreferenced", async () => {
    const quick = promising.function(async function quick() {
      return 1;
    });
    await promising.context().run(async (ctx) => {
      let kept: promising.Promise<number> | null = quick();
      (() => {
        quick(); // never referenced
      })();
      await ctx.awaitChildren();
      await collectGarbageUntil(() => ctx.collectRemainingChildren({ excludeDone: false }).size <= 1);
      const listed = ctx.collectRemainingChildren({ excludeDone: false }) as Set<unknown>;
      expect(listed.has(kept)).toBe(true);
      expect(listed.size).toBe(1);
      listed.clear();
      kept = null;
      await collectGarbageUntil(() => ctx.collectRemainingChildren({ excludeDone: false }).size === 0);
      expect(ctx.collectRemainingChildren({ excludeDone: false }).size).toBe(0);
    });
  });

  it("options: recursively, excludeNonAwaitable, excludeDone", async () => {
    const g = gate();
    const slow = promising.function(async function slow() {
      await g.promise;
    });
    const quick = promising.function(async function quick() {
      return 1;
    });
    await promising.context().run(async (ctx) => {
      const direct = slow();
      const finished = quick();
      let innerCtx!: promising.PromisingContext;
      let grandchild!: promising.Promise<void>;
      const innerRun = promising.context({ namespace: "inner" }).run(async (inner) => {
        innerCtx = inner;
        grandchild = slow();
        await g.promise;
      });
      await finished;
      await sleep(1);
      const all = ctx.collectRemainingChildren() as Set<unknown>;
      expect(all.has(direct)).toBe(true);
      expect(all.has(grandchild)).toBe(true);
      expect(all.has(finished)).toBe(false);
      expect(all.has(innerCtx)).toBe(false); // non-awaitable excluded by default
      const directOnly = ctx.collectRemainingChildren({ recursively: false }) as Set<unknown>;
      expect(directOnly.has(direct)).toBe(true);
      expect(directOnly.has(grandchild)).toBe(false);
      const withContexts = ctx.collectRemainingChildren({ excludeNonAwaitable: false }) as Set<unknown>;
      expect(withContexts.has(innerCtx)).toBe(true);
      expect(withContexts.has(grandchild)).toBe(true);
      const withDone = ctx.collectRemainingChildren({ excludeDone: false }) as Set<unknown>;
      expect(withDone.has(finished)).toBe(true);
      // module-level function acts on the active context
      expect((promising.collectRemainingChildren() as Set<unknown>).has(direct)).toBe(true);
      g.open();
      await innerRun;
      await ctx.awaitChildren();
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.9 failures", () => {
  it("the Promise rejects with the very error object thrown by the work", async () => {
    const err = new TypeError("exact");
    const asyncFn = promising.function(async () => {
      throw err;
    });
    const syncFn = promising.function({ useThreadPool: false }, () => {
      throw err;
    });
    const thunkP = new P(() => Promise.reject(err));
    const prefilled = new P({ prefilledError: err });
    for (const p of [asyncFn(), syncFn(), thunkP, prefilled]) {
      await expect(p).rejects.toBe(err);
      expect(p.done()).toBe(true);
      expect(p.error()).toBe(err);
      expect(() => p.result()).toThrow(err);
      await expect(p.unpackOnce()).rejects.toBe(err);
    }
  });

  it("a failing child awaited much later is catchable there and fires no unhandledRejection meanwhile", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    const reports: unknown[] = [];
    const previous = promising.Defaults.ON_UNOBSERVED_FAILURE;
    promising.Defaults.ON_UNOBSERVED_FAILURE = (error) => reports.push(error);
    try {
      const err = new Error("late");
      const failing = promising.function(async function failing() {
        throw err;
      });
      const parent = promising.function(async function parent() {
        const k = failing();
        await sleep(30);
        try {
          await k;
          return "not thrown";
        } catch (e) {
          return e;
        }
      });
      expect(await parent()).toBe(err);
      // a root promise, too
      const root = failing();
      await sleep(30);
      await expect(root).rejects.toBe(err);
      await sleep(10);
      expect(unhandled).toEqual([]);
      await collectGarbage();
      expect(reports.filter((r) => r === err)).toEqual([]);
    } finally {
      process.off("unhandledRejection", listener);
      promising.Defaults.ON_UNOBSERVED_FAILURE = previous;
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.10 / 4.6 error traces", () => {
  it("an escaping error carries a non-enumerable promisingTrace, set at the deepest level only", async () => {
    let deepest!: promising.Promise<never>;
    const grand = promising.function({ namespace: "trace-grand" }, async () => {
      throw new Error("deep");
    });
    const kid = promising.function({ namespace: "trace-kid" }, async () => {
      deepest = grand();
      await deepest; // rethrows through this level
    });
    const root = promising.function({ namespace: "trace-root" }, async () => {
      await kid();
    });
    const error = (await root().catch((e: unknown) => e)) as Error & { promisingTrace?: string[] };
    expect(error.message).toBe("deep");
    const descriptor = Object.getOwnPropertyDescriptor(error, "promisingTrace");
    expect(descriptor).toBeDefined();
    expect(descriptor!.enumerable).toBe(false);
    expect(Object.keys(error)).not.toContain("promisingTrace");
    const trace = error.promisingTrace!;
    expect(Array.isArray(trace)).toBe(true);
    expect(trace).toHaveLength(3);
    expect(trace[0]).toContain("trace-root");
    expect(trace[1]).toContain("trace-kid");
    expect(trace[2]).toContain("trace-grand");
    expect(trace).toHaveLength(deepest.formatTrace().length);
  });

  it("an existing promisingTrace is not overwritten", async () => {
    const err = new Error("pre-traced");
    Object.defineProperty(err, "promisingTrace", { value: ["mine"], enumerable: false, configurable: true });
    const f = promising.function(async () => {
      throw err;
    });
    await expect(f()).rejects.toBe(err);
    expect((err as any).promisingTrace).toEqual(["mine"]);
  });

  it("the trace is set for sync (useThreadPool: false) work too", async () => {
    const f = promising.function({ useThreadPool: false, namespace: "sync-trace" }, () => {
      throw new Error("sync");
    });
    const e = (await f().catch((x: unknown) => x)) as { promisingTrace?: string[] };
    expect(e.promisingTrace).toHaveLength(1);
    expect(e.promisingTrace![0]).toContain("sync-trace");
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 2.11 methods (see decorators.test.ts for the full matrix)", () => {
  it("an instance method keeps this and gets the Class.method namespace", async () => {
    class Service {
      name = "svc";
      @promising.fn
      async fetch(x: number) {
        return { self: this, x, ns: promising.getActivePromise().namespace };
      }
    }
    const svc = new Service();
    // (TypeScript keeps the declared method type; at run time it returns a promising.Promise)
    const p = svc.fetch(1) as unknown as promising.Promise<Awaited<ReturnType<Service["fetch"]>>>;
    expect(p).toBeInstanceOf(promising.Promise);
    const r = await p;
    expect(r.self).toBe(svc);
    expect(r.x).toBe(1);
    expect(r.ns).toBe("Service.fetch");
    expect(p.namespace).toBe("Service.fetch");
  });
});

// ---------------------------------------------------------------------------------------------
describe("deep chains complete on the default stack", () => {
  it("100,000 levels of promising functions, each awaiting the next", async () => {
    const link = promising.function(
      async (depth: number): Promise<number> => (depth === 0 ? 0 : 1 + (await link(depth - 1))),
    );
    expect(await link(100_000)).toBe(100_000);
  });

  it("100,000 layers: sync functions each returning the next one's promise, unpacked fully", async () => {
    // The innermost settles last, from a timer: its settlement then travels up all the layers.
    const leaf = promising.function(async () => {
      await sleep(5);
      return 42;
    });
    const layer = promising.function(
      { useThreadPool: false },
      (depth: number): promising.Promise<number> => (depth === 0 ? leaf() : layer(depth - 1)),
    );
    expect(await layer(100_000)).toBe(42);
  });
});

describe("SPEC 4.2 one-level layers", () => {
  const inner = promising.function(async function inner() {
    return { hello: "world" };
  });

  it("an async function's layer is always the final value", async () => {
    const outer = promising.function(async function outer() {
      return inner();
    });
    const p = outer();
    const layer = await p.unpackOnce();
    expect(layerKind(layer)).toBe("value");
    expect((layer as { value: unknown }).value).toEqual({ hello: "world" });
    expect((layer as { value: unknown }).value).toBe(await p);
  });

  it("a sync function returning a promising.Promise has that Promise as its layer", async () => {
    const q = inner();
    const outer = promising.function({ useThreadPool: false }, function outer() {
      return q;
    });
    const p = outer();
    const layer = await p.unpackOnce();
    expect(layerKind(layer)).toBe("promise");
    expect((layer as { promise: unknown }).promise).toBe(q);
    expect(await p).toBe(await q);
    // unpackOnce is cached too
    expect(((await p.unpackOnce()) as { promise: unknown }).promise).toBe(q);
  });

  it("a sync function returning a native promise has it wrapped into a child promising.Promise layer", async () => {
    const obj = { v: 1 };
    const native = Promise.resolve(obj);
    const p = promising.function({ useThreadPool: false }, () => native)();
    const layer = (await p.unpackOnce()) as { promise: promising.Promise<typeof obj> };
    expect(layerKind(layer)).toBe("promise");
    expect(layer.promise).toBeInstanceOf(promising.Promise);
    expect(layer.promise.getParentContext()).toBe(p);
    expect(await layer.promise).toBe(obj);
    expect(await p).toBe(obj);
  });

  it("a thunk's foreign thenable is the work itself; a thunk's promising.Promise is the layer", async () => {
    const obj = { v: 2 };
    const fromNative = new P(() => Promise.resolve(obj));
    expect(await fromNative.unpackOnce()).toEqual({ value: obj });
    expect(((await fromNative.unpackOnce()) as { value: unknown }).value).toBe(obj);
    const fromThenable = new P(() => thenable(obj));
    expect(layerKind(await fromThenable.unpackOnce())).toBe("value");
    const q = inner();
    const fromPromising = new P(() => q);
    const layer = await fromPromising.unpackOnce();
    expect(layerKind(layer)).toBe("promise");
    expect((layer as { promise: unknown }).promise).toBe(q);
    expect(await fromPromising).toBe(await q);
  });

  it("an already running PromiseLike is accepted as the work", async () => {
    expect(await new P(Promise.resolve(7))).toBe(7);
    expect(await new P(thenable("t"))).toBe("t");
    const rejected = Promise.reject(new Error("pl"));
    const p = new P(rejected);
    await expect(p).rejects.toThrow("pl");
  });

  it("await unpacks nested layers fully", async () => {
    const level1 = promising.function({ useThreadPool: false }, () => inner());
    const level2 = promising.function({ useThreadPool: false }, () => level1());
    const p = level2();
    const l1 = (await p.unpackOnce()) as { promise: promising.Promise<unknown> };
    expect(layerKind(l1)).toBe("promise");
    const l2 = (await l1.promise.unpackOnce()) as { promise: promising.Promise<unknown> };
    expect(layerKind(l2)).toBe("promise");
    const l3 = await l2.promise.unpackOnce();
    expect(layerKind(l3)).toBe("value");
    expect(await p).toBe((l3 as { value: unknown }).value);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.3 contexts", () => {
  it("context(options).run returns exactly what the block returns", async () => {
    expect(promising.context().run(() => 42)).toBe(42);
    const r = promising.context().run(async () => "async");
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toBe("async");
    const obj = {};
    expect(promising.context().run(() => obj)).toBe(obj);
  });

  it("context(options).run returns the very promise an async block returns (identity)", async () => {
    // SPEC 4.3 "returns exactly what the block returns": read as identity for promises too.
    const native = Promise.resolve("n");
    expect(promising.context().run(() => native)).toBe(native);
    const fromAsync = { p: null as Promise<string> | null };
    const returned = promising.context().run(() => {
      fromAsync.p = (async () => "a")();
      return fromAsync.p;
    });
    expect(returned).toBe(fromAsync.p);
    await returned;
  });

  it("each run() creates a fresh PromisingContext with the options", async () => {
    const factory = promising.context({ namespace: "scoped" });
    const a = factory.run((ctx) => ctx);
    const b = await factory.run(async (ctx) => ctx);
    expect(a).toBeInstanceOf(promising.PromisingContext);
    expect(b).toBeInstanceOf(promising.PromisingContext);
    expect(a).not.toBe(b);
    expect(a.namespace).toBe("scoped");
    expect(b.namespace).toBe("scoped");
    expect(promising.context().run((ctx) => ctx.namespace)).toBeNull();
  });

  it("the block's errors propagate unchanged", async () => {
    const err = new Error("in block");
    expect(() =>
      promising.context().run(() => {
        throw err;
      }),
    ).toThrow(err);
    await expect(
      promising.context().run(async () => {
        throw err;
      }),
    ).rejects.toBe(err);
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
  });

  it("ctx.run(block) re-enters an existing context from outside", async () => {
    const saved = promising.context({ namespace: "saved" }).run((ctx) => ctx);
    expect(saved.run(() => promising.getActiveContext())).toBe(saved);
    const p = saved.run(() => promising.function(async () => 1)());
    expect(p.getParentContext()).toBe(saved);
    await p;
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
  });

  it("context(fn) and context(options)(fn) wrap a function: fresh context per call, own result returned", async () => {
    const seen: promising.PromisingContext[] = [];
    const syncWrapped = promising.context(function syncWork(x: number) {
      seen.push(promising.getActiveContext());
      return x + 1;
    });
    expect(syncWrapped(1)).toBe(2);
    expect(syncWrapped(2)).toBe(3);
    expect(seen[0]).not.toBe(seen[1]);
    const asyncWrapped = promising.context({ namespace: "deco" })(async function asyncWork() {
      const ctx = promising.getActiveContext();
      await sleep(1);
      return ctx;
    });
    const r = asyncWrapped();
    expect(r).toBeInstanceOf(Promise);
    expect(r).not.toBeInstanceOf(promising.Promise);
    const ctx = await r;
    expect(ctx).toBeInstanceOf(promising.PromisingContext);
    expect(ctx).not.toBeInstanceOf(promising.Promise);
    expect(ctx.namespace).toBe("deco");
  });

  it("a context-wrapped function scopes childrenStartSoon and takes .with() overrides", async () => {
    const log: string[] = [];
    const kid = logged(log, "kid");
    const doWork = promising.context({ childrenStartSoon: false })(async function doWork() {
      const k = kid();
      await sleep(5);
      const started = log.includes("kid");
      await k;
      return started;
    });
    expect(await doWork()).toBe(false);
    log.length = 0;
    expect(await doWork.with({ childrenStartSoon: true })()).toBe(true);
    log.length = 0;
    expect(await doWork()).toBe(false); // the override did not stick
  });

  it("a context created inside a promise is its child; parent: null makes a root context", async () => {
    const f = promising.function(async function f() {
      const child = promising.context().run((ctx) => ctx);
      const root = promising.context({ parent: null }).run((ctx) => ctx);
      return { child, root };
    });
    const p = f();
    const { child, root } = await p;
    expect(child.getParentContext()).toBe(p);
    expect(root.getParentContext({ raiseIfNone: false })).toBeNull();
  });

  it("at a root, childrenStartSoon: INHERIT means no enforcement", async () => {
    const log: string[] = [];
    const a = logged(log, "a");
    await promising.context({ childrenStartSoon: promising.INHERIT }).run(async () => {
      const p = a();
      await sleep(5);
      expect(log).toEqual(["a"]);
      await p;
    });
  });

  it("promising.context rejects non-functions with DecorationError", () => {
    for (const bad of [42, "x", Symbol("s")]) {
      expectThrowsClass(() => (promising.context as any)(bad), promising.DecorationError);
    }
    expectThrowsClass(() => (promising.context({}) as any)(42), promising.DecorationError);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.4 .with()", () => {
  it("returns a PromisingFunction that chains with .with() and .run()", async () => {
    const f = promising.function(async function f(x: number) {
      return x * 2;
    });
    const w = f.with({ startSoon: false });
    expect(w).toBeInstanceOf(promising.PromisingFunction);
    const ww = w.with({ namespace: "renamed" });
    expect(ww).toBeInstanceOf(promising.PromisingFunction);
    expect(await ww(4)).toBe(8);
    expect(ww(1).namespace).toBe("renamed");
    expect(await f.with({ startSoon: false }).run(5)).toBe(10);
    expect(await f.with({}).with({ namespace: "x" }).run(6)).toBe(12);
  });

  it("overrides win over decoration-time values; null overrides too; undefined keeps", async () => {
    const log: string[] = [];
    const lazy = promising.function({ startSoon: false, namespace: "lazy" }, async () => {
      log.push("ran");
    });
    async function started(p: promising.Promise<unknown>) {
      await sleep(5);
      const s = log.length > 0;
      await p;
      log.length = 0;
      return s;
    }
    expect(await started(lazy())).toBe(false);
    expect(await started(lazy.with({ startSoon: true })())).toBe(true);
    expect(await started(lazy.with({ startSoon: null })())).toBe(true); // null → default (eager)
    expect(await started(lazy.with({ startSoon: undefined })())).toBe(false);
    expect(await started(lazy.with({})())).toBe(false);
    // the original keeps its own configuration
    expect(await started(lazy())).toBe(false);
  });

  it("validates synchronously and throws DecorationError from .with() itself", () => {
    const asyncFn = promising.function(async () => 1);
    expectThrowsClass(
      () => asyncFn.with({ useThreadPool: true }),
      promising.DecorationError,
      /useThreadPool/,
    );
    const syncFn = promising.function({ useThreadPool: false }, () => 1);
    expectThrowsClass(
      () => syncFn.with({ useThreadPool: null as any }),
      promising.DecorationError,
      /useThreadPool/,
    );
    expect(() => syncFn.with({ useThreadPool: undefined })).not.toThrow();
    expect(() => syncFn.with({ useThreadPool: false })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
describe("PromisingFunction.run()", () => {
  it("starts a fresh root, returns the result and awaits every descendant by default", async () => {
    const done: string[] = [];
    const leaf = promising.function(async function leaf(name: string, ms: number) {
      await sleep(ms);
      done.push(name);
    });
    const mid = promising.function(async function mid() {
      leaf("grandchild", 10);
    });
    const main = promising.function(async function main(x: number) {
      leaf("child", 5);
      mid();
      return { x, parent: promising.getActivePromise().getParentContext({ raiseIfNone: false }) };
    });
    const r = await promising.context().run(() => main.run(3));
    expect(r).toEqual({ x: 3, parent: null });
    expect(done.sort()).toEqual(["child", "grandchild"]);
  });

  it("awaitChildren: true waits for direct children only; false for none", async () => {
    const gates = { child: gate(), grand: gate() };
    const states: Record<string, promising.Promise<unknown>> = {};
    const grand = promising.function(async function grand() {
      await gates.grand.promise;
    });
    const child = promising.function(async function child() {
      states.grand = grand();
      await gates.child.promise;
    });
    const main = promising.function(async function main() {
      states.child = child();
    });
    setTimeout(() => gates.child.open(), 5);
    await main.with({ awaitChildren: true }).run();
    expect(states.child!.done()).toBe(true);
    expect(states.grand!.done()).toBe(false);
    gates.grand.open();
    await states.grand;

    const g2 = gate();
    const slowChild = promising.function(async function slowChild() {
      await g2.promise;
    });
    const main2 = promising.function(async function main2() {
      states.slow = slowChild();
      return "r";
    });
    expect(await main2.with({ awaitChildren: false }).run()).toBe("r");
    expect(states.slow!.done()).toBe(false);
    g2.open();
    await states.slow;
    // RECURSIVELY is accepted explicitly
    expect(await main2.with({ awaitChildren: promising.RECURSIVELY }).run()).toBe("r");
  });

  it("rejects with the work's error", async () => {
    const err = new Error("run failed");
    const main = promising.function(async () => {
      throw err;
    });
    await expect(main.run()).rejects.toBe(err);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.6 traces, toString, default namespace", () => {
  it("default namespace: function name, null for anonymous work, explicit namespace wins", async () => {
    const named = promising.function(async function fetchData() {
      return 1;
    });
    const anonymous = promising.function(async () => 1);
    const explicit = promising.function({ namespace: "custom" }, async function ignored() {
      return 1;
    });
    const ps = [named(), anonymous(), explicit(), new P(async () => 1)];
    expect(ps.map((p) => p.namespace)).toEqual(["fetchData", null, "custom", null]);
    await Promise.all(ps);
  });

  it("default namespace: the function's own name when a binding of the same name holds it (the README idiom)", async () => {
    // Transpilers rename such a function (fetchData2) unless they keep names: the suite's
    // vitest.config.ts makes sure they do, as users' tsx does.
    const fetchData = promising.function(async function fetchData() {
      return 1;
    });
    const p = fetchData();
    expect(p.namespace).toBe("fetchData");
    expect(String(p)).toBe("Promise(fetchData, pending)");
    await p;
  });

  it("toString shows the kind, the namespace and the state", async () => {
    const g = gate();
    const f = promising.function(async function stateful(fail: boolean) {
      await g.promise;
      if (fail) throw new Error("x");
      return 1;
    });
    const ok = f(false);
    const bad = f(true);
    expect(String(ok)).toContain("Promise");
    expect(String(ok)).toContain("stateful");
    expect(String(ok)).toContain("pending");
    expect(`${ok}`).toContain("pending");
    g.open();
    await ok;
    await bad.catch(() => undefined);
    expect(String(ok)).toContain("fulfilled");
    expect(String(bad)).toContain("rejected");
    const ctxString = promising.context({ namespace: "my-ctx" }).run((ctx) => ctx.toString());
    expect(ctxString).toContain("PromisingContext");
    expect(ctxString).toContain("my-ctx");
  });

  it("getTrace / formatTrace / printTrace, parents first by default", async () => {
    const leaf = promising.function({ namespace: "t-leaf" }, async () => {
      const active = promising.getActivePromise();
      return {
        active,
        trace: promising.getTrace(),
        reversed: promising.getTrace({ parentsFirst: false }),
        formatted: promising.formatTrace(),
        formattedReversed: active.formatTrace({ parentsFirst: false }),
        methodTrace: active.getTrace(),
      };
    });
    const root = promising.function({ namespace: "t-root" }, async () =>
      promising.context({ namespace: "t-ctx" }).run(async () => leaf()),
    );
    const rootP = root();
    const r = await rootP;
    expect(r.trace).toHaveLength(3);
    expect(r.trace[0]).toBe(rootP);
    expect(r.trace[1]!.namespace).toBe("t-ctx");
    expect(r.trace[2]).toBe(r.active);
    expect(r.methodTrace).toEqual(r.trace);
    expect(r.reversed).toEqual([...r.trace].reverse());
    expect(r.formatted).toHaveLength(3);
    for (const line of r.formatted) expect(typeof line).toBe("string");
    expect(r.formatted[0]).toContain("t-root");
    expect(r.formatted[1]).toContain("t-ctx");
    expect(r.formatted[2]).toContain("t-leaf");
    expect(r.formattedReversed[0]).toContain("t-leaf");
    expect(r.formattedReversed[2]).toContain("t-root");

    const written: string[] = [];
    const logSpy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      written.push(`${args.map(String).join(" ")}\n`);
    });
    const writeSpy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: any) => {
      written.push(String(chunk));
      return true;
    });
    try {
      r.active.printTrace();
    } finally {
      logSpy.mockRestore();
      writeSpy.mockRestore();
    }
    const lines = written.join("").split("\n").filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("t-root");
    expect(lines[2]).toContain("t-leaf");
  });

  it("module-level trace functions throw ContextNotFoundError outside any context", () => {
    expectThrowsClass(() => promising.getTrace(), promising.ContextNotFoundError);
    expectThrowsClass(() => promising.formatTrace(), promising.ContextNotFoundError);
    expectThrowsClass(() => promising.printTrace(), promising.ContextNotFoundError);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.7 absent values", () => {
  it("getActiveContext / getActivePromise outside any context", () => {
    expectThrowsClass(() => promising.getActiveContext(), promising.ContextNotFoundError);
    expect(promising.getActiveContext({ raiseIfNone: false })).toBeNull();
    const e = expectThrowsClass(() => promising.getActivePromise(), promising.PromisingError);
    expect(
      e instanceof promising.PromiseNotFoundError || e instanceof promising.ContextNotFoundError,
      `got ${e.name}`,
    ).toBe(true);
    expect(promising.getActivePromise({ raiseIfNone: false })).toBeNull();
  });

  it("getActivePromise inside a context without a promise ancestor", () => {
    promising.context().run((ctx) => {
      expect(promising.getActiveContext()).toBe(ctx);
      expectThrowsClass(() => promising.getActivePromise(), promising.PromiseNotFoundError);
      expect(promising.getActivePromise({ raiseIfNone: false })).toBeNull();
    });
  });

  it("module-level awaitChildren / collectRemainingChildren need an active context", async () => {
    await expect((async () => promising.awaitChildren())()).rejects.toBeInstanceOf(
      promising.ContextNotFoundError,
    );
    expectThrowsClass(() => promising.collectRemainingChildren(), promising.ContextNotFoundError);
  });

  it("getParentContext / getParentPromise at a root", async () => {
    const root = new P({ prefilledResult: 1 }); // created outside any context: a root
    expectThrowsClass(() => root.getParentContext(), promising.ContextNotFoundError);
    expect(root.getParentContext({ raiseIfNone: false })).toBeNull();
    expectThrowsClass(() => root.getParentPromise(), promising.PromiseNotFoundError);
    expect(root.getParentPromise({ raiseIfNone: false })).toBeNull();
    promising.context().run((ctx) => {
      const inner = promising.context().run((c) => c);
      expect(inner.getParentContext()).toBe(ctx);
      expectThrowsClass(() => inner.getParentPromise(), promising.PromiseNotFoundError);
      expect(inner.getParentPromise({ raiseIfNone: false })).toBeNull();
    });
  });

  it("result() / error() by state", async () => {
    const g = gate<{ v: number }>();
    const pending = new P(() => g.promise);
    expectThrowsClass(() => pending.result(), promising.PromisingError);
    expectThrowsClass(() => pending.error(), promising.PromisingError);
    const value = { v: 1 };
    g.open(value);
    expect(await pending).toBe(value);
    expect(pending.result()).toBe(value);
    expect(pending.error()).toBeUndefined();
    const err = new RangeError("r");
    const failed = new P({ prefilledError: err });
    expect(failed.done()).toBe(true);
    expect(failed.error()).toBe(err);
    expect(() => failed.result()).toThrow(err);
    await failed.catch(() => undefined);
  });
});

// ---------------------------------------------------------------------------------------------
describe("manual promising.Promise construction and native Promise behaviour", () => {
  it("prefilled result (presence of the key counts, undefined included)", async () => {
    const p = new P({ prefilledResult: 42 });
    expect(p.done()).toBe(true);
    expect(p.result()).toBe(42);
    expect(await p).toBe(42);
    const u = new P({ prefilledResult: undefined });
    expect(u.done()).toBe(true);
    expect(u.result()).toBeUndefined();
    expect(await u).toBeUndefined();
  });

  it("is a native Promise and a PromisingContext; derived promises and statics behave natively", async () => {
    const p = new P(async () => 2);
    expect(p).toBeInstanceOf(Promise);
    expect(p).toBeInstanceOf(promising.PromisingContext);
    expect(p).toBeInstanceOf(promising.Promise);
    expect(await p.then((x) => x + 1)).toBe(3);
    expect(await P.resolve(5)).toBe(5);
    const err = new Error("rej");
    await expect(P.reject(err)).rejects.toBe(err);
    expect(await P.all([p, P.resolve(1), new P({ prefilledResult: 0 })])).toEqual([2, 1, 0]);
    expect(await Promise.race([p])).toBe(2);
    const viaAsync = await (async () => p)();
    expect(viaAsync).toBe(2);
    expect(await p.finally(() => undefined)).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.8 unobserved failures", () => {
  it("an unobserved failure is reported once via Defaults.ON_UNOBSERVED_FAILURE when garbage-collected", async () => {
    const reports: Array<[unknown, unknown]> = [];
    const previous = promising.Defaults.ON_UNOBSERVED_FAILURE;
    promising.Defaults.ON_UNOBSERVED_FAILURE = (error, promise) => {
      reports.push([error, promise]);
    };
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    const err = new Error("never observed (gc)");
    try {
      (() => {
        promising.function(async function lost() {
          throw err;
        })();
      })();
      await sleep(5);
      for (let i = 0; i < 20 && !reports.some(([e]) => e === err); i++) await collectGarbage(2);
      const mine = reports.filter(([e]) => e === err);
      expect(mine).toHaveLength(1);
      await collectGarbage(2);
      expect(reports.filter(([e]) => e === err)).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      promising.Defaults.ON_UNOBSERVED_FAILURE = previous;
      process.off("unhandledRejection", listener);
    }
  });

  it("at process exit: reported once to stderr with the error and the trace; exit code 0", () => {
    const fixture = fileURLToPath(new URL("./fixtures/unobserved-at-exit.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--import", "tsx", fixture], {
      encoding: "utf8",
      timeout: 15_000,
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("fixture finished");
    expect(r.stderr).toContain("boom-unobserved-7f3a");
    // the stack (at least one frame) and the promise trace (namespaces, parents first)
    expect(r.stderr).toMatch(/\n\s+at /);
    expect(r.stderr).toContain("unobserved-parent-ns");
    expect(r.stderr).toContain("unobserved-child-ns");
    expect(r.stderr.indexOf("unobserved-parent-ns")).toBeLessThan(
      r.stderr.lastIndexOf("unobserved-child-ns"),
    );
    // failures that were observed (even late) are not reported
    expect(r.stderr).not.toContain("boom-observed-late");
    expect(r.stderr).not.toContain("boom-observed-catch");
  });

  it("at process exit with a custom reporter: exactly once per unobserved failure, never for observed ones", () => {
    const fixture = fileURLToPath(new URL("./fixtures/unobserved-custom-reporter.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--import", "tsx", fixture], {
      encoding: "utf8",
      timeout: 15_000,
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    expect(r.status, r.stderr).toBe(0);
    const reports = r.stderr.split("\n").filter((l) => l.startsWith("REPORT "));
    expect(reports.sort()).toEqual(["REPORT A", "REPORT D"]);
    expect(r.stderr).not.toContain("UNHANDLED");
  });
});

// ---------------------------------------------------------------------------------------------
describe("SPEC 4.10 / section 1 errors", () => {
  const cases: Array<[string, Array<new (m?: string) => Error>]> = [
    ["PromisingError", [Error]],
    ["ContextError", [promising.PromisingError]],
    ["ContextNotFoundError", [promising.ContextError, promising.PromisingError]],
    ["ContextAlreadyActiveError", [promising.ContextError, promising.PromisingError]],
    ["ContextNotActiveError", [promising.ContextError, promising.PromisingError]],
    ["EventLoopError", [promising.PromisingError]],
    ["EventLoopMismatchError", [promising.EventLoopError, promising.PromisingError]],
    ["NoRunningEventLoopError", [promising.EventLoopError, promising.PromisingError]],
    ["DecorationError", [promising.PromisingError]],
    ["PromiseNotFoundError", [promising.PromisingError]],
    ["SentinelUsageError", [promising.PromisingError]],
    ["SyncUsageError", [promising.PromisingError]],
    ["TimeoutError", [promising.PromisingError]],
  ];

  it.each(cases)("%s is exported, constructible and inherits correctly", (name, ancestors) => {
    const Cls = (promising as unknown as Record<string, new (m?: string) => Error>)[name];
    expect(typeof Cls).toBe("function");
    const e = new Cls!(`message of ${name}`);
    expect(e).toBeInstanceOf(Cls!);
    expect(e).toBeInstanceOf(Error);
    for (const A of ancestors) expect(e).toBeInstanceOf(A);
    expect(e.message).toBe(`message of ${name}`);
    expect(e.name).toBe(name);
    expect(typeof e.stack).toBe("string");
  });

  it("siblings are not confused", () => {
    expect(new promising.DecorationError("x")).not.toBeInstanceOf(promising.ContextError);
    expect(new promising.SyncUsageError("x")).not.toBeInstanceOf(promising.EventLoopError);
    expect(new promising.ContextNotFoundError("x")).not.toBeInstanceOf(promising.PromiseNotFoundError);
    expect(new promising.PromiseNotFoundError("x")).not.toBeInstanceOf(promising.ContextError);
  });
});

// ---------------------------------------------------------------------------------------------
describe("sentinels", () => {
  const all = {
    UNCHANGED: promising.UNCHANGED,
    INHERIT: promising.INHERIT,
    PROMISING_DEFAULT: promising.PROMISING_DEFAULT,
    ASYNCIO_DEFAULT: promising.ASYNCIO_DEFAULT,
    RECURSIVELY: promising.RECURSIVELY,
  };

  it.each(Object.entries(all))("%s is a Sentinel and refuses coercion", (_name, s) => {
    expect(s).toBeInstanceOf(promising.Sentinel);
    const anyS = s as any;
    expectThrowsClass(() => `${anyS}`, promising.SentinelUsageError);
    expectThrowsClass(() => +anyS, promising.SentinelUsageError);
    // biome-ignore lint/suspicious/noDoubleEquals: loose equality with a primitive is the misuse under test
    expectThrowsClass(() => anyS == "x", promising.SentinelUsageError);
    expectThrowsClass(() => String(anyS), promising.SentinelUsageError);
    expectThrowsClass(() => anyS + 1, promising.SentinelUsageError);
    expectThrowsClass(() => anyS.valueOf(), promising.SentinelUsageError);
  });

  it("identity comparison works and every sentinel is distinct", () => {
    const values = Object.values(all);
    expect(new Set(values).size).toBe(5);
    const inherit: unknown = promising.INHERIT;
    expect(inherit === promising.INHERIT).toBe(true);
    expect((promising.INHERIT as unknown) === promising.PROMISING_DEFAULT).toBe(false);
    expect(values.includes(promising.RECURSIVELY)).toBe(true);
    expect(new Set([promising.INHERIT]).has(promising.INHERIT)).toBe(true);
    // biome-ignore lint/suspicious/noDoubleEquals: object == object does not coerce
    expect(inherit == promising.INHERIT).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
describe("Defaults.START_SOON", () => {
  it("is initially true and writable", async () => {
    expect(promising.Defaults.START_SOON).toBe(true);
    promising.Defaults.START_SOON = false;
    expect(promising.Defaults.START_SOON).toBe(false);
    promising.Defaults.START_SOON = true;
    expect(promising.Defaults.START_SOON).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
describe("bad input is rejected at once, naming the option", () => {
  function expectBadInput(fn: () => unknown, message: RegExp) {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught, "expected a synchronous throw").toBeInstanceOf(Error);
    expect(caught instanceof promising.PromisingError || caught instanceof TypeError).toBe(true);
    expect((caught as Error).message).toMatch(message);
  }
  const asyncBody = async () => 1;

  it("an unknown option key", () => {
    expectBadInput(() => promising.function({ startSoonn: true } as any, asyncBody), /startSoonn/);
    expectBadInput(() => promising.function({ bogusKey: 1 } as any)(asyncBody), /bogusKey/);
    expectBadInput(() => promising.function(asyncBody).with({ bogusKey: 1 } as any), /bogusKey/);
    expectBadInput(() => promising.context({ bogusKey: 1 } as any), /bogusKey/);
    expectBadInput(() => new P(asyncBody, { bogusKey: 1 } as any), /bogusKey/);
  });

  it("a wrong option type", () => {
    expectBadInput(() => promising.function({ startSoon: "yes" } as any, asyncBody), /startSoon/);
    expectBadInput(() => promising.function({ threadPool: 3 } as any, asyncBody), /threadPool/);
    expectBadInput(() => promising.function(asyncBody).with({ startSoon: "yes" } as any), /startSoon/);
    expectBadInput(() => promising.function({ childrenStartSoon: 1 } as any, asyncBody), /childrenStartSoon/);
    expectBadInput(() => promising.function({ namespace: 5 } as any, asyncBody), /namespace/);
    expectBadInput(() => promising.context({ startSoonDefault: "no" } as any), /startSoonDefault/);
    expectBadInput(() => promising.context({ threadPool: {} } as any), /threadPool/);
    expectBadInput(() => new P(asyncBody, { startSoon: "yes" } as any), /startSoon/);
    expectBadInput(() => new P(asyncBody, { parent: 5 } as any), /parent/);
  });

  it("a non-function to decorate", () => {
    expectBadInput(() => (promising.function as any)(42), /function/i);
    expectBadInput(() => (promising.function({}) as any)("nope"), /function/i);
  });

  it("a thunk that is neither a function nor a thenable", () => {
    expectBadInput(() => new P(42 as any), /thunk|function|thenable/i);
    expectBadInput(() => new P("work" as any), /thunk|function|thenable/i);
  });

  it("both prefilledResult and prefilledError", () => {
    expectBadInput(() => new P({ prefilledResult: 1, prefilledError: new Error("e") } as any), /prefilled/);
  });
});
