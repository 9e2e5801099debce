// Native async functions with one AsyncLocalStorage.run per child: the floor for
// any library that tracks a context per child with ALS. On Node 20 the first
// run() turns on promise hooks for the whole process, which is why every case
// runs in its own process.

import { AsyncLocalStorage } from "node:async_hooks";
import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";
import { deferred } from "../lib/deferred.ts";

const als = new AsyncLocalStorage<object>();
// One shared store: this row measures ALS itself, not the allocation of per-child contexts.
const store = {};

const child = async (i: number): Promise<number> => i;

async function parent(n: number): Promise<number> {
  const children: Promise<number>[] = [];
  for (let i = 0; i < n; i++) children.push(als.run(store, () => child(i)));
  let sum = 0;
  for (const value of await Promise.all(children)) sum += value;
  return sum;
}

async function link(depth: number): Promise<number> {
  return depth === 0 ? 0 : await als.run(store, () => link(depth - 1));
}

const system: AsyncSystem = {
  fanOut: (n) => als.run(store, () => parent(n)),
  chain: (depth) => als.run(store, () => link(depth)),
  pending(n) {
    const gate = deferred<void>();
    let started = 0;
    const waiter = async (i: number): Promise<number> => {
      started++;
      await gate.promise;
      return i;
    };
    const holder = async (): Promise<number> => {
      const children: Promise<number>[] = [];
      for (let i = 0; i < n; i++) children.push(als.run(store, () => waiter(i)));
      await gate.promise;
      return (await Promise.all(children)).length;
    };
    const done = als.run(store, holder);
    return {
      started: () => started,
      release: () => {
        gate.resolve();
        return done;
      },
    };
  },
};

void runAsyncCase(() => system);
