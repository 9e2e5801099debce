// What crosses threads, and how, on REAL worker threads (fixtures/crossing.ts), and calls that
// must not cross at all (a module's top-level code, run again in each worker).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { callFromAnotherThread } from "../../src/api/function.ts";
import * as promising from "../../src/index.ts";
import * as crossing from "./fixtures/crossing.ts";

afterAll(async () => {
  await Promise.all(
    [crossing.crossingPool, promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool].map((pool) =>
      pool.close(),
    ),
  );
});

const failureOf = (promise: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(promise).then(
    () => null,
    (reason: unknown) => reason,
  );

/** What each kind of fixtures/crossing.ts error arrives as, on the other thread. */
const EXPECTED: Record<string, Partial<crossing.ErrorReport>> = {
  promising: {
    className: "PromisingError",
    name: "CustomPromisingError",
    isPromisingError: true,
    isTimeoutError: false,
  },
  timeout: {
    className: "TimeoutError",
    name: "CustomTimeoutError",
    isPromisingError: true,
    isTimeoutError: true,
  },
  range: { className: "RangeError", name: "RangeError", isRangeError: true, code: "E_CUSTOM" },
  crashed: {
    className: "WorkerCrashedError",
    name: "WorkerCrashedError",
    isPromisingError: true,
    isWorkerCrashedError: true,
  },
};

describe("errors of classes the other thread does not know", () => {
  it("thrown in a pool function, arrive as their nearest library or built-in ancestor, with name, message, stack and trace", async () => {
    for (const [kind, expected] of Object.entries(EXPECTED)) {
      const error = await failureOf(crossing.throwsCustomFn(kind));
      expect(crossing.reportError(error), kind).toMatchObject({
        ...expected,
        message: `custom ${kind}`,
        stackHasThrower: true,
        trace: ["Promise(throwsCustom, rejected)"],
      });
    }
  });

  it("thrown on the main thread, arrive in a worker's .sync() the same way (WorkerCrashedError included)", async () => {
    // "timeout" included: a TimeoutError the awaited promise rejected with is its outcome, not
    // a timeout of .sync() itself.
    for (const [kind, expected] of Object.entries(EXPECTED)) {
      expect(await crossing.syncsFailureFn(kind), kind).toMatchObject({
        ...expected,
        message: `custom ${kind}`,
        stackHasThrower: true,
        trace: ["Promise(syncsFailure, pending)", "Promise(failsOnMain, rejected)"],
      });
    }
  });

  it("and in a worker awaiting the promise without blocking", async () => {
    for (const [kind, expected] of Object.entries(EXPECTED)) {
      expect(await crossing.watchesFailureFn(kind), kind).toMatchObject({
        ...expected,
        message: `custom ${kind}`,
        stackHasThrower: true,
      });
    }
  });
});

describe("promises among the values that cross threads", () => {
  const nestedFix =
    /only a promising Promise passed as an argument itself crosses threads, as a handle to the same promise; one inside an array, object or other value cannot be structured-cloned\. Pass the promise itself as an argument, or await it first and pass its value\.$/;
  const nativeFix =
    /is a native Promise \(as promising\.Promise\.resolve\(value\) returns for a value that is not a promising Promise\).*only a promising Promise passed as an argument itself crosses threads, as a handle\. Await it first and pass its value\.$/;

  it("a promising Promise inside an argument: the error says where it is, that only top-level ones cross, and what to do", async () => {
    const inArray = await failureOf(crossing.echoFn([crossing.valueFn(1)]));
    expect(inArray).toBeInstanceOf(TypeError);
    expect((inArray as Error).message).toMatch(/^echo: argument 1 cannot be sent to a worker thread \(/);
    expect((inArray as Error).message).toMatch(/ Argument 1\[0\] is a promising Promise: /);
    expect((inArray as Error).message).toMatch(nestedFix);

    const inObject = await failureOf(crossing.echoFn({ inner: crossing.valueFn(1) }));
    expect((inObject as Error).message).toMatch(/ Argument 1\.inner is a promising Promise: /);
    expect((inObject as Error).message).toMatch(nestedFix);

    // As an argument itself, it crosses.
    expect(await crossing.echoFn(crossing.valueFn(6))).toBe(6);
  });

  it("promising.Promise.resolve(5), a native promise, as an argument: the error says what it is and what to do", async () => {
    const resolved = promising.Promise.resolve(5);
    expect(resolved).not.toBeInstanceOf(promising.Promise);
    const error = await failureOf(crossing.echoFn(resolved));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^echo: argument 1 cannot be sent to a worker thread \(/);
    expect((error as Error).message).toMatch(/ Argument 1 is a native Promise/);
    expect((error as Error).message).toMatch(nativeFix);
  });

  it("a promising Promise inside a pool function's result: the error says where it is and what to do", async () => {
    const error = await failureOf(crossing.returnsNestedFn());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^The result cannot be sent back from the worker thread \(/);
    expect((error as Error).message).toMatch(
      / The result\.inner is a promising Promise: only a promising Promise returned itself crosses threads, as a handle to the same promise; .* Return the promise itself, or wait for it first \(`\.sync\(\)`\) and return its value\.$/,
    );
  });

  it("the same for arguments a worker sends to the main thread, and for a promise the worker made itself", async () => {
    const report = (await crossing.sendsPromisesFn()) as Record<string, string | number>;
    expect(report.nested).toMatch(/^TypeError: value: argument 1 cannot be sent to the main thread \(/);
    expect(report.nested).toMatch(/ Argument 1\[0\] is a promising Promise: /);
    expect(report.nested).toMatch(nestedFix);
    expect(report.local).toMatch(/^TypeError: value: argument 1 cannot be sent to the main thread \(/);
    expect(report.local).toMatch(
      / Argument 1 is a promising Promise of this worker thread \(made here with new promising\.Promise\): only promises of the main thread's tree \(made by calling promising functions\) cross threads as handles\. Await it first and pass its value\.$/,
    );
    expect(report.native).toMatch(/ Argument 1 is a native Promise/);
    expect(report.native).toMatch(nativeFix);
    expect(report.handle).toBe(5);
  });
});

/** Runs a fixture script under `node --import tsx` in a child process, killed after `killAfterMs`. */
function runScript(
  name: string,
  killAfterMs: number,
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const killer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, killAfterMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, killed, stdout, stderr });
    });
  });
}

