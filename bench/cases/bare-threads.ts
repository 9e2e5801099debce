// Bare worker_threads: the floor under every pool.
// - pool: THREADS echo workers (workers/echo-worker.mjs) fed round-robin with postMessage;
//   each worker answers in order, so a FIFO of resolvers per worker matches the answers.
// - blocking: the "bare" round trip of sync-roundtrip.ts (Atomics.wait + receiveMessageOnPort).

import { Worker } from "node:worker_threads";
import { JS_WORKER_EXEC_ARGV, type PoolSystem, runThreadCase, THREADS } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

interface Echo {
  worker: Worker;
  /** Resolvers of the tasks this worker has not answered yet, oldest at `head`. */
  waiting: ((value: number) => void)[];
  head: number;
}

function echoPool(): PoolSystem {
  const echoes: Echo[] = [];
  let next = 0;
  return {
    async start() {
      for (let i = 0; i < THREADS; i++) {
        const worker = new Worker(new URL("./workers/echo-worker.mjs", import.meta.url), {
          execArgv: [...JS_WORKER_EXEC_ARGV],
        });
        const echo: Echo = { worker, waiting: [], head: 0 };
        worker.on("message", (value: number) => {
          const resolve = echo.waiting[echo.head]!;
          echo.waiting[echo.head++] = undefined as never;
          if (echo.head === echo.waiting.length) {
            echo.waiting.length = 0;
            echo.head = 0;
          }
          resolve(value);
        });
        worker.on("error", (error) => {
          throw error;
        });
        echoes.push(echo);
      }
    },
    plusOne(x) {
      const echo = echoes[next]!;
      next = (next + 1) % echoes.length;
      return new Promise((resolve) => {
        echo.waiting.push(resolve);
        echo.worker.postMessage(x);
      });
    },
    async close() {
      await Promise.all(echoes.map((echo) => echo.worker.terminate()));
    },
  };
}

void runThreadCase(() => ({
  pool: echoPool,
  blocking: ROUND_TRIP_SYSTEMS.bare!,
}));
