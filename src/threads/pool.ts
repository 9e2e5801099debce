/**
 * ThreadPool: runs `useThreadPool: true` functions on worker threads.
 *
 * Why not Piscina: a pool worker here is not a request/response server. While a task runs, the
 * worker creates children in the main thread's tree and blocks on them (`.sync()`), so each
 * worker needs its own long-lived blocking channel, and the pool must know which workers are
 * blocked to grow past `maxThreads` instead of deadlocking (a blocked worker cannot run the
 * child it waits for). Piscina hands tasks to workers it chooses and has no per-worker channel
 * or blocked-worker accounting; see docs/threads.md.
 *
 * Invariants:
 * - a worker runs at most one task at a time (sync functions block their thread anyway), but
 *   may have more sent ahead; which thread runs a task sent ahead is settled by a claim in
 *   shared memory (threads/task-claims.ts), so tasks behind a blocked worker move elsewhere;
 * - idle workers are unref'd, so they never keep the process alive; busy ones are ref'd, and so
 *   are idle ones that still owe the outcome of a promise a finished task returned;
 * - running (not blocked) workers never exceed `maxThreads`; blocked ones do not count,
 *   which is what resolves starvation when a task blocks on work that needs the pool.
 */
import { availableParallelism } from "node:os";
import { type ResourceLimits, Worker } from "node:worker_threads";
import { PromisingError } from "../core/errors.ts";
import { isPlainOptionsObject } from "../core/options.ts";
import { describeValue } from "../core/sentinels.ts";
import type { ThreadPoolLike } from "../core/thread-contract.ts";
import type { TreeNode } from "../core/tree.ts";
import { cloneFailure } from "./clone-failure.ts";
import { WorkerCrashedError } from "./errors.ts";
import { type FunctionRef, registerPool } from "./function-registry.ts";
import type { Outcome, TaskMessage, ThisTransfer, WorkerFailureInfo } from "./protocol.ts";
import { createSyncChannel, type SyncChannelServer, serveSyncChannel } from "./sync-channel.ts";
import { TaskClaims } from "./task-claims.ts";
import { TaskQueue } from "./task-queue.ts";
import { reportWorkerFailure, takeWorkerFailureInfo } from "./worker-failures.ts";
import { type OutcomeThenable, WorkerHost } from "./worker-host.ts";
import { workerBootstrap } from "./worker-location.ts";
import { getWorkerRuntime, type PoolNameInWorkers } from "./worker-runtime.ts";

export interface ThreadPoolOptions {
  /** Upper bound of running worker threads. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Workers started at once and kept when idle (a warm pool). Default 0. */
  minThreads?: number;
  /** How long an idle worker above `minThreads` lives. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Passed to each `Worker` (e.g. `maxOldGenerationSizeMb`); a worker exceeding them is replaced. */
  resourceLimits?: import("node:worker_threads").ResourceLimits;
  /**
   * Node flags for the workers. Default: the main process's own, as for any `Worker`. `[]`
   * starts them without, e.g. without a loader (`--import tsx`) that only the main thread needs.
   */
  execArgv?: string[];
}

export { WorkerCrashedError };

export interface PoolTask {
  readonly promise: TreeNode;
  readonly ref: FunctionRef;
  readonly name: string;
  readonly self: ThisTransfer;
  readonly args: unknown[];
  /** Root first, excluding the task's own promise. */
  readonly ancestors: TreeNode[];
  readonly outcome: OutcomeThenable;
}

/** A task sent to a worker and not finished yet. */
interface InFlight {
  readonly task: PoolTask;
  /** The task's id in messages and its sequence number in the claim slot. */
  readonly seq: number;
  readonly claim: number;
  /** Node ids registered for the task (its promise and ancestors), released when it ends. */
  readonly nodes: number[];
  readonly message: TaskMessage;
}

