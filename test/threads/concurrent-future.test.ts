import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import * as futures from "./fixtures/future-pool.ts";

const workerFile = new URL("./fixtures/future-worker.mjs", import.meta.url);

/** Hands `promise`'s concurrent future to a fresh worker thread and returns its report. */
async function blockInWorker(
  promise: promising.Promise<unknown>,
  data: { mode?: "result" | "exception"; timeoutMs?: number | null | string } = {},
): Promise<Record<string, unknown>> {
  const future = promise.asConcurrentFuture();
  const worker = new Worker(workerFile, {
    workerData: { future, ...data },
    transferList: future.transferList,
  });
  try {
    return await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe("PromiseBackedConcurrentFuture in a worker the user started", () => {
  it("result() blocks until the promise resolves and returns its value", async () => {
    const slow = promising.function(async function slow() {
      await new Promise((r) => setTimeout(r, 50));
      return { answer: 42 };
    });
    const report = await blockInWorker(slow(), { timeoutMs: 5_000 });
    expect(report).toMatchObject({ value: { answer: 42 }, again: { answer: 42 }, doneAfter: true });
  });

  it("blocking on it starts a deferred promise", async () => {
    let started = false;
    const lazy = promising.function({ startSoon: false }, async function lazy() {
      started = true;
      return "started by the worker";
    });
    const promise = lazy();
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(false);
    const report = await blockInWorker(promise, { timeoutMs: 5_000 });
    expect(started).toBe(true);
    expect(report.value).toBe("started by the worker");
  });

  it("exception() returns the error of a rejected promise; result() throws it", async () => {
    const failing = promising.function(async function failing() {
      throw new RangeError("out of range");
    });
    const p1 = failing();
    const viaException = await blockInWorker(p1, { mode: "exception", timeoutMs: 5_000 });
    expect(viaException.exception).toBe("RangeError: out of range");
    const p2 = failing();
    const viaResult = await blockInWorker(p2, { timeoutMs: 5_000 });
    expect(viaResult.error).toBe("RangeError: out of range");
    await expect(p1).rejects.toThrow(RangeError);
    await expect(p2).rejects.toThrow(RangeError);
  });

  it("library errors keep their class and promise trace: TimeoutError, ContextNotFoundError, SyncUsageError", async () => {
    const errors = [
      new promising.TimeoutError("took too long"),
      new promising.ContextNotFoundError("no context"),
      new promising.SyncUsageError("would deadlock"),
    ];
    for (const error of errors) {
      const throwsIt = promising.function(async function throwsLibraryError() {
        throw error;
      });
      const p1 = throwsIt();
      const p2 = throwsIt();
      const viaException = await blockInWorker(p1, { mode: "exception", timeoutMs: 5_000 });
      const viaResult = await blockInWorker(p2, { timeoutMs: 5_000 });
      const expected = {
        className: error.constructor.name,
        isError: true,
        isPromisingError: true,
        promisingTrace: [expect.stringMatching(/throwsLibraryError/)],
      };
      expect(viaException.exceptionInfo).toEqual(expected);
      expect(viaResult.errorInfo).toEqual(expected);
      expect(viaResult.error).toBe(`${error.name}: ${error.message}`);
      await expect(p1).rejects.toBe(error);
      await expect(p2).rejects.toBe(error);
    }
  });

  it("times out with TimeoutError while the promise keeps running", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const blocked = promising.function(async function blocked() {
      await gate;
      return "late";
    });
    const promise = blocked();
    const report = await blockInWorker(promise, { timeoutMs: 30 });
    expect(report.error).toMatch(/^TimeoutError: .*timed out after 30 ms/);
    expect(promise.done()).toBe(false);
    release();
    expect(await promise).toBe("late");
  });

  it("timeoutMs: null waits without limit; a bad value throws a TypeError naming timeoutMs of result()", async () => {
    const slow = promising.function(async function slowToo() {
      await new Promise((r) => setTimeout(r, 50));
      return "waited";
    });
    expect(await blockInWorker(slow(), { timeoutMs: null })).toMatchObject({
      value: "waited",
      doneAfter: true,
    });
    for (const timeoutMs of [-1, Number.NaN, "10"]) {
      const report = await blockInWorker(slow(), { timeoutMs });
      expect(report.error).toMatch(/^TypeError: concurrentFuture\.result\(\): timeoutMs must be/);
    }
  });

  it("on the main thread: result()/exception() throw SyncUsageError, done() polls, transferList is an array", async () => {
    const quick = promising.function(async function quick() {
      return 1;
    });
    const promise = quick();
    const future = promise.asConcurrentFuture();
    expect(Array.isArray(future.transferList)).toBe(true);
    expect(() => future.result()).toThrow(promising.SyncUsageError);
    expect(() => future.exception()).toThrow(promising.SyncUsageError);
    expect(future.done()).toBe(false);
    await promise;
    expect(future.done()).toBe(true);
  });

  it("from() rejects what is not a future", () => {
    expect(() => promising.PromiseBackedConcurrentFuture.from({} as never)).toThrow(/asConcurrentFuture/);
  });
});

describe("PromiseBackedConcurrentFuture inside a pool function", () => {
  afterAll(async () => {
    await promising.Defaults.PROMISING_THREAD_POOL.close();
  });

  it("result() and exception() block on a promise of the main thread's tree, as sync() does; done() polls", async () => {
    expect(await futures.blocksOnFutureFn()).toEqual({
      doneBefore: false,
      value: { v: 30 },
      doneAfter: true,
      sameValue: true,
      noException: true,
      error: "RangeError: failed after 10 ms",
      sameError: true,
      failingDone: true,
    });
  });

  it("a timeout throws TimeoutError and leaves the promise running; a deferred promise starts; polling done() ends", async () => {
    expect(await futures.futureWaitsFn()).toEqual({
      timeout:
        "TimeoutError: concurrentFuture.result() timed out after 20 ms; the promise keeps running. Wait longer, or await it instead. | true",
      pendingAfterTimeout: true,
      later: { v: 300 },
      deferredValue: { v: 5 },
      polled: { v: 20 },
    });
  });

  it("a pending promise of the worker itself throws SyncUsageError (it would deadlock); a settled one gives its outcome", async () => {
    const report = (await futures.localFuturesFn()) as Record<string, unknown>;
    expect(report.pendingResult).toMatch(
      /^SyncUsageError: concurrentFuture\.result\(\) on Promise\(<anonymous>, pending\) would block/,
    );
    expect(report).toMatchObject({
      pendingException: "SyncUsageError",
      pendingDone: false,
      settled: 5,
      settledError: true,
    });
  });
});