describe("a pool function awaited at a module's top level", () => {
  it("fails at once in the worker that re-imports the module, naming it and the fix, instead of hanging", async () => {
    // Before, every worker waited in its own top-level await: the child hung until killed.
    const { code, killed, stdout, stderr } = await runScript("top-level-await.ts", 15_000);
    expect(killed).toBe(false);
    expect(code).not.toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /PromisingError: addAtTopLevel was called while a pool worker was importing \S*top-level-await\.ts, by top-level code of that module/,
    );
    expect(stderr).toMatch(/Move top-level calls into a function run with \.run\(\)/);
    expect(stderr).toMatch(/guard them with `if \(isMainThread\)`/);
  }, 30_000);
});

describe("getThreadPoolExecutor() inside a pool function", () => {
  it("reports the worker's copy of the pool the task runs on, or null for ASYNCIO_DEFAULT, as on the main thread", async () => {
    const everywhere = (pool: string) => ({ promise: pool, context: pool, inner: pool });
    expect(await crossing.reportsPoolFn()).toEqual(everywhere("default"));
    expect(await crossing.reportsPoolFn.with({ threadPool: crossing.crossingPool })()).toEqual(
      everywhere("crossingPool"),
    );
    expect(await crossing.reportsPoolFn.with({ threadPool: promising.ASYNCIO_DEFAULT })()).toEqual(
      everywhere("null"),
    );
    // The main thread's view of the same calls.
    const onCrossingPool = crossing.reportsPoolFn.with({ threadPool: crossing.crossingPool })();
    const onLoopDefault = crossing.reportsPoolFn.with({ threadPool: promising.ASYNCIO_DEFAULT })();
    expect(onCrossingPool.getThreadPoolExecutor()).toBe(crossing.crossingPool);
    expect(onLoopDefault.getThreadPoolExecutor()).toBe(null);
    expect(await Promise.all([onCrossingPool, onLoopDefault])).toEqual([
      everywhere("crossingPool"),
      everywhere("null"),
    ]);
  });

  it("what it reports can be passed on as threadPool from the worker, the default pool included", async () => {
    const everywhere = (pool: string) => ({ promise: pool, context: pool, inner: pool });
    expect(await crossing.passesOnPoolFn()).toEqual(everywhere("default"));
    expect(await crossing.passesOnPoolFn.with({ threadPool: crossing.crossingPool })()).toEqual(
      everywhere("crossingPool"),
    );
  });
});

describe("useThreadPool overridden with .with() inside a pool function", () => {
  it("the call runs where the override says, and is refused as .with() refuses it on the main thread", async () => {
    const report = (await crossing.overridesUseThreadPoolFn()) as Record<string, string>;
    expect(report).toMatchObject({
      loop: "main",
      loopOnPool: "worker",
      pool: "worker",
      poolOnLoop: "main",
      poolOnLoopThenRenamed: "main",
      nullOverride: "DecorationError",
    });
    expect(report.asyncOverride).toMatch(
      /^DecorationError: useThreadPool is not allowed on async functions \(value\)/,
    );
    // The same overrides on the main thread.
    expect(await crossing.runsOnLoopFn.with({ useThreadPool: true })()).toBe("worker");
    expect(await crossing.runsOnPoolFn.with({ useThreadPool: false })()).toBe("main");
  });

  it("the main thread checks such an override itself before running the call", async () => {
    const call = (fn: unknown, overrides: Record<string, unknown>) =>
      callFromAnotherThread(fn, overrides, null, undefined, []) as PromiseLike<unknown>;
    expect(() => call(crossing.valueFn, { useThreadPool: true })).toThrow(promising.DecorationError);
    expect(() => call(crossing.valueFn, { useThreadPool: false })).toThrow(promising.DecorationError);
    expect(() => call(crossing.runsOnLoopFn, { useThreadPool: null })).toThrow(promising.DecorationError);
    expect(await call(crossing.runsOnLoopFn, { useThreadPool: false })).toBe("main");
    expect(await call(crossing.runsOnLoopFn, { useThreadPool: true })).toBe("worker");
    expect(await call(crossing.runsOnPoolFn, { useThreadPool: false })).toBe("main");
  });
});
