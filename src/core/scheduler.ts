/**
 * Starts eager promises "soon": at the next microtask checkpoint, never synchronously inside
 * the call that created them, and before any timer or I/O callback (SPEC 2.4).
 *
 * One microtask drains a FIFO of jobs instead of one microtask per promise: on Node 20,
 * once AsyncLocalStorage is in use every `queueMicrotask` allocates an async resource, and a
 * fan-out of 100,000 children would pay that 100,000 times. Jobs queued while draining run
 * in the same drain, in order, iteratively (a 100,000-deep chain never recurses). From Node 24
 * a promise's start is one promise reaction of its own instead (see
 * REACTIONS_CARRY_CONTEXT_CHEAPLY): still a microtask, never a recursion.
 */
import { AsyncResource } from "node:async_hooks";

export interface Job {
  /**
   * @internal
   * @param ownScope true when the job runs alone in an async-context scope that ends with it
   *   (its own promise reaction, or its own AsyncResource scope): it may then enter an
   *   AsyncLocalStorage value without restoring the previous one, which saves a context copy.
   */
  runJob(ownScope?: boolean): void;
}

let queue: Job[] = [];
/** Per job: the async context to run it in, or `undefined` for jobs that run no user code. */
let contexts: (AsyncResource | undefined)[] = [];
let scheduled = false;

export function scheduleJob(job: Job): void {
  queue.push(job);
  contexts.push(undefined);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

/**
 * Like scheduleJob, for a job that runs user code (a promise's start): it runs in the async
 * context of this call (a promise's creation if eager, its first consumption if deferred), so
 * AsyncLocalStorage values of other libraries (request ids, tracing spans) set by the caller
 * are what the work sees, as `asyncio.create_task` copies contextvars in Python. A pool task
 * keeps that context for the calls its worker makes back (threads/task-context.ts).
 */
export function scheduleJobInCallerContext(job: Job): void {
  if (REACTIONS_CARRY_CONTEXT_CHEAPLY) {
    nativeThen.call(RESOLVED, () => job.runJob(true));
    return;
  }
  queue.push(job);
  contexts.push(new AsyncResource("promising-ts.start", { requireManualDestroy: true }));
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

/**
 * Two ways to run a job in its caller's async context, equally correct, which cost differently:
 * from Node 24, AsyncLocalStorage lives in V8's continuation data, which every promise reaction
 * captures natively, so a reaction per job is cheapest (a 10k-deep chain: 1.6 µs per level
 * against 2.3 µs with an AsyncResource). On Node 20 each promise runs the async hooks instead,
 * and an AsyncResource per job in the shared drain is cheaper (7.5–8.5 µs against 9.1–9.3 µs).
 */
const REACTIONS_CARRY_CONTEXT_CHEAPLY = Number(process.versions.node.split(".")[0]) >= 24;
const RESOLVED = Promise.resolve();
/** Captured at load: a tool that patches `Promise.prototype.then` later does not see our starts. */
const nativeThen = Promise.prototype.then;

/** Deepest nesting of jobs run at once by runNowOrSchedule: past it, they queue (no deep recursion). */
const MAX_INLINE_DEPTH = 32;
let inlineDepth = 0;

/**
 * Runs `job` at once when the scheduler has nothing queued (so FIFO order holds) and the stack
 * is shallow; otherwise queues it. For work that arrives from outside the scheduler, such as a
 * settlement delivered by a native promise's reaction: it saves a microtask per settlement,
 * which is most of what a blocked worker waits for beyond the answer itself.
 */
export function runNowOrSchedule(job: Job): void {
  if (scheduled || inlineDepth >= MAX_INLINE_DEPTH) {
    scheduleJob(job);
    return;
  }
  inlineDepth++;
  try {
    job.runJob();
  } finally {
    inlineDepth--;
  }
}

function runJobInOwnScope(job: Job): void {
  job.runJob(true);
}

function drain(): void {
  let index = 0;
  try {
    for (; index < queue.length; index++) {
      const context = contexts[index];
      if (context === undefined) queue[index]!.runJob();
      else context.runInAsyncScope(runJobInOwnScope, null, queue[index]!);
    }
  } finally {
    // Jobs catch their own failures; this only guards against a bug leaving the queue stuck.
    const rest = queue.slice(index + 1);
    const restContexts = contexts.slice(index + 1);
    queue = [];
    contexts = [];
    scheduled = false;
    for (let i = 0; i < rest.length; i++) {
      queue.push(rest[i]!);
      contexts.push(restContexts[i]);
    }
    if (queue.length > 0) {
      scheduled = true;
      queueMicrotask(drain);
    }
  }
}
