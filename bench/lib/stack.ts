// The timed chain is 10,000 levels deep. Native async functions recurse once
// per level on the JS stack (each call runs synchronously until its first
// await), and Effect resumes a joining parent synchronously when its child
// ends; with V8's default limit (~984 KB) native is at the edge at 10k (it
// overflows on Node 24) and Effect overflows at about 2k. The per-level cost is
// what that column measures, so its processes get a larger V8 stack limit; the
// deep-chain column keeps the default stack, because that is what it checks.

import { spawnSync } from "node:child_process";

/** V8 limit (KB) to ask for: enough for a 10k-deep Effect fork/join chain on Node 20 and 24. */
const WANTED_KB = 7_000;
/** Room kept between V8's limit and the OS limit for Node's own frames and native code. */
const MARGIN_KB = 1_024;

/** Soft limit of the main thread's stack in KB (Infinity for unlimited), or undefined if unknown. */
function osStackLimitKb(): number | undefined {
  if (process.platform === "win32") return undefined;
  const out = spawnSync("sh", ["-c", "ulimit -s"], { encoding: "utf8" });
  const text = out.stdout?.trim();
  if (out.status !== 0 || !text) return undefined;
  if (text === "unlimited") return Number.POSITIVE_INFINITY;
  const kb = Number(text);
  return Number.isFinite(kb) ? kb : undefined;
}

/**
 * Node flags for a larger V8 stack, never above what the OS stack can back:
 * a V8 limit beyond the real stack turns an overflow into a segfault.
 */
export function largeStackArgs(): string[] {
  const limit = osStackLimitKb();
  if (limit === undefined) return [];
  const kb = Math.min(WANTED_KB, limit - MARGIN_KB);
  return kb > 984 ? [`--stack-size=${Math.floor(kb)}`] : [];
}
