// The promising-ts rows of the worker-threads tables, shared by the case that runs the
// sources (cases/promising-pool.ts) and the one that runs the built package
// (cases/promising-pool-dist.ts): a fresh ThreadPool per system, the pool functions called
// with `.with({ threadPool: pool })`.

import type * as Library from "../../src/index.ts";
import type * as PoolFunctions from "../cases/pool-fns.ts";
import { type CpuSystem, type PoolSystem, THREADS } from "./thread-tasks.ts";

type PoolOptions = ConstructorParameters<typeof Library.ThreadPool>[0];

export function promisingPoolSystems(
  promising: typeof Library,
  { plusOne, poolFib }: Pick<typeof PoolFunctions, "plusOne" | "poolFib">,
  options: PoolOptions = {},
): { pool: () => PoolSystem; cpu: () => CpuSystem } {
  const make = () => {
    let pool: InstanceType<typeof promising.ThreadPool> | undefined;
    let run: typeof plusOne | undefined;
    let fib: typeof poolFib | undefined;
    return {
      start() {
        pool = new promising.ThreadPool({ maxThreads: THREADS, minThreads: THREADS, ...options });
        run = plusOne.with({ threadPool: pool });
        fib = poolFib.with({ threadPool: pool });
      },
      close: async () => {
        await pool?.close();
      },
      plusOne: (x: number): Promise<number> => run!(x),
      fib: (n: number): Promise<number> => fib!(n),
    };
  };
  return { pool: make, cpu: make };
}
