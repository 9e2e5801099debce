/**
 * Configuration resolution (SPEC 2.7). Every setting is resolved to a concrete value when a
 * node is created and frozen into its flags, so later changes to `Defaults` or to parents
 * never change how an existing promise behaves.
 */
import { Defaults } from "./defaults.ts";
import { ASYNCIO_DEFAULT, INHERIT, PROMISING_DEFAULT } from "./sentinels.ts";
import type { ThreadPoolLike } from "./thread-contract.ts";
import {
  CHILDREN_ENFORCED,
  CHILDREN_START_SOON,
  IS_PROMISE,
  START_SOON,
  START_SOON_DEFAULT,
  type TreeNode,
} from "./tree.ts";

/** Raw (validated, not yet resolved) settings; `undefined` means "use the kind's default". */
export interface RawConfig {
  startSoon?: unknown;
  childrenStartSoon?: unknown;
  startSoonDefault?: unknown;
  threadPool?: unknown;
}

/**
 * Resolves the configuration bits. `forPromise` selects the promise defaults
 * (`childrenStartSoon: null`, plus `startSoon`); contexts default `childrenStartSoon` to INHERIT.
 */
export function resolveFlags(parent: TreeNode | null, raw: RawConfig, forPromise: boolean): number {
  let flags = forPromise ? IS_PROMISE : 0;

  const ssd = raw.startSoonDefault ?? INHERIT;
  const startSoonDefault =
    ssd === INHERIT
      ? parent !== null
        ? (parent._flags & START_SOON_DEFAULT) !== 0
        : Defaults.START_SOON
      : ssd === PROMISING_DEFAULT
        ? Defaults.START_SOON
        : (ssd as boolean);
  if (startSoonDefault) flags |= START_SOON_DEFAULT;

  const css = raw.childrenStartSoon === undefined ? (forPromise ? null : INHERIT) : raw.childrenStartSoon;
  if (css === INHERIT) {
    if (parent !== null) flags |= parent._flags & (CHILDREN_ENFORCED | CHILDREN_START_SOON);
  } else if (css !== null) {
    flags |= CHILDREN_ENFORCED;
    if (css === true) flags |= CHILDREN_START_SOON;
  }

  if (forPromise && resolveStartSoon(parent, raw.startSoon ?? null, startSoonDefault)) flags |= START_SOON;
  return flags;
}

function resolveStartSoon(parent: TreeNode | null, startSoon: unknown, startSoonDefault: boolean): boolean {
  if (typeof startSoon === "boolean") return startSoon;
  if (startSoon === null) {
    if (parent !== null && parent._flags & CHILDREN_ENFORCED)
      return (parent._flags & CHILDREN_START_SOON) !== 0;
    return startSoonDefault;
  }
  // INHERIT: the nearest ancestor that is a promise, skipping plain contexts.
  let ancestor = parent;
  while (ancestor !== null && !(ancestor._flags & IS_PROMISE)) ancestor = ancestor._parent;
  return ancestor !== null ? (ancestor._flags & START_SOON) !== 0 : startSoonDefault;
}

/** `null` stands for ASYNCIO_DEFAULT (see docs/threads.md for what that runs on). */
export function resolvePool(parent: TreeNode | null, threadPool: unknown): ThreadPoolLike | null {
  const value = threadPool ?? INHERIT;
  if (value === INHERIT) return parent !== null ? parent._pool : Defaults.PROMISING_THREAD_POOL;
  if (value === PROMISING_DEFAULT) return Defaults.PROMISING_THREAD_POOL;
  if (value === ASYNCIO_DEFAULT) return null;
  return value as ThreadPoolLike;
}
