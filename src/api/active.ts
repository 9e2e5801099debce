/**
 * Module-level helpers that act on the active context (Python's module functions).
 * Each throws ContextNotFoundError / PromiseNotFoundError when there is nothing active,
 * unless `raiseIfNone: false`.
 */
import { activeNode } from "../core/active.ts";
import type {
  AwaitChildrenOptions,
  AwaitChildrenSyncOptions,
  PromisingContext,
  RaiseOptions,
} from "../core/context.ts";
import { ContextNotFoundError, PromiseNotFoundError } from "../core/errors.ts";
import type { PromisingPromise } from "../core/promise.ts";
import type { TraceOptions } from "../core/trace.ts";
import { type CollectOptions, IS_PROMISE } from "../core/tree.ts";

export function getActiveContext(options?: { raiseIfNone?: true }): PromisingContext;
export function getActiveContext(options: RaiseOptions): PromisingContext | null;
export function getActiveContext({ raiseIfNone = true }: RaiseOptions = {}): PromisingContext | null {
  const node = activeNode();
  if (node === null && raiseIfNone) {
    throw new ContextNotFoundError(
      "No active PromisingContext: call this inside a promising function or a promising.context(...) block, or pass { raiseIfNone: false }.",
    );
  }
  return node as PromisingContext | null;
}

export function getActivePromise(options?: { raiseIfNone?: true }): PromisingPromise<unknown>;
export function getActivePromise(options: RaiseOptions): PromisingPromise<unknown> | null;
export function getActivePromise({
  raiseIfNone = true,
}: RaiseOptions = {}): PromisingPromise<unknown> | null {
  let node = activeNode();
  while (node !== null && !(node._flags & IS_PROMISE)) node = node._parent;
  if (node === null && raiseIfNone) {
    throw new PromiseNotFoundError(
      "No active Promise: call this inside a promising function, or pass { raiseIfNone: false }.",
    );
  }
  return node as PromisingPromise<unknown> | null;
}

/** Waits for the children of the active context (see PromisingContext.awaitChildren). */
export async function awaitChildren(options?: AwaitChildrenOptions): Promise<void> {
  await getActiveContext().awaitChildren(options);
}

/** Blocks a pool worker until the active context's children are done. */
export function awaitChildrenSync(options?: AwaitChildrenSyncOptions): void {
  getActiveContext().awaitChildrenSync(options);
}

export function collectRemainingChildren(options?: CollectOptions): Set<PromisingContext> {
  return getActiveContext().collectRemainingChildren(options);
}

export function getTrace(options?: TraceOptions): PromisingContext[] {
  return getActiveContext().getTrace(options);
}

export function formatTrace(options?: TraceOptions): string[] {
  return getActiveContext().formatTrace(options);
}

export function printTrace(options?: TraceOptions): void {
  getActiveContext().printTrace(options);
}
