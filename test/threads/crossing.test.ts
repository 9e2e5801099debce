// What crosses threads, and how, on REAL worker threads (fixtures/crossing.ts).
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import * as crossing from "./fixtures/crossing.ts";

afterAll(async () => {
  await (promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool).close();
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
    // Not "timeout": .sync() in a worker takes any TimeoutError it receives for its own timeout
    // (worker-bridge.ts), a separate issue that plain TimeoutErrors have as well.
    for (const [kind, expected] of Object.entries(EXPECTED)) {
      if (kind === "timeout") continue;
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
