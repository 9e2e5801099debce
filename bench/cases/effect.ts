// Effect v4: every child and every chain level is a fiber started with
// Effect.forkChild (v4's name for v3's Effect.fork) and awaited with Fiber.join.

import { Deferred, Effect, Fiber } from "effect";
import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";

const child = (i: number): Effect.Effect<number> => Effect.succeed(i);

const parent = (n: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    const fibers: Fiber.Fiber<number>[] = [];
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(child(i)));
    let sum = 0;
    for (const fiber of fibers) sum += yield* Fiber.join(fiber);
    return sum;
  });

// Effect.gen defers building the next level until this fiber runs, so the
// effect for a 100k-deep chain is not constructed recursively up front.
const link = (depth: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    if (depth === 0) return 0;
    const fiber = yield* Effect.forkChild(link(depth - 1));
    return yield* Fiber.join(fiber);
  });

const system: AsyncSystem = {
  fanOut: (n) => Effect.runPromise(parent(n)),
  chain: (depth) => Effect.runPromise(link(depth)),
  pending(n) {
    const gate = Deferred.makeUnsafe<void>();
    let started = 0;
    const waiter = (i: number): Effect.Effect<number> =>
      Effect.gen(function* () {
        started++;
        yield* Deferred.await(gate);
        return i;
      });
    const holder = Effect.gen(function* () {
      const fibers: Fiber.Fiber<number>[] = [];
      for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(waiter(i)));
      yield* Deferred.await(gate);
      let count = 0;
      for (const fiber of fibers) {
        yield* Fiber.join(fiber);
        count++;
      }
      return count;
    });
    const done = Effect.runPromise(holder);
    return {
      started: () => started,
      release: () => {
        Deferred.doneUnsafe(gate, Effect.void);
        return done;
      },
    };
  },
};

void runAsyncCase(() => system);
