/**
 * Module-level helpers that act on the active context (Python's module functions).
 * Each throws ContextNotFoundError / PromiseNotFoundError when there is nothing active,
 * unless `raiseIfNone: false`: then the getters return null, the waits return at once, and
 * collecting and traces give empty results.
 */
import { activeNode } from "../core/active.ts";
import {
  type AwaitChildrenOptions,
  type AwaitChildrenSyncOptions,
  assertMayBlock,
  type PromisingContext,
  type RaiseOptions,
} from "../core/context.ts";
import { ContextNotFoundError, PromiseNotFoundError } from "../core/errors.ts";
import { HIERARCHY_KEYS, validateCallOptions } from "../core/options.ts";
import type { PromisingPromise } from "../core/promise.ts";
import type { TraceOptions } from "../core/trace.ts";
import { type CollectOptions, IS_PROMISE } from "../core/tree.ts";

export function getActiveContext(options?: { raiseIfNone?: true }): PromisingContext;
export function getActiveContext(options: RaiseOptions): PromisingContext | null;
export function getActiveContext(options?: RaiseOptions): PromisingContext | null {
  validateCallOptions(options, HIERARCHY_KEYS.raise, "getActiveContext");
  return activeContextOrThrow(options?.raiseIfNone ?? true, "getActiveContext");
}

export function getActivePromise(options?: { raiseIfNone?: true }): PromisingPromise<unknown>;
export function getActivePromise(options: RaiseOptions): PromisingPromise<unknown> | null;
export function getActivePromise(options?: RaiseOptions): PromisingPromise<unknown> | null {
  validateCallOptions(options, HIERARCHY_KEYS.raise, "getActivePromise");
  let node = activeNode();
  while (node !== null && !(node._flags & IS_PROMISE)) node = node._parent;
  if (node === null && (options?.raiseIfNone ?? true)) {
    throw new PromiseNotFoundError(
      "No active Promise: call this inside a promising function, or pass { raiseIfNone: false }.",
    );
  }
  return node as PromisingPromise<unknown> | null;
}

function activeContextOrThrow(raiseIfNone: boolean, what: string): PromisingContext | null {
  const node = activeNode();
  if (node === null && raiseIfNone) {
    throw new ContextNotFoundError(
      `No active PromisingContext for ${what}(): call it inside a promising function or a promising.context(...) block, or pass { raiseIfNone: false }.`,
    );
  }
  return node as PromisingContext | null;
}

/**
 * The options of a module function: the method's own, plus `raiseIfNone` (outside any context,
 * `false` makes the function act on nothing instead of throwing). Validated here, then the
 * method gets its own options only.
 */
function splitModuleOptions<O extends object>(
  options: (O & RaiseOptions) | undefined,
  keys: readonly string[],
  what: string,
): { context: PromisingContext | null; methodOptions: O | undefined } {
  validateCallOptions(options, [...keys, "raiseIfNone"], what);
  if (options === undefined) return { context: activeContextOrThrow(true, what), methodOptions: undefined };
  const { raiseIfNone = true, ...methodOptions } = options;
  return { context: activeContextOrThrow(raiseIfNone, what), methodOptions: methodOptions as O };
}

/** Waits for the children of the active context (see PromisingContext.awaitChildren). */
export async function awaitChildren(options?: AwaitChildrenOptions & RaiseOptions): Promise<void> {
  const { context, methodOptions } = splitModuleOptions(
    options,
    HIERARCHY_KEYS.awaitChildren,
    "awaitChildren",
  );
  if (context !== null) await context.awaitChildren(methodOptions);
}

/** Blocks a pool worker until the active context's children are done. */
export function awaitChildrenSync(options?: AwaitChildrenSyncOptions & RaiseOptions): void {
  // On the event loop's thread it is an error whatever is active (SPEC 3), also with raiseIfNone: false.
  assertMayBlock("awaitChildrenSync()", "`await promising.awaitChildren()`");
  const { context, methodOptions } = splitModuleOptions(
    options,
    HIERARCHY_KEYS.awaitChildrenSync,
    "awaitChildrenSync",
  );
  context?.awaitChildrenSync(methodOptions);
}

export function collectRemainingChildren(options?: CollectOptions & RaiseOptions): Set<PromisingContext> {
  const { context, methodOptions } = splitModuleOptions(
    options,
    HIERARCHY_KEYS.collect,
    "collectRemainingChildren",
  );
  return context !== null ? context.collectRemainingChildren(methodOptions) : new Set();
}

export function getTrace(options?: TraceOptions & RaiseOptions): PromisingContext[] {
  const { context, methodOptions } = splitModuleOptions(options, HIERARCHY_KEYS.trace, "getTrace");
  return context !== null ? context.getTrace(methodOptions) : [];
}

export function formatTrace(options?: TraceOptions & RaiseOptions): string[] {
  const { context, methodOptions } = splitModuleOptions(options, HIERARCHY_KEYS.trace, "formatTrace");
  return context !== null ? context.formatTrace(methodOptions) : [];
}

export function printTrace(options?: TraceOptions & RaiseOptions): void {
  const { context, methodOptions } = splitModuleOptions(options, HIERARCHY_KEYS.trace, "printTrace");
  context?.printTrace(methodOptions);
}
