/**
 * The `timeoutMs` option of the blocking calls (`.sync()`, `.unpackOnceSync()`,
 * `awaitChildrenSync()`, a concurrent future's `result()` / `exception()`): milliseconds >= 0,
 * or `Infinity`, `null` or `undefined` to wait without limit (Python's `timeout=None`).
 */
import { describeValue } from "../core/sentinels.ts";

/** The wait's limit in ms, `undefined` for none; a TypeError naming `what` for anything else. */
export function checkTimeoutMs(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === Number.POSITIVE_INFINITY) return undefined;
  if (typeof value === "number" && value >= 0) return value;
  throw new TypeError(
    `${what}: timeoutMs must be a number of milliseconds >= 0, or Infinity or null to wait without limit; ` +
      `got ${describeValue(value)}.`,
  );
}
