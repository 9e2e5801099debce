// Baseline: plain async functions and Promise.all, no context tracking at all.

import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";
import { deferred } from "../lib/deferred.ts";

const child = async (i: number): Promise<number> => i;

async function parent(n: number): Promise<number> {
  const children: Promise<number>[] = [];
  for (let i = 0; i < n; i++) children.push(child(i));
  let sum = 0;
  for (const value of await Promise.all(children)) sum += value;
  return sum;
}

async function link(depth: number): Promise<number> {
  return depth === 0 ? 0 : await link(depth - 1);
}

const system: AsyncSystem = {
  fanOut: parent,
  chain: link,
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
      for (let i = 0; i < n; i++) children.push(waiter(i));
      await gate.promise;
      return (await Promise.all(children)).length;
    };
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

void runAsyncCase(() => system);
