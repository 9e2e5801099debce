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
 * - a worker runs at most one task at a time (sync functions block their thread anyway);
 * - idle workers are unref'd, so they never keep the process alive; busy ones are ref'd;
 * - running (not blocked) workers never exceed `maxThreads`; blocked ones do not count,
 *   which is what resolves starvation when a task blocks on work that needs the pool.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { PromisingError } from "../core/errors.ts";
import type { ThreadPoolLike } from "../core/thread-contract.ts";
import type { TreeNode } from "../core/tree.ts";
import { cloneFailure } from "./clone-failure.ts";
import { type FunctionRef, registerFunction } from "./function-registry.ts";
import type { Outcome, TaskMessage, ThisTransfer } from "./protocol.ts";
import { createSyncChannel, type SyncChannelServer, serveSyncChannel } from "./sync-channel.ts";
import { type OutcomeThenable, WorkerHost } from "./worker-host.ts";
import { workerBootstrap } from "./worker-location.ts";
import { getWorkerRuntime } from "./worker-runtime.ts";

export interface ThreadPoolOptions {
  /** Upper bound of running worker threads. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Workers started at once and kept when idle (a warm pool). Default 0. */
  minThreads?: number;
  /** How long an idle worker above `minThreads` lives. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Passed to each `Worker` (e.g. `maxOldGenerationSizeMb`); a worker exceeding them is replaced. */
  resourceLimits?: import("node:worker_threads").ResourceLimits;
}

/** A pool worker died (uncaught error, `process.exit`, out of memory) while running a task. */
export class WorkerCrashedError extends PromisingError {}

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

class Slot {
  task: PoolTask | null = null;
  taskId = 0;
  /** Ids registered for the running task (its promise and ancestors), forgotten when it ends. */
  taskNodes: number[] = [];
  idleTimer: NodeJS.Timeout | null = null;
  exited = false;
  constructor(
    readonly worker: Worker,
    readonly host: WorkerHost,
    readonly server: SyncChannelServer,
  ) {}
}

const OPTION_KEYS = ["maxThreads", "minThreads", "idleTimeoutMs", "resourceLimits"];

function checkCount(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new TypeError(`ThreadPool: ${name} must be an integer >= ${min}; got ${String(value)}.`);
  }
  return value;
}

let nextTaskId = 1;

export class ThreadPool implements ThreadPoolLike, AsyncDisposable {
  readonly maxThreads: number;
  readonly minThreads: number;
  readonly idleTimeoutMs: number;
  readonly #resourceLimits: ThreadPoolOptions["resourceLimits"];
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: PoolTask[] = [];
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
    this.maxThreads = checkCount("maxThreads", options.maxThreads, 1) ?? Math.max(1, availableParallelism());
    this.minThreads = checkCount("minThreads", options.minThreads, 0) ?? 0;
    this.idleTimeoutMs = checkCount("idleTimeoutMs", options.idleTimeoutMs, 0) ?? 30_000;
    this.#resourceLimits = options.resourceLimits;
    if (this.minThreads > this.maxThreads) {
      throw new TypeError(
        `ThreadPool: minThreads (${this.minThreads}) cannot exceed maxThreads (${this.maxThreads}).`,
      );
    }
    // Named like a decorated function, so a pool created at a module's top level can be chosen
    // from inside a pool worker (threads/option-transfer.ts).
    this.ref = registerFunction(this, "ThreadPool", undefined, false);
    // Inside a pool worker a pool is only a name for the main thread's pool: it never starts threads.
    if (getWorkerRuntime() === undefined)
      for (let i = 0; i < this.minThreads; i++) this.#parkIdle(this.#spawn());
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

  /** @internal Queues a task; its outcome settles `task.outcome`. */
  _run(task: PoolTask): void {
    if (this.#closed) {
      task.outcome.settle(false, new PromisingError(`${this} is closed; ${task.name} cannot run on it.`));
      return;
    }
    this.#queue.push(task);
    this.#dispatch();
  }

