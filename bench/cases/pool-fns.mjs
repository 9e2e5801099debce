// The pool functions of cases/pool-fns.ts, in plain JavaScript on the built package
// (dist/), the way an application ships them: workers load them without tsx. Used by the
// "built package" rows (cases/promising-pool-dist.ts and the promising-sync-dist system of
// cases/sync-roundtrip.ts); `npm run bench` builds dist/ first.

import * as promising from "../../dist/index.js";
import { fib } from "./workers/fib.mjs";

export const plusOne = promising.function({ useThreadPool: true }, function plusOne(x) {
  return x + 1;
});

export const asyncIdentity = promising.function(async function asyncIdentity(x) {
  return x;
});

export const syncRoundTrips = promising.function({ useThreadPool: true }, function syncRoundTrips(count) {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const answer = asyncIdentity(i).sync();
    if (answer !== i) throw new Error(`wrong answer at round trip ${i}: ${String(answer)}`);
  }
  return ((performance.now() - start) * 1000) / count;
});

export const poolFib = promising.function({ useThreadPool: true }, function poolFib(n) {
  return fib(n);
});
