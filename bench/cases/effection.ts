// Effection v4: every child and every chain level is a task started with spawn
// and joined with yield*, all inside one run().

import { type Operation, run, spawn, type Task, withResolvers } from "effection";
import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";

// biome-ignore lint/correctness/useYield: like the native `async (i) => i`, the child does no waiting at all.
function* child(i: number): Operation<number> {
  return i;
}

function* parent(n: number): Operation<number> {
  const tasks: Task<number>[] = [];
  for (let i = 0; i < n; i++) tasks.push(yield* spawn(() => child(i)));
  let sum = 0;
  for (const task of tasks) sum += yield* task;
  return sum;
}

function* link(depth: number): Operation<number> {
  if (depth === 0) return 0;
  const task = yield* spawn(() => link(depth - 1));
  return yield* task;
}

const system: AsyncSystem = {
  fanOut: (n) => run(() => parent(n)),
  chain: (depth) => run(() => link(depth)),
  pending(n) {
    const gate = withResolvers<void>();
    let started = 0;
    function* waiter(i: number): Operation<number> {
      started++;
      yield* gate.operation;
      return i;
    }
    function* holder(): Operation<number> {
      const tasks: Task<number>[] = [];
      for (let i = 0; i < n; i++) tasks.push(yield* spawn(() => waiter(i)));
      yield* gate.operation;
      let count = 0;
      for (const task of tasks) {
        yield* task;
        count++;
      }
      return count;
    }
    const done = run(holder);
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