  /** Terminates every worker; tasks still queued or running reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#queue.splice(0)) {
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

  /** Workers running a task and not blocked: the ones `maxThreads` limits. */
  #running(): number {
    let running = 0;
    for (const slot of this.#slots) if (slot.task !== null && !slot.host.blocked) running++;
    return running;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      // Blocked workers wait for work that may need the pool: they do not count against the limit.
      if (this.#running() >= this.maxThreads) return;
      this.#assign(this.#idle.pop() ?? this.#spawn(), this.#queue.shift()!);
    }
  }

  #spawn(): Slot {
    const channel = createSyncChannel();
    const bootstrap = workerBootstrap();
    const worker = new Worker(bootstrap.url, {
      workerData: { channel: channel.workerEnd, entry: bootstrap.entry },
      transferList: channel.transferList,
      resourceLimits: this.#resourceLimits,
      stdout: false,
      stderr: false,
    });
    let slot!: Slot;
    const host = new WorkerHost(
      worker,
      () => this.#dispatch(),
      (taskId, outcome) => this.#finish(slot, taskId, outcome),
    );
    const server = serveSyncChannel(channel.mainEnd, host.onRequest, { onPost: host.onPost });
    slot = new Slot(worker, host, server);
    this.#slots.add(slot);
    worker.on("error", (error) => this.#crash(slot, error));
    worker.on("exit", (code) => this.#crash(slot, new Error(`exit code ${code}`)));
    return slot;
  }

  #assign(slot: Slot, task: PoolTask): void {
    if (slot.idleTimer !== null) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
    }
    slot.task = task;
    slot.taskId = nextTaskId++;
    slot.worker.ref();
    const ancestors = task.ancestors.map((node) => slot.host.describe(node));
    const taskNodeId = slot.host.register(task.promise);
    ancestors.push({ id: taskNodeId, isPromise: true, namespace: task.promise.namespace });
    slot.taskNodes = [...ancestors.map((info) => info.id)];
    const message: TaskMessage = {
      type: "task",
      taskId: slot.taskId,
      ref: task.ref,
      self: task.self,
      args: slot.host.encodeArgs(task.args),
      ancestors,
    };
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      slot.host.forgetAll(slot.taskNodes);
      slot.task = null;
      this.#parkIdle(slot);
      task.outcome.settle(
        false,
        cloneFailure(task.name, task.self.mode === "instance", task.args, error, "a worker thread"),
      );
    }
  }

  #finish(slot: Slot, taskId: number, outcome: Outcome): void {
    const task = slot.task;
    if (task === null || taskId !== slot.taskId) return;
    slot.task = null;
    const decoded = slot.host.decode(outcome);
    slot.host.forgetAll(slot.taskNodes);
    task.outcome.settle(decoded.ok, decoded.value);
    this.#parkIdle(slot);
    this.#dispatch();
  }

  #parkIdle(slot: Slot): void {
    if (this.#closed || slot.exited) return;
    // Workers added while others were blocked are not kept once the pool is back to its size.
    if (this.#slots.size > Math.max(this.maxThreads, this.minThreads) && this.#queue.length === 0) {
      void this.#retire(slot);
      return;
    }
    slot.worker.unref();
    this.#idle.push(slot);
    if (this.#slots.size > this.minThreads) {
      slot.idleTimer = setTimeout(() => {
        const index = this.#idle.indexOf(slot);
        if (index >= 0 && this.#slots.size > this.minThreads) {
          this.#idle.splice(index, 1);
          void this.#retire(slot);
        }
      }, this.idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  async #retire(slot: Slot): Promise<void> {
    slot.exited = true;
    this.#slots.delete(slot);
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.server.close();
    const task = slot.task;
    slot.task = null;
    task?.outcome.settle(false, new PromisingError(`${this} was closed while ${task.name} was running.`));
    await slot.worker.terminate();
  }

  /** A worker died: reject only the task it was running, forget it, and let dispatch replace it. */
  #crash(slot: Slot, cause: unknown): void {
    if (slot.exited) return;
    slot.exited = true;
    this.#slots.delete(slot);
    const index = this.#idle.indexOf(slot);
    if (index >= 0) this.#idle.splice(index, 1);
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.server.close();
    const task = slot.task;
    slot.task = null;
    if (task !== null) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      task.outcome.settle(
        false,
        new WorkerCrashedError(
          `The worker thread running ${task.name} died (${reason}). Only this task failed; the pool replaced the worker.`,
          { cause },
        ),
      );
    }
    void slot.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}
