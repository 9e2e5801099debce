// promising-ts's ThreadPool (THREADS workers, started at once): the pool functions of
// pool-fns.ts, called with `.with({ threadPool: pool })`.
// - pool: plusOne(x), a trivial sync function.
// - blocking: the "promising-sync" system of sync-roundtrip.ts (asyncIdentity(i).sync() from a worker).
// - cpu: poolFib(n).
// The workers load pool-fns.ts (and the library) from TypeScript, so each registers tsx first:
// about a second of its cold start that a built package would not pay.

import { promisingPoolSystems } from "../lib/promising-pool-system.ts";
import { runThreadCase } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

// Imported when the case starts (not statically) so that a broken src/ becomes an "error: ..." cell.
async function load() {
  const promising = await import("../../src/index.ts");
  const { plusOne, poolFib } = await import("./pool-fns.ts");
  return {
    ...promisingPoolSystems(promising, { plusOne, poolFib }),
    blocking: ROUND_TRIP_SYSTEMS["promising-sync"]!,
  };
}

void runThreadCase(load);
