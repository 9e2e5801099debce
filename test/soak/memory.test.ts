/**
 * Soak tests: long runs of sequential promises must not grow the heap (SPEC 2.8: children are
 * held strongly while running and weakly once done, so a long-lived parent never accumulates
 * finished children), and finished, unreferenced promises must be collectable.
 *
 * Heap is measured as `heapUsed` after forced full GCs separated by macrotasks (`collectGarbage`):
 * V8 keeps every WeakRef target alive until the end of the job that created or dereferenced it,
 * so a measurement taken without yielding to the event loop would count those too.
 */
import { describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { collectGarbage, collectGarbageUntil, macrotask } from "../helpers.ts";

const MB = 1024 * 1024;
const TOTAL = 1_000_000;
const WARMUP = 100_000;
/** Allowed heap growth between the measurement at WARMUP and the one at TOTAL. */
const BOUND = 5 * MB;

async function heapAfterGc(): Promise<number> {
  await collectGarbage();
  return process.memoryUsage().heapUsed;
}

const inMb = (bytes: number) => `${(bytes / MB).toFixed(2)} MB`;

/**
 * Awaits `f(i)` for i = 1..TOTAL, measuring the heap after GC at WARMUP and at TOTAL.
 * `yieldEvery`: also let one macrotask pass every that many iterations (as any program doing
 * I/O does); 0 = a pure microtask loop.
 */
async function sequentialLoop(
  f: (i: number) => PromiseLike<number>,
  yieldEvery: number,
): Promise<{ atWarmup: number; atEnd: number; seconds: number }> {
  const started = performance.now();
  let atWarmup = 0;
  let sum = 0;
  for (let i = 1; i <= TOTAL; i++) {
    sum += await f(i);
    if (yieldEvery > 0 && i % yieldEvery === 0) await macrotask();
    if (i === WARMUP) atWarmup = await heapAfterGc();
  }
  const atEnd = await heapAfterGc();
  expect(sum).toBe((TOTAL * (TOTAL + 1)) / 2);
  return { atWarmup, atEnd, seconds: (performance.now() - started) / 1000 };
}

const identity = promising.function(async function identity(i: number): Promise<number> {
  return i;
});

describe("soak: one million sequential promises", () => {
  it("as roots: the heap does not grow", { timeout: 60_000 }, async () => {
    const { atWarmup, atEnd, seconds } = await sequentialLoop(identity, 0);
    const growth = atEnd - atWarmup;
    expect(
      growth,
      `heap ${inMb(atWarmup)} at ${WARMUP} -> ${inMb(atEnd)} at ${TOTAL} (${seconds.toFixed(1)} s)`,
    ).toBeLessThan(BOUND);
  });

  it("as children of one long-lived parent promise: the heap does not grow", {
    timeout: 60_000,
  }, async () => {
    let parentRef: promising.Promise<unknown> | null = null;
    const parent = promising.function(async function parent() {
      parentRef = promising.getActivePromise();
      const result = await sequentialLoop(identity, 1_000);
      // Every finished child was released by the parent's registry.
      expect(parentRef.collectRemainingChildren({ excludeDone: false }).size).toBe(0);
      return result;
    });
    const { atWarmup, atEnd, seconds } = await parent();
    const growth = atEnd - atWarmup;
    expect(
      growth,
      `heap ${inMb(atWarmup)} at ${WARMUP} -> ${inMb(atEnd)} at ${TOTAL} (${seconds.toFixed(1)} s)`,
    ).toBeLessThan(BOUND);
  });
});

describe("soak: a long-lived context after a pure microtask loop", () => {
  // KNOWN FAILURE (reported, src/core/tree.ts): V8 keeps a WeakRef's target alive until the end
  // of the job that created it, and a loop of awaits that never yields to the event loop is one
  // job. So every finished child is still alive when `ChildRegistry.addDone` sweeps, the sweep
  // threshold doubles each time, and after the loop the registry of the still-living parent
  // holds one dead WeakRef cell per finished child (about 40 bytes each) until the list doubles
  // again or the parent dies. Flip `it.fails` to `it` once the registry sweeps after the job
  // (for instance from a macrotask).
  const N = 250_000;
  const PER_CHILD_BOUND = 8; // bytes retained per finished child

  it(`${N} children awaited without yielding leave no per-child residue in the parent`, {
    timeout: 60_000,
  }, async () => {
    let context: promising.PromisingContext | null = null;
    let before = 0;
    await promising.context({ namespace: "long-lived" }).run(async (ctx) => {
      context = ctx;
      for (let i = 0; i < 1_000; i++) await identity(i); // warm up the JIT
      before = await heapAfterGc();
      for (let i = 1; i <= N; i++) await identity(i);
    });
    const after = await heapAfterGc();
    // The context is still referenced (long-lived); none of its children is.
    expect(context!.collectRemainingChildren({ excludeDone: false }).size).toBe(0);
    const growth = after - before;
    expect(growth, `heap grew ${inMb(growth)} over ${N} children`).toBeLessThan(N * PER_CHILD_BOUND);
  });
});

describe("finished, unreferenced promises are collectable (SPEC 2.8)", () => {
  const COUNT = 1_000;

  async function expectAllCollected(refs: WeakRef<object>[]): Promise<void> {
    // See collectGarbageUntil: the property is that nothing *keeps* them alive.
    await collectGarbageUntil(() => refs.every((ref) => ref.deref() === undefined));
    const alive = refs.filter((ref) => ref.deref() !== undefined).length;
    expect(alive, `${alive} of ${refs.length} still alive`).toBe(0);
  }

  // Promises are created and awaited in helpers: a suspended async function can keep stale
  // locals of its own frame alive, which would blame the library for the test's references.
  async function createAndAwait(i: number, refs: WeakRef<object>[]): Promise<void> {
    const p = identity(i);
    refs.push(new WeakRef(p));
    expect(await p).toBe(i);
  }

  it("awaited roots", async () => {
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < COUNT; i++) await createAndAwait(i, refs);
    await expectAllCollected(refs);
  });

  it("eager roots that nobody consumed, once they have finished", async () => {
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < COUNT; i++) refs.push(new WeakRef(identity(i)));
    await macrotask();
    await expectAllCollected(refs);
  });

  it("deferred promises after they were consumed", async () => {
    const lazy = identity.with({ startSoon: false });
    const refs: WeakRef<object>[] = [];
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) => {
        const p = lazy(i);
        refs.push(new WeakRef(p));
        return p;
      }),
    );
    await expectAllCollected(refs);
  });

  it("children of a parent that is still referenced, awaited or not", async () => {
    const refs: WeakRef<object>[] = [];
    const parent = promising.function(async function parent() {
      for (let i = 0; i < COUNT; i++) {
        const child = identity(i);
        refs.push(new WeakRef(child));
        if (i % 2 === 0) await child;
      }
      await promising.awaitChildren();
      return "parent done";
    });
    const kept = parent();
    expect(await kept).toBe("parent done");
    await expectAllCollected(refs);
    expect(kept.collectRemainingChildren({ excludeDone: false }).size).toBe(0);
    expect(kept.done()).toBe(true);
  });

  it("children and contexts inside a long-lived context", async () => {
    const refs: WeakRef<object>[] = [];
    const context = await promising.context().run(async (ctx) => {
      for (let i = 0; i < COUNT / 10; i++) {
        await promising.context().run(async (inner) => {
          refs.push(new WeakRef(inner));
          for (let j = 0; j < 10; j++) {
            const p = identity(j);
            refs.push(new WeakRef(p));
            await p;
          }
        });
      }
      return ctx;
    });
    await expectAllCollected(refs);
    expect(context.collectRemainingChildren({ excludeDone: false, excludeNonAwaitable: false }).size).toBe(0);
  });

  it("whole finished subtrees, once their root is unreferenced", async () => {
    const refs: WeakRef<object>[] = [];
    const leaf = promising.function(async function leaf(i: number) {
      refs.push(new WeakRef(promising.getActivePromise()));
      return i;
    });
    const branch = promising.function(async function branch(i: number) {
      refs.push(new WeakRef(promising.getActivePromise()));
      await Promise.all([leaf(i), leaf(i + 1)]);
      leaf(i + 2); // not awaited: still finishes, then must not be kept
      return i;
    });
    const root = promising.function(async function root() {
      refs.push(new WeakRef(promising.getActivePromise()));
      for (let i = 0; i < 50; i++) branch(i);
      await promising.awaitChildren();
    });
    await root();
    expect(refs.length).toBe(1 + 50 + 150);
    await expectAllCollected(refs);
  });

  it("rejected promises whose failure was observed", async () => {
    const fail = promising.function(async function fail(i: number): Promise<never> {
      throw new Error(`failure ${i}`);
    });
    const refs: WeakRef<object>[] = [];
    // Plain try/catch rather than `expect(p).rejects`, which records the promise on the test.
    const createAndCatch = async (i: number): Promise<string> => {
      const p = fail(i);
      refs.push(new WeakRef(p));
      try {
        await p;
        return "fulfilled";
      } catch (error) {
        return (error as Error).message;
      }
    };
    for (let i = 0; i < COUNT; i++) expect(await createAndCatch(i)).toBe(`failure ${i}`);
    await expectAllCollected(refs);
  });
});
