// promising-ts's ThreadPool from the built package: dist/ and the plain-JavaScript pool
// functions of pool-fns.mjs, with workers started without the harness's `--import tsx`
// (`execArgv: []`). The same tasks as promising-pool.ts, as an application that ships
// JavaScript runs them; the difference between the two rows is what tsx costs the workers.

import { promisingPoolSystems } from "../lib/promising-pool-system.ts";
import { runThreadCase } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

async function load() {
  // @ts-expect-error: dist/ is built by `npm run bench` before the cases run.
  const promising = (await import("../../dist/index.js")) as typeof import("../../src/index.ts");
  // @ts-expect-error: plain JavaScript, typed by use below.
  const { plusOne, poolFib } = (await import("./pool-fns.mjs")) as typeof import("./pool-fns.ts");
  return {
    ...promisingPoolSystems(promising, { plusOne, poolFib }, { execArgv: [] }),
    blocking: ROUND_TRIP_SYSTEMS["promising-sync-dist"]!,
  };
}

void runThreadCase(load);