class Slot {
  /** Tasks sent to this worker and not finished, in the order they were sent. */
  readonly inFlight = new Map<number, InFlight>();
  idleTimer: NodeJS.Timeout | null = null;
  /** When the worker last started blocking (performance.now()). */
  blockedAt = 0;
  /** Blocked for at least BLOCKED_GRACE_MS: it no longer counts against `maxThreads`. */
  blockedLong = false;
  /** Sets `blockedLong` at the end of the grace; armed only while work waits (see #armGraceTimers). */
  graceTimer: NodeJS.Timeout | null = null;
  exited = false;
  constructor(
    readonly worker: Worker,
    readonly host: WorkerHost,
    readonly server: SyncChannelServer,
    readonly claims: TaskClaims,
  ) {}

  get busy(): boolean {
    return this.inFlight.size > 0;
  }
}

/**
 * How many tasks a running worker may have sent to it and unfinished. Sending ahead lets a
 * worker go from one task to the next without a round trip through the main thread, and
 * lets the main thread post many tasks in one message.
 */
const PREFETCH_DEPTH = 32;

/**
 * How long a worker must stay blocked before it stops counting against `maxThreads` (so the pool
 * may start another worker in its place). Most `.sync()` calls are answered by the main thread
 * well within this; starting a worker for each of them would only make the pool thrash. One
 * that waits on queued pool work (starvation) or on slow I/O gets a worker after it.
 */
const BLOCKED_GRACE_MS = 10;

const OPTION_KEYS = ["maxThreads", "minThreads", "idleTimeoutMs", "resourceLimits", "execArgv"];

/** Longest delay `setTimeout` honours: Node turns anything longer into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Far more threads than any machine runs usefully; a larger value is a typo, not a plan. */
const MAX_THREADS = 4096;

function checkCount(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `ThreadPool: ${name} must be an integer >= ${min} (and at most ${max}); got ${describeValue(value)}.`,
    );
  }
  return value;
}

const RESOURCE_LIMIT_KEYS = [
  "maxOldGenerationSizeMb",
  "maxYoungGenerationSizeMb",
  "codeRangeSizeMb",
  "stackSizeMb",
];

function checkResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  const valid =
    isPlainOptionsObject(value) &&
    Object.entries(value).every(
      ([key, limit]) =>
        RESOURCE_LIMIT_KEYS.includes(key) &&
        (limit === undefined || (typeof limit === "number" && Number.isFinite(limit) && limit > 0)),
    );
  if (!valid) {
    throw new TypeError(
      `ThreadPool: resourceLimits must be a plain object with positive numbers among ${RESOURCE_LIMIT_KEYS.join(", ")}; got ${describeValue(value)}.`,
    );
  }
  return value as ResourceLimits;
}

/** Set while the library creates a pool of its own (see createLibraryPool): which one. */
let creatingLibraryPool: "default" | "asyncio" | null = null;

/**
 * A pool the library creates for itself (the default pools, created on first use): never named
 * for other threads, since it is created at no fixed point of any user module's top level.
 * `role` tells its workers which pool their tasks' `getThreadPoolExecutor()` reports: the
 * default pool's counterpart there, or `null` for the pool ASYNCIO_DEFAULT maps to.
 */
export function createLibraryPool(
  options?: ThreadPoolOptions,
  role: "default" | "asyncio" = "default",
): ThreadPool {
  creatingLibraryPool = role;
  try {
    return new ThreadPool(options);
  } finally {
    creatingLibraryPool = null;
  }
}

/** Why a worker died, for WorkerCrashedError messages: the error, and where it came from if the worker said. */
function crashReason(cause: unknown, failure: WorkerFailureInfo | null): string {
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (failure === null) return reason;
  const what = failure.origin === "unhandledRejection" ? "an unhandled rejection" : "an uncaught error";
  return failure.functionName === null
    ? `${reason}: ${what}`
    : `${reason}: ${what} from ${failure.functionName}`;
}

let lastSeq = 0;
/** Task sequence numbers: positive int32, so the claim slots can hold them and their negation. */
function nextSeq(): number {
  lastSeq = lastSeq >= 0x7ffffffe ? 1 : lastSeq + 1;
  return lastSeq;
}

