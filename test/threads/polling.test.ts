// Polling a promise of the main thread's tree from inside a pool function: done(), result() and
// error() see the settlement although the worker's own event loop never turns meanwhile (as a
// Python Future's done() can be polled from any thread).
import { afterAll, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { gate } from "../helpers.ts";
import * as polling from "./fixtures/polling.ts";
import { pollsFn } from "./fixtures/polling.ts";
import { jsonLines, runFixtureScript } from "./run-fixture.ts";

afterAll(async () => {
  await (promising.Defaults.PROMISING_THREAD_POOL as promising.ThreadPool).close();
});

describe("done(), result() and error() polled in a pool worker", () => {
  it("a child that fulfils: done() turns true without blocking on it, and result() gives its value", async () => {
    expect(await pollsFn("value", 30)).toEqual({
      doneAtStart: false,
      done: true,
      result: "value",
      error: null,
      isRangeError: false,
      sameOnSync: true,
    });
  });

  it("a child that rejects: done() turns true, and error() gives the error with its class", async () => {
    expect(await pollsFn("failure", 30)).toEqual({
      doneAtStart: false,
      done: true,
      result: null,
      error: "RangeError: late failure",
      isRangeError: true,
      sameOnSync: null,
    });
  });
});

describe("promises reaching a worker as arguments or layers keep their place in the tree", () => {
  it("an argument's trace and parent, and a layer's parent, are those of the main thread", async () => {
    const holds = promising.function(async function argumentHolder() {
      const argument = polling.innerFn();
      await argument;
      return polling.placesFn(argument);
    });
    expect(await holds()).toEqual({
      argumentTrace: ["Promise(argumentHolder", "Promise(innerLayer"],
      argumentParent: "Promise(argumentHolder",
      layerParentIsOuter: true,
      layerTrace: ["Promise(argumentHolder", "Promise(places", "Promise(outerLayer", "Promise(innerLayer"],
    });
  });
});

/** Runs `body` with the grandchildren that the fixtures start kept pending until it has finished. */
async function holdingGrandchildren<T>(body: () => PromiseLike<T>): Promise<T> {
  const held = gate();
  polling.holdGrandchildren(held.promise);
  try {
    return await body();
  } finally {
    held.open();
  }
}

describe("collectRemainingChildren() in a pool worker", () => {
  it("leaves out a child that has settled on the main thread meanwhile", async () => {
    expect(await polling.collectsAfterSettlingFn()).toEqual({ before: 1, after: 0, done: true });
  });

  it("lists the descendants that live on the main thread (children of async functions it called), with its own", async () => {
    expect(await holdingGrandchildren(() => polling.collectsAcrossThreadsFn())).toEqual({
      all: [
        "Promise(<anonymous>, pending)",
        "Promise(grandchild, pending)",
        "Promise(grandchildInContext, pending)",
      ],
      sameObjects: true,
      grandchildParentIsChild: true,
      contextParent: "Promise(contextSpawning, fulfilled)",
      withContexts: [
        "Promise(<anonymous>, pending)",
        "Promise(grandchild, pending)",
        "Promise(grandchildInContext, pending)",
        "PromisingContext(onMain)",
      ],
      withDone: [
        "Promise(<anonymous>, pending)",
        "Promise(childSpawning, fulfilled)",
        "Promise(contextSpawning, fulfilled)",
        "Promise(grandchild, pending)",
        "Promise(grandchildInContext, pending)",
      ],
      direct: ["Promise(<anonymous>, pending)"],
      ofChild: ["Promise(grandchild, pending)"],
      ofChildDirect: ["Promise(grandchild, pending)"],
      localPending: true,
    });
  });

  it("the same below a promise of the worker itself, whose work called the async function", async () => {
    expect(await holdingGrandchildren(() => polling.collectsUnderLocalPromiseFn())).toEqual({
      recursive: ["Promise(grandchild, pending)"],
      direct: [],
      withDone: ["Promise(childSpawning, fulfilled)", "Promise(grandchild, pending)"],
    });
  });

  it("on a context of the main thread that the task runs in: the stand-ins it lists sit under that context", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const outcome = await promising.context({ namespace: "outer" }).run(async () => {
      const sibling = polling.gatedFn(gate);
      const argument = polling.gatedFn.with({ namespace: "argument" })(gate);
      try {
        return await polling.collectsInAncestorContextFn(argument);
      } finally {
        release();
        await Promise.all([sibling, argument]);
      }
    });
    expect(outcome).toEqual({
      context: "PromisingContext(outer)",
      listed: [
        "Promise(argument, pending)",
        "Promise(collectsInAncestorContext, pending)",
        "Promise(gated, pending)",
      ],
      siblingParentIsContext: true,
      siblingTrace: ["PromisingContext(outer)", "Promise(gated"],
      argumentParentIsContext: true,
      argumentTrace: ["PromisingContext(outer)", "Promise(argument"],
    });
  });

  it("as on the main thread", async () => {
    const onMain = promising.function(async function collectsOnMain() {
      const child = polling.childSpawningFn();
      polling.contextSpawningFn();
      await promising.awaitChildren({ recursively: false });
      const names = (nodes: Set<promising.PromisingContext>) => [...nodes].map(String).sort();
      return {
        all: names(promising.collectRemainingChildren()),
        withContexts: names(promising.collectRemainingChildren({ excludeNonAwaitable: false })),
        direct: names(promising.collectRemainingChildren({ recursively: false })),
        ofChild: names(child.collectRemainingChildren()),
      };
    });
    expect(await holdingGrandchildren(() => onMain.with({ awaitChildren: false }).run())).toEqual({
      all: ["Promise(grandchild, pending)", "Promise(grandchildInContext, pending)"],
      withContexts: [
        "Promise(grandchild, pending)",
        "Promise(grandchildInContext, pending)",
        "PromisingContext(onMain)",
      ],
      direct: [],
      ofChild: ["Promise(grandchild, pending)"],
    });
  });
});

describe("a failure a pool function learns without observing, then observes", () => {
  it("is not reported as unobserved at exit; one it never observes is, once", async () => {
    const { code, stdout, stderr } = await runFixtureScript("observed-at-exit.ts");
    expect(stderr).toBe("");
    const [results, reports] = jsonLines(stdout) as [Record<string, unknown>, unknown];
    for (const learn of ["awaitChildren", "poll"]) {
      expect(results).toMatchObject({
        [`${learn} then sync`]: "caught TypeError",
        [`${learn} then unpackOnceSync`]: "caught TypeError",
        [`${learn} then result`]: "caught TypeError",
        [`${learn} then error`]: `TypeError: ${learn} then error`,
        [`${learn} then future`]: `TypeError: ${learn} then future`,
        [`${learn} then then`]: "caught TypeError",
        [`${learn} then nothing`]: "done: true",
      });
    }
    expect(reports).toEqual({ reported: ["awaitChildren then nothing", "poll then nothing"] });
    expect(code).toBe(0);
  }, 30_000);
});
