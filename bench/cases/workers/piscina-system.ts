// Builds the Piscina rows (cases/piscina.ts, cases/piscina-c16.ts): one Piscina pool of
// THREADS workers running workers/piscina-worker.mjs, otherwise with Piscina's defaults.

import type { CpuSystem, PoolSystem, ThreadSystem } from "../../lib/thread-tasks.ts";
import { JS_WORKER_EXEC_ARGV, THREADS } from "../../lib/thread-tasks.ts";

export interface PiscinaSystemOptions {
  concurrentTasksPerWorker?: number;
}

export async function piscinaSystem(options: PiscinaSystemOptions): Promise<ThreadSystem> {
  const { Piscina } = await import("piscina");
  const filename = new URL("./piscina-worker.mjs", import.meta.url).href;
  const make = () => {
    let pool: InstanceType<typeof Piscina> | undefined;
    const started = () => {
      if (pool === undefined) throw new Error("pool not started");
      return pool;
    };
    return {
      start() {
        pool = new Piscina({
          filename,
          minThreads: THREADS,
          maxThreads: THREADS,
          // Only keeps the harness's tsx loader out of these JavaScript workers.
          execArgv: [...JS_WORKER_EXEC_ARGV],
          ...options,
        });
      },
      close: async () => {
        await pool?.destroy();
      },
      plusOne: (x: number) => started().run(x) as Promise<number>,
      fib: (n: number) => started().run(n, { name: "fib" }) as Promise<number>,
    };
  };
  return {
    pool: (): PoolSystem => make(),
    cpu: (): CpuSystem => make(),
  };
}