export class ThreadPool implements ThreadPoolLike, AsyncDisposable {
  readonly maxThreads: number;
  readonly minThreads: number;
  readonly idleTimeoutMs: number;
  readonly #resourceLimits: ThreadPoolOptions["resourceLimits"];
  readonly #execArgv: string[] | undefined;
  /** What this pool is in its workers (for `getThreadPoolExecutor()` there). */
  readonly #nameInWorkers: PoolNameInWorkers;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue = new TaskQueue<PoolTask>();
  #closed = false;

  constructor(options: ThreadPoolOptions = {}) {
    if (options === null || typeof options !== "object")
      throw new TypeError("ThreadPool: options must be an object.");
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new TypeError(
          `ThreadPool: unknown option "${key}". Accepted options: ${OPTION_KEYS.join(", ")}.`,
        );
      }
    }
    this.maxThreads =
      checkCount("maxThreads", options.maxThreads, 1, MAX_THREADS) ?? Math.max(1, availableParallelism());
    this.minThreads = checkCount("minThreads", options.minThreads, 0, MAX_THREADS) ?? 0;
    this.idleTimeoutMs = checkCount("idleTimeoutMs", options.idleTimeoutMs, 0, MAX_TIMER_MS) ?? 30_000;
    this.#resourceLimits = checkResourceLimits(options.resourceLimits);
    if (
      options.execArgv !== undefined &&
      !(Array.isArray(options.execArgv) && options.execArgv.every((flag) => typeof flag === "string"))
    ) {
      throw new TypeError("ThreadPool: execArgv must be an array of strings (Node flags for the workers).");
    }
    this.#execArgv = options.execArgv === undefined ? undefined : [...options.execArgv];
    if (this.minThreads > this.maxThreads) {
      throw new TypeError(
        `ThreadPool: minThreads (${this.minThreads}) cannot exceed maxThreads (${this.maxThreads}).`,
      );
    }
    // Named by its module (apart from the functions: function-registry.ts), so a pool created at a
    // module's top level can be chosen from inside a pool worker (threads/option-transfer.ts).
    // The library's own pools are not: they exist only where and when first used.
    this.ref = creatingLibraryPool !== null ? null : registerPool(this);
    this.#nameInWorkers = creatingLibraryPool ?? this.ref;
    // Inside a pool worker a pool is only a name for the main thread's pool: it never starts threads.
    if (getWorkerRuntime() === undefined) {
      try {
        for (let i = 0; i < this.minThreads; i++) this.#parkIdle(this.#spawn());
      } catch (error) {
        void this.close();
        throw this.#spawnFailure(error);
      }
    }
  }

  /** @internal How other threads name this pool; `null` when it was not created at a module's top level. */
  readonly ref: FunctionRef | null;

  get closed(): boolean {
    return this.#closed;
  }

  /** Worker threads alive right now (running, blocked or idle). */
  get threads(): number {
    return this.#slots.size;
  }

  /** @internal Main-thread nodes the workers can currently name by id (tests check that they are released). */
  _trackedNodes(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.host.trackedNodes;
    return count;
  }

  /** @internal Queues a task; its outcome settles `task.outcome`. */
  _run(task: PoolTask): void {
    if (this.#closed) {
      task.outcome.settle(false, new PromisingError(`${this} is closed; ${task.name} cannot run on it.`));
      return;
    }
    // Work a blocked worker waits for goes first (see #blockedChanged).
    if (this.#awaitedByBlockedWorker(task)) this.#queue.unshiftAll([task]);
    else this.#queue.push(task);
    // A lone call with a worker free goes out at once (latency)...
    if (this.#queue.length === 1 && this.#idle.length > 0 && this.#running() < this.maxThreads) {
      this.#dispatch();
      return;
    }
    // ...otherwise dispatch once per burst of calls (a fan-out queues its tasks in one synchronous run), so
    // they leave in a few batches instead of one message each.
    if (!this.#dispatchScheduled) {
      this.#dispatchScheduled = true;
      queueMicrotask(this.#scheduledDispatch);
    }
  }

  #dispatchScheduled = false;
  readonly #scheduledDispatch = (): void => {
    this.#dispatchScheduled = false;
    this.#dispatch();
  };

  /** Terminates every worker; tasks still queued or running reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#queue.drain()) {
      task.outcome.settle(false, new PromisingError(`${this} was closed before ${task.name} could run.`));
    }
    await Promise.all([...this.#slots].map((slot) => this.#retire(slot)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `ThreadPool(maxThreads=${this.maxThreads}, threads=${this.#slots.size})`;
  }

  /** Workers running a task and not blocked (for longer than the grace): the ones `maxThreads` limits. */
  #running(): number {
    let running = 0;
    for (const slot of this.#slots) if (slot.busy && !(slot.host.blocked && slot.blockedLong)) running++;
    return running;
  }

  #dispatch(): void {
    if (this.#closed) return;
    if (this.#queue.length === 0) this.#takeBackForIdleWorkers();
    const batches = new Map<Slot, InFlight[]>();
    // Workers with nothing to do first, up to the limit. Blocked workers wait for work that
    // may need the pool: they do not count against it.
    let running = this.#running();
    while (this.#queue.length > 0 && running < this.maxThreads) {
      const slot = this.#idle.pop() ?? this.#trySpawn();
      if (slot === null) break;
      this.#send(slot, this.#queue.shift()!, batches);
      running++;
    }
    // Then work ahead for the running ones, so none waits for the main thread between tasks:
    // dealt out in turn, so CPU-heavy tasks spread evenly. A worker is topped up only once half
    // its tasks are done, so that a batch carries many tasks, not one.
    const ahead = [...this.#slots].filter(
      (slot) => slot.busy && !slot.host.blocked && slot.inFlight.size <= PREFETCH_DEPTH / 2,
    );
    while (this.#queue.length > 0 && ahead.length > 0) {
      for (let i = 0; i < ahead.length && this.#queue.length > 0; ) {
        const slot = ahead[i]!;
        if (slot.inFlight.size >= PREFETCH_DEPTH || slot.claims.available === 0) {
          ahead.splice(i, 1);
          continue;
        }
        this.#send(slot, this.#queue.shift()!, batches);
        i++;
      }
    }
    for (const [slot, sent] of batches) this.#post(slot, sent);
    this.#armGraceTimers();
  }

  /**
   * A blocked worker's grace only needs a timer while work waits that a new worker could take
   * (queued, or sent ahead to it): most blocks end with nothing waiting, and then cost no timer.
   */
  #armGraceTimers(): void {
    let now = 0;
    for (const slot of this.#slots) {
      if (!slot.host.blocked || slot.blockedLong || slot.graceTimer !== null || slot.exited) continue;
      if (this.#queue.length === 0 && slot.inFlight.size <= 1) continue;
      now ||= performance.now();
      const left = Math.max(1, BLOCKED_GRACE_MS - (now - slot.blockedAt));
      slot.graceTimer = setTimeout(() => this.#blockedLong(slot), left);
      slot.graceTimer.unref();
    }
  }

  /**
   * The queue is empty but a worker is idle while another has tasks waiting behind the one it
   * runs: take those back (the ones it has not claimed) so the idle worker gets them.
   */
  #takeBackForIdleWorkers(): void {
    if (this.#idle.length === 0 || this.#running() >= this.maxThreads) return;
    for (const slot of this.#slots) {
      if (slot.inFlight.size > 1) this.#takeBack(slot, Math.floor(slot.inFlight.size / 2));
    }
  }

  /** Moves up to `limit` of a worker's unclaimed tasks (those `which` selects), the last sent first, back to the front of the queue. */
  #takeBack(slot: Slot, limit: number, which?: (task: PoolTask) => boolean): void {
    const taken: PoolTask[] = [];
    for (const entry of [...slot.inFlight.values()].reverse()) {
      if (taken.length >= limit) break;
      if (which !== undefined && !which(entry.task)) continue;
      if (!slot.claims.reclaim(entry.claim, entry.seq)) continue;
      slot.inFlight.delete(entry.seq);
      slot.host.releaseAll(entry.nodes);
      taken.push(entry.task);
    }
    this.#queue.unshiftAll(taken.reverse());
    if (!slot.busy) this.#parkIdle(slot);
  }

  #awaitedByBlockedWorker(task: PoolTask): boolean {
    for (const slot of this.#slots) {
      const awaited = slot.host.blockedNode;
      if (awaited !== null && (task.promise === awaited || task.promise._parent === awaited)) return true;
    }
    return false;
  }

  /**
   * A worker started or stopped blocking. The work it waits for goes first (taken back if it was
   * sent ahead to this very worker): running it is what unblocks the worker, whereas giving the
   * next worker another task that blocks would only make the pool grow. Only if the block lasts
   * BLOCKED_GRACE_MS do its other tasks go to other workers and does it stop counting against
   * `maxThreads`; shorter blocks (most `.sync()` calls) leave the rest as it is.
   */
  #blockedChanged(slot: Slot): void {
    if (slot.graceTimer !== null) {
      clearTimeout(slot.graceTimer);
      slot.graceTimer = null;
    }
    const awaited = slot.host.blockedNode;
    slot.blockedLong = false;
    if (slot.host.blocked && !slot.exited) {
      slot.blockedAt = performance.now();
      if (awaited !== null) {
        this.#takeBack(
          slot,
          Number.POSITIVE_INFINITY,
          (task) => task.promise === awaited || task.promise._parent === awaited,
        );
        if (!this.#queue.moveToFront((task) => task.promise === awaited))
          this.#queue.moveToFront((task) => task.promise._parent === awaited);
      }
    }
    this.#dispatch();
  }

  /** A worker has been blocked for BLOCKED_GRACE_MS: its tasks sent ahead go elsewhere, and the pool may grow. */
  #blockedLong(slot: Slot): void {
    slot.graceTimer = null;
    if (!slot.host.blocked || slot.exited) return;
    slot.blockedLong = true;
    this.#takeBack(slot, Number.POSITIVE_INFINITY);
    this.#dispatch();
  }

  /**
   * A new worker, or null when Node refuses to start one (e.g. a flag in `execArgv` that worker
   * threads do not accept). With no worker left to run them, the queued tasks fail with the
   * reason instead of waiting forever; otherwise they wait for the workers there are.
   */
  #trySpawn(): Slot | null {
    try {
      return this.#spawn();
    } catch (error) {
      if (this.#slots.size === 0) {
        const failure = this.#spawnFailure(error);
        for (const task of this.#queue.drain()) task.outcome.settle(false, failure);
      }
      return null;
    }
  }

  #spawnFailure(cause: unknown): PromisingError {
    return new PromisingError(
      `${this} could not start a worker thread (${cause instanceof Error ? cause.message : String(cause)}). ` +
        "Check the pool's execArgv and resourceLimits.",
      { cause },
    );
  }

  #spawn(): Slot {
    const channel = createSyncChannel();
    const bootstrap = workerBootstrap();
    const claims = new TaskClaims();
    let worker: Worker;
    try {
      worker = new Worker(bootstrap.url, {
        workerData: {
          channel: channel.workerEnd,
          entry: bootstrap.entry,
          claims: claims.buffer,
          pool: this.#nameInWorkers,
        },
        transferList: channel.transferList,
        resourceLimits: this.#resourceLimits,
        execArgv: this.#execArgv,
        stdout: false,
        stderr: false,
      });
    } catch (error) {
      channel.mainEnd.port.close();
      channel.workerEnd.port.close();
      throw error;
    }
    let slot!: Slot;
    const host = new WorkerHost(
      worker,
      () => this.#blockedChanged(slot),
      (taskId, outcome, kept) => this.#finish(slot, taskId, outcome, kept),
      () => claims.notifyPosted(),
      () => this.#wrapsChanged(slot),
    );
    const server = serveSyncChannel(channel.mainEnd, host.onRequest, { onPost: host.onPost });
    slot = new Slot(worker, host, server, claims);
    this.#slots.add(slot);
    worker.on("error", (error) => this.#crash(slot, error, true));
    worker.on("exit", (code) => this.#crash(slot, new Error(`exit code ${code}`)));
    return slot;
  }

  /** Offers `task` to the worker of `slot`; the message goes out with the slot's batch. */
  #send(slot: Slot, task: PoolTask, batches: Map<Slot, InFlight[]>): void {
    if (slot.idleTimer !== null) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
    }
    const seq = nextSeq();
    const claim = slot.claims.offer(seq);
    const ancestors = task.ancestors.map((node) => slot.host.describe(node));
    ancestors.push({
      id: slot.host.acquire(task.promise),
      isPromise: true,
      namespace: task.promise.namespace,
    });
    const ref = slot.host.refIds.name(task.ref);
    const message: TaskMessage = {
      taskId: seq,
      claim,
      refId: ref.id,
      ref: ref.full,
      self: task.self,
      args: slot.host.encodeArgs(task.args),
      ancestors,
    };
    const entry: InFlight = { task, seq, claim, nodes: ancestors.map((info) => info.id), message };
    slot.inFlight.set(seq, entry);
    let batch = batches.get(slot);
    if (batch === undefined) batches.set(slot, (batch = []));
    batch.push(entry);
  }

  #post(slot: Slot, sent: InFlight[]): void {
    slot.worker.ref();
    try {
      slot.worker.postMessage({ type: "tasks", tasks: sent.map((entry) => entry.message) });
      slot.claims.notifyPosted();
      return;
    } catch {
      // Some task in the batch cannot be cloned: post them one by one to fail only those.
    }
    /** Short ids a message that reached the worker introduced (each one names its function in full). */
    const introduced = new Set<number>();
    for (const entry of sent) {
      // Each message names its function in full: the one that introduced the short id may fail.
      entry.message.ref = entry.task.ref;
      try {
        slot.worker.postMessage({ type: "tasks", tasks: [entry.message] });
        slot.claims.notifyPosted();
        introduced.add(entry.message.refId);
      } catch (error) {
        // Unless another message taught the worker this short id, the next task of this function
        // must name it in full again (else the worker could not tell which function it is).
        if (!introduced.has(entry.message.refId)) slot.host.refIds.forget(entry.task.ref);
        slot.claims.reclaim(entry.claim, entry.seq);
        slot.inFlight.delete(entry.seq);
        slot.host.releaseAll(entry.nodes);
        slot.host.unsend(entry.message.args);
        const { task } = entry;
        task.outcome.settle(
          false,
          cloneFailure(task.name, task.self.mode === "instance", task.args, error, "a worker thread"),
        );
      }
    }
    if (!slot.busy) this.#parkIdle(slot);
  }

  #finish(slot: Slot, taskId: number, outcome: Outcome, kept: boolean): void {
    const entry = slot.inFlight.get(taskId);
    if (entry === undefined) return;
    if (kept) slot.host.keptByWorker(entry.nodes[entry.nodes.length - 1]!);
    slot.inFlight.delete(taskId);
    slot.claims.release(entry.claim);
    const decoded = slot.host.decode(outcome);
    slot.host.releaseAll(entry.nodes);
    entry.task.outcome.settle(decoded.ok, decoded.value);
    if (!slot.busy) this.#parkIdle(slot);
    this.#dispatch();
  }

  #parkIdle(slot: Slot): void {
    if (this.#closed || slot.exited) return;
    // A finished task's returned promise still settles in this worker: the process waits for it,
    // and the worker is kept until it has (#wrapsChanged parks it again then).
    const owesOutcomes = slot.host.unsettledWraps > 0;
    // Workers added while others were blocked are not kept once the pool is back to its size.
    if (
      !owesOutcomes &&
      this.#slots.size > Math.max(this.maxThreads, this.minThreads) &&
      this.#queue.length === 0
    ) {
      void this.#retire(slot);
      return;
    }
    if (owesOutcomes) slot.worker.ref();
    else slot.worker.unref();
    this.#idle.push(slot);
    if (this.#slots.size > this.minThreads && !owesOutcomes) {
      slot.idleTimer = setTimeout(() => {
        const index = this.#idle.indexOf(slot);
        if (index >= 0 && this.#slots.size > this.minThreads && slot.host.unsettledWraps === 0) {
          this.#idle.splice(index, 1);
          void this.#retire(slot);
        }
      }, this.idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  /**
   * A worker started or finished owing the outcome of a promise a finished task returned: while
   * it owes one it stays ref'd (the process must not exit before that outcome arrives); once it
   * owes none, an idle worker is parked again (unref'd, its idle timeout armed).
   */
  #wrapsChanged(slot: Slot): void {
    if (slot.exited) return;
    if (slot.host.unsettledWraps > 0) {
      slot.worker.ref();
      return;
    }
    const index = this.#idle.indexOf(slot);
    if (index < 0) return;
    this.#idle.splice(index, 1);
    if (slot.idleTimer !== null) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
    }
    this.#parkIdle(slot);
  }

  async #retire(slot: Slot): Promise<void> {
    slot.exited = true;
    this.#slots.delete(slot);
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    if (slot.graceTimer !== null) clearTimeout(slot.graceTimer);
    slot.server.close();
    for (const entry of slot.inFlight.values()) {
      const { task } = entry;
      // A task sent ahead that the worker has not claimed yet never started.
      const started = !slot.claims.reclaim(entry.claim, entry.seq);
      task.outcome.settle(
        false,
        new PromisingError(
          started
            ? `${this} was closed while ${task.name} was running.`
            : `${this} was closed before ${task.name} could run.`,
        ),
      );
    }
    slot.host.failUnsettledWraps(
      (what) => new PromisingError(`${this} was closed before ${what} had settled.`),
    );
    slot.inFlight.clear();
    await slot.worker.terminate();
  }

  /**
   * A worker died: reject only the task it was running, forget it, and let dispatch replace it.
   * An error that killed it (`uncaught`) while it ran no task is reported (worker-failures.ts):
   * nothing else would ever show it.
   */
  #crash(slot: Slot, cause: unknown, uncaught = false): void {
    const failure = uncaught ? takeWorkerFailureInfo(cause) : null;
    if (slot.exited) return;
    slot.exited = true;
    this.#slots.delete(slot);
    const index = this.#idle.indexOf(slot);
    if (index >= 0) this.#idle.splice(index, 1);
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    if (slot.graceTimer !== null) clearTimeout(slot.graceTimer);
    slot.server.close();
    // Tasks it never claimed run elsewhere; only the one it was running fails.
    const requeued: PoolTask[] = [];
    let failed = 0;
    for (const entry of slot.inFlight.values()) {
      const { task } = entry;
      if (slot.claims.reclaim(entry.claim, entry.seq)) {
        requeued.push(task);
        continue;
      }
      const reason = crashReason(cause, failure);
      failed++;
      task.outcome.settle(
        false,
        new WorkerCrashedError(
          `The worker thread running ${task.name} died (${reason}). Only this task failed; the pool replaced the worker.`,
          { cause },
        ),
      );
    }
    slot.inFlight.clear();
    failed += slot.host.unsettledWraps;
    slot.host.failUnsettledWraps((what) => {
      const reason = crashReason(cause, failure);
      return new WorkerCrashedError(
        `The worker thread that was to settle ${what} died (${reason}); the pool replaced the worker.`,
        { cause },
      );
    });
    this.#queue.unshiftAll(requeued);
    if (uncaught && failed === 0) reportWorkerFailure(cause, failure);
    void slot.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}
