// promising-ts: every child and every chain level is a promising.function call,
// so each one is a promising.Promise that knows its parent.

import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";
import { deferred } from "../lib/deferred.ts";

// Imported when the case starts (not statically) so that a missing or broken
// core turns into an "error: ..." cell instead of a crashed process.
async function load(): Promise<AsyncSystem> {
  const promising = await import("../../src/index.ts");

  const child = promising.function(async (i: number) => i);

  const parent = promising.function(async (n: number) => {
    const children: Promise<number>[] = [];
    for (let i = 0; i < n; i++) children.push(child(i));
    let sum = 0;
    for (const value of await Promise.all(children)) sum += value;
    return sum;
  });

  const link = promising.function(
    async (depth: number): Promise<number> => (depth === 0 ? 0 : await link(depth - 1)),
  );

  return {
    fanOut: (n) => parent(n),
    chain: (depth) => link(depth),
    pending(n) {
      const gate = deferred<void>();
      let started = 0;
      const waiter = promising.function(async (i: number) => {
        started++;
        await gate.promise;
        return i;
      });
      const holder = promising.function(async () => {
        const children: Promise<number>[] = [];
        for (let i = 0; i < n; i++) children.push(waiter(i));
        await gate.promise;
        return (await Promise.all(children)).length;
      });
      const done = holder();
      return {
        started: () => started,
        release: () => {
          gate.resolve();
          return done;
        },
      };
    },
  };
}

void runAsyncCase(load);
