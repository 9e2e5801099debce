/**
 * Starts eager promises "soon": at the next microtask checkpoint, never synchronously inside
 * the call that created them, and before any timer or I/O callback (SPEC 2.4).
 *
 * One microtask drains a FIFO of jobs instead of one microtask per promise: on Node 20,
 * once AsyncLocalStorage is in use every `queueMicrotask` allocates an async resource, and a
 * fan-out of 100,000 children would pay that 100,000 times. Jobs queued while draining run
 * in the same drain, in order, iteratively (a 100,000-deep chain never recurses).
 */
export interface Job {
  runJob(): void;
}

let queue: Job[] = [];
let scheduled = false;

export function scheduleJob(job: Job): void {
  queue.push(job);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  let index = 0;
  try {
    for (; index < queue.length; index++) queue[index]!.runJob();
  } finally {
    // Jobs catch their own failures; this only guards against a bug leaving the queue stuck.
    const rest = queue.slice(index + 1);
    queue = [];
    scheduled = false;
    for (const job of rest) scheduleJob(job);
  }
}
