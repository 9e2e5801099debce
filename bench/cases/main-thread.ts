// The main thread alone: the baseline of the CPU-bound table (fib runs inline, one after the
// other; nothing to start).

import { runThreadCase } from "../lib/thread-tasks.ts";
import { fib } from "./workers/fib.mjs";

void runThreadCase(() => ({
  cpu: () => ({
    start() {},
    fib,
    close: async () => {},
  }),
}));
