/** Promise traces: the chain of contexts from the root down to a node (SPEC 4.6). */
import type { TreeNode } from "./tree.ts";

export interface TraceOptions {
  /** Root first (default) or the node first. */
  parentsFirst?: boolean;
}

export function traceOf(node: TreeNode, { parentsFirst = true }: TraceOptions = {}): TreeNode[] {
  const trace: TreeNode[] = [];
  for (let current: TreeNode | null = node; current !== null; current = current._parent) trace.push(current);
  return parentsFirst ? trace.reverse() : trace;
}

export function formatTraceOf(node: TreeNode, options?: TraceOptions): string[] {
  return traceOf(node, options).map((entry) => String(entry));
}

export function printTraceOf(node: TreeNode, options?: TraceOptions): void {
  for (const line of formatTraceOf(node, options)) process.stdout.write(`${line}\n`);
}

/**
 * Attaches the promise trace to an error escaping `node`, once: the deepest promise a
 * failure passes through stamps it, every promise above sees it present and leaves it.
 */
export function stampTrace(error: unknown, node: TreeNode): void {
  if (error === null || (typeof error !== "object" && typeof error !== "function")) return;
  try {
    // Inside the try: a Proxy thrown as an error may throw from any trap (or be revoked).
    if (Object.hasOwn(error, "promisingTrace")) return;
    Object.defineProperty(error, "promisingTrace", {
      value: formatTraceOf(node),
      enumerable: false,
      configurable: true,
      writable: true,
    });
  } catch {
    // Frozen or exotic error objects cannot carry a trace; the failure itself still propagates.
  }
}
