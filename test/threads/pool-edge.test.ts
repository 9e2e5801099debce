// Pool functions on REAL worker threads: call forms and edge cases (fixtures/pool-edge.ts).
import { afterAll, describe, expect, it, vi } from "vitest";
import * as promising from "../../src/index.ts";
import { gate } from "../helpers.ts";
import * as edge from "./fixtures/pool-edge.ts";
import { jsonLines, runFixtureScript } from "./run-fixture.ts";

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

describe("a pool function's returned promise after its task has ended", () => {
  it("keeps the process alive until its outcome (a value or a rejection) has arrived", async () => {
    const { code, stdout, stderr } = await runFixtureScript("returns-thenable.ts");
    expect(stderr).toBe("");
    expect(stdout).toBe("after 200 ms\nTypeError: rejected after 200 ms\n");
    expect(code).toBe(0);
  }, 30_000);

  it("in this process too: the value arrives, and the pool still works afterwards", async () => {
    expect(await edge.settlesLaterFn(50, false)).toBe("after 50 ms");
    await expect(edge.settlesLaterFn(50, true)).rejects.toThrow(TypeError);
    expect(await edge.addFn(1, 1)).toBe(2);
  });

  it("if its worker dies first, the returned promise rejects with WorkerCrashedError instead of hanging", async () => {
    const pool = new promising.ThreadPool({ maxThreads: 1 });
    pools.push(pool);
    const error = await edge.returnsThenExitsFn
      .with({ threadPool: pool })()
      .then(
        () => null,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(promising.WorkerCrashedError);
    expect((error as Error).message).toMatch(/exit code 7/);
    expect(await edge.addFn.with({ threadPool: pool })(2, 2)).toBe(4);
  });
});

describe("a pool function returning a thenable that settles inside its own then()", () => {
  it("fulfils, rejects, or rejects with what then() threw, instead of hanging", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    const within = <T>(promise: PromiseLike<T>) =>
      Promise.race([
        Promise.resolve(promise).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 3000)),
      ]);
    try {
      expect(await within(edge.settlesInThenFn())).toEqual({ value: 42 });
      const rejected = (await within(edge.rejectsInThenFn())) as { error: Error };
      expect(rejected.error).toBeInstanceOf(RangeError);
      expect(rejected.error.message).toBe("rejected in then()");
      const threw = (await within(edge.throwsInThenFn())) as { error: Error };
      expect(threw.error).toBeInstanceOf(TypeError);
      expect(threw.error.message).toBe("then() threw");
      // The wrapped promises settled and were released: the pool is not kept waiting for them.
      expect(await edge.addFn(2, 3)).toBe(5);
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  // Unobserved failures are reported when collected or at exit, never while a test looks: in a
  // child process, the report at its exit tells.
  it("an observed failure is not reported as unobserved at exit; the same failure never observed is, once", async () => {
    const { code, stdout, stderr } = await runFixtureScript("thenables-at-exit.ts");
    expect(stderr).toBe("");
    const [results, reports] = jsonLines(stdout) as [Record<string, unknown>, unknown];
    expect(results).toEqual({
      settles: "value 42",
      rejects: "RangeError: rejected in then()",
      throws: "TypeError: then() threw",
    });
    expect(reports).toEqual({
      reported: ["rejectsNeverObserved: rejected in then()", "throwsNeverObserved: then() threw"],
    });
    expect(code).toBe(0);
  }, 30_000);
});

describe("run() called while a pool function runs", () => {
  it("runs the function as a root of the main thread's tree and waits for its descendants, as on the main thread", async () => {
    edge.runLog.length = 0;
    expect(await edge.runsHelperFn("returned")).toBe(20);
    expect(edge.runLog).toEqual(["tenTimes(2) parent: null", "child 2 finished"]);
  });

  it("awaitChildren: false returns without waiting for the children", async () => {
    edge.runLog.length = 0;
    // The child finishes when the test opens its gate, after the result has crossed back.
    const held = gate();
    edge.childGates.set("3", held.promise);
    try {
      expect(await edge.runsHelperFn("no children")).toBe(30);
      expect(edge.runLog).toEqual(["tenTimes(3) parent: null"]);
    } finally {
      held.open();
      edge.childGates.delete("3");
    }
    await vi.waitFor(() => expect(edge.runLog).toEqual(["tenTimes(3) parent: null", "child 3 finished"]), {
      timeout: 5_000,
    });
  });

  it("a failing root rejects run() after its subtree has finished", async () => {
    edge.runLog.length = 0;
    const error = await edge.runsHelperFn("failure").then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe("run failed");
    expect(edge.runLog).toEqual(["child of a failure finished"]);
  });

  it("awaited in the pool function's async continuation, for an async and a pool function", async () => {
    edge.runLog.length = 0;
    expect(await edge.awaitsRunFn()).toBe(43);
    expect(edge.runLog).toEqual(["tenTimes(4) parent: null", "child 4 finished"]);
  });
});

describe("a first call that cannot be sent", () => {
  it("does not keep a worker from running that function later (its short id is not taken as known)", async () => {
    const pool = new promising.ThreadPool({ maxThreads: 1 });
    pools.push(pool);
    const echo = edge.echoFn.with({ threadPool: pool });
    // The worker's first task of `echo` cannot be cloned: it rejects, naming the argument...
    const error = await (async () => echo(() => 1))().then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/argument 1/);
    // ...and the same worker still runs later calls of it, alone and in a batch.
    expect(await echo(2)).toBe(2);
    expect(await Promise.all([echo(3), echo(4)])).toEqual([3, 4]);
    expect(pool.threads).toBe(1);
  });

  it("the same within one batch: the failed task's siblings and later calls reach the function", async () => {
    const pool = new promising.ThreadPool({ maxThreads: 1 });
    pools.push(pool);
    const echo = edge.echoFn.with({ threadPool: pool });
    const settled = await Promise.allSettled([echo(() => 1), echo("a"), echo(() => 2), echo("b")]);
    expect(settled.map((result) => result.status)).toEqual([
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(await echo("later")).toBe("later");
  });
});

describe("decoration numbering is the same in every thread", () => {
  it("functions and pools decorated after a top-level `await main.run()` (which creates the default pool) are found in the workers", async () => {
    const { code, stdout, stderr } = await runFixtureScript("decorate-after-run.ts");
    expect(stderr).toBe("");
    expect(stdout).toBe("before\nafter\nafter on laterPool: true\n");
    expect(code).toBe(0);
  }, 30_000);
});

describe("blocking on a settled promise of the worker itself", () => {
  it("sync() and unpackOnceSync() return a settled local promise's value or throw its error", async () => {
    expect(await edge.syncsSettledLocalFn()).toEqual({
      value: 42,
      once: "once",
      sameError: true,
      onceSameError: true,
    });
  });

  it("also once a local promise's work has run; a main-thread layer is blocked on as usual", async () => {
    expect(await edge.syncsLocalLaterFn()).toEqual({
      plain: "local value",
      plainOnce: "local value",
      layerIsPromise: true,
      layered: "hi layer",
    });
  });
});

describe("timeoutMs of the blocking calls in a worker", () => {
  it('null (like Infinity) waits without limit; -1, NaN and "10" throw a TypeError naming the call, settled or not', async () => {
    const report = (await edge.timeoutOptionsFn()) as {
      nullSync: string;
      nullOnce: string;
      nullChildren: unknown;
      infinity: string;
      bad: Record<string, Record<string, { className: string; message: string }>>;
    };
    expect(report.nullSync).toBe("hi null");
    expect(report.nullOnce).toBe("hi null once");
    expect(report.nullChildren).toEqual({ value: undefined });
    expect(report.infinity).toBe("hi infinity");
    expect(Object.keys(report.bad)).toEqual(["-1", "NaN", '"10"']);
    for (const [label, calls] of Object.entries(report.bad)) {
      for (const [call, error] of Object.entries(calls)) {
        const where = `${label} / ${call}`;
        expect(error.className, where).toBe("TypeError");
        expect(error.message, where).toMatch(/timeoutMs/);
        expect(error.message, where).toContain(label);
        expect(error.message, where).not.toMatch(/SyncChannel/);
        const name = {
          pending: "sync()",
          settled: "sync()",
          once: "unpackOnceSync()",
          children: "awaitChildrenSync",
        }[call]!;
        expect(error.message, where).toContain(name);
      }
    }
  });

  it("a value that cannot be cloned into the worker: an error saying what could not be sent and what to do", async () => {
    const report = (await edge.syncsUncloneableFn()) as { className: string; message: string };
    expect(report.className).toBe("SyncChannelCloneError");
    expect(report.message).toMatch(
      /^sync\(\): the value of the promise of returnsUncloneable cannot be sent to this worker thread/,
    );
    expect(report.message).toMatch(/could not be cloned/);
    expect(report.message).toMatch(/structured clone/);
    expect(report.message).not.toMatch(/sync-channel/);
  });
});

describe("failures that kill an idle pool worker", () => {
  it("an uncaught error or unhandled rejection left behind by a pool function is reported, naming it; the pool replaces the worker", async () => {
    const { code, stdout, stderr } = await runFixtureScript("worker-failures.ts");
    expect(code).toBe(0);
    expect(stdout).toBe(
      "timer: returned\nrejection: returned\ntimer again: returned\n" +
        "custom: boom async | Promise(main, pending) > Promise(leavesThrowingTimer, pending) | promise: null\n" +
        "pool still works: 42\n",
    );
    const reports = stderr.split(/^(?=promising-ts: )/m);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatch(
      /^promising-ts: a pool worker thread died of an uncaught error from the pool function leavesThrowingTimer\b/,
    );
    expect(reports[0]).toMatch(
      /Promise trace \(root first\):\n {2}Promise\(main, \w+\)\n {2}Promise\(leavesThrowingTimer/,
    );
    expect(reports[0]).toMatch(/^Error: boom async$/m);
    expect(reports[0]).toMatch(/ON_UNOBSERVED_FAILURE/);
    expect(reports[1]).toMatch(
      /^promising-ts: a pool worker thread died of an unhandled promise rejection from the pool function dropsRejection\b/,
    );
    expect(reports[1]).toMatch(/^TypeError: dropped in worker$/m);
  }, 30_000);
});
