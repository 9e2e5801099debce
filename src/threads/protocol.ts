/**
 * Messages between the main thread and a pool worker. Main → worker travels on the Worker's
 * own port; worker → main travels on the worker's sync channel (posts and blocking requests
 * share one ordered port, so a request never overtakes the call that created its promise).
 */
import type { TransferredValue } from "./error-transfer.ts";
import type { FunctionRef } from "./function-registry.ts";

/** How `this` crosses: none, the method's class (static), or a clone re-attached to the prototype. */
/**
 * `className`: set when the receiver is a subclass (or an instance of one) of the class that
 * declares the method, so that the other thread runs the method on that subclass, as here.
 */
export type ThisTransfer =
  | { readonly mode: "none" }
  | { readonly mode: "class"; readonly className?: string }
  | { readonly mode: "instance"; readonly value: unknown; readonly className?: string };

/** A promising Promise passed as a top-level argument crosses as a handle of the same promise. */
export interface HandleArg {
  readonly __promisingHandle: number;
  readonly namespace: string | null;
  /**
   * The id of its parent, when the receiving thread knows that id (it may hold a stand-in for
   * it): a new stand-in then takes its place in the tree there too. Not an occurrence of the id.
   */
  readonly parentId?: number;
}

export interface AncestorInfo {
  readonly id: number;
  readonly isPromise: boolean;
  readonly namespace: string | null;
}

export interface TaskMessage {
  /** Also the task's sequence number in its claim slot (threads/task-claims.ts). */
  readonly taskId: number;
  /** The claim slot the worker must win before running the task. */
  readonly claim: number;
  /** Names the function; the full `ref` travels only the first time a worker sees this id. */
  readonly refId: number;
  ref?: FunctionRef;
  readonly self: ThisTransfer;
  readonly args: unknown[];
  /** Root first; the last entry is the task's own promise. */
  readonly ancestors: AncestorInfo[];
}

export interface SettledMessage {
  readonly type: "settled";
  readonly id: number;
  readonly outcome: Outcome;
}

/** Tasks for one worker, sent together so the main thread posts once per batch. */
export interface TaskBatchMessage {
  readonly type: "tasks";
  readonly tasks: TaskMessage[];
}

export type MainToWorker = TaskBatchMessage | SettledMessage;

export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: TransferredValue }
  | { readonly layer: number };

/** `parentId` of a call made with an explicit `parent: null` (no node has id 0). */
export const ROOT_ID = 0;

/** What `fn.run()` waits for besides the root's own result (its `awaitChildren` option). */
export type RunWait = "recursively" | "direct" | "none";

/** Fire-and-forget messages from the worker. */
export type WorkerPost =
  | {
      readonly op: "call";
      readonly id: number;
      /** Names the function; the full `ref` travels only with the first call that uses this id. */
      readonly refId: number;
      readonly ref?: FunctionRef;
      /** Encoded by threads/option-transfer.ts; absent when there are none. */
      readonly options?: Record<string, never>;
      /** Absent: no `this`. */
      readonly self?: ThisTransfer;
      readonly args: unknown[];
      /** The main-thread parent; ROOT_ID for an explicit `parent: null`. */
      readonly parentId: number;
      /** The node of the task that made the call: its async context applies if `parentId` is under no task. */
      readonly contextId: number;
      /**
       * Present for `fn.run()`: the main thread runs the call as a root and waits for it and its
       * descendants (all, direct children only, or none); `id` then names that whole wait.
       */
      readonly run?: RunWait;
    }
  | {
      readonly op: "context";
      readonly id: number;
      readonly parentId: number;
      readonly options: Record<string, never>;
    }
  | { readonly op: "wrap"; readonly id: number; readonly parentId: number }
  | { readonly op: "resolve"; readonly id: number; readonly outcome: Outcome }
  | {
      readonly op: "done";
      readonly taskId: number;
      readonly outcome: Outcome;
      /** The worker keeps the stand-in of the task's promise: keep its id until the worker releases it. */
      readonly kept?: true;
    }
  | { readonly op: "watch"; readonly id: number }
  /** The worker observed the failure of `id`, which it had learned without observing (see settleStandIn). */
  | { readonly op: "observe"; readonly id: number }
  /** The worker no longer refers to these ids; `counts[i]` occurrences of `ids[i]` are covered (see worker-node-refs.ts). */
  | { readonly op: "release"; readonly ids: number[]; readonly counts: number[] };

/** Blocking requests from the worker. */
export type WorkerRequest =
  | { readonly op: "sync"; readonly id: number; readonly mode: "full" | "once" }
  /** Answered at once: the promise's outcome if settled (and it can cross), else null. */
  | { readonly op: "peek"; readonly id: number; readonly observe: boolean }
  | {
      readonly op: "awaitChildren";
      readonly id: number;
      readonly recursively: boolean;
      /** Promises the worker has pending stand-ins for among those children: answer their outcomes. */
      readonly outcomesOf: number[];
    }
  /**
   * Answered at once (a CollectAnswer): `collectRemainingChildren()` of each node of `ids`, with
   * these options, on the main thread; and the outcomes of `outcomesOf` as for `awaitChildren`.
   */
  | {
      readonly op: "collect";
      readonly ids: number[];
      readonly recursively: boolean;
      readonly excludeNonAwaitable: boolean;
      readonly excludeDone: boolean;
      readonly outcomesOf: number[];
    };

/**
 * A node `collect` lists, parents before their children. `id` is an occurrence of the id (see
 * worker-node-refs.ts); `parentId`, when the worker may know it, places a new stand-in there.
 */
export interface CollectedNode {
  readonly id: number;
  readonly namespace: string | null;
  readonly parentId?: number;
  /** A promise (else a context). */
  readonly isPromise: boolean;
}

export interface CollectAnswer {
  readonly nodes: CollectedNode[];
  readonly outcomes: ChildOutcomes;
}

/**
 * Answer to `awaitChildren`: per id of `outcomesOf`, its outcome, or null when it cannot cross
 * (the stand-in then stays pending, and `.sync()` on it reports why).
 */
export type ChildOutcomes = (Outcome | null)[];

/** Answer to a `once` request. */
export type LayerAnswer =
  | { readonly value: unknown }
  | { readonly handle: number; readonly namespace: string | null; readonly parentId?: number };

/** Whether an encoded argument stands for a promising Promise of the other thread. */
export function isHandleArg(arg: unknown): arg is HandleArg {
  return arg !== null && typeof arg === "object" && "__promisingHandle" in arg;
}

/**
 * What a pool worker adds to an error that kills it (an uncaught exception or an unhandled
 * rejection), as an own enumerable property so that it crosses with the Worker's `error` event.
 */
export const WORKER_FAILURE_KEY = "__promisingWorkerFailure";

export interface WorkerFailureInfo {
  /** `uncaughtException` or `unhandledRejection`. */
  readonly origin: string;
  /** The namespace of the pool function whose work (or leftover callback) failed, if known. */
  readonly functionName: string | null;
  /** The promise trace where it failed (root first), empty if nothing was active. */
  readonly trace: string[];
}
