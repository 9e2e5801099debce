/**
 * ThreadPool: the pool that runs `useThreadPool: true` functions on worker threads.
 * Creating one starts no thread; workers start on first use.
 */
import { availableParallelism } from "node:os";
import type { ThreadPoolLike } from "../core/thread-contract.ts";

export interface ThreadPoolOptions {
  /** Upper bound of worker threads. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Workers kept alive when idle (started early, for a warm pool). Default 0. */
  minThreads?: number;
  /** How long an idle worker above `minThreads` lives. Default 30 000 ms. */
  idleTimeoutMs?: number;
}

function checkCount(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new TypeError(`ThreadPool: ${name} must be an integer >= ${min}; got ${String(value)}.`);
  }
  return value;
}

export class ThreadPool implements ThreadPoolLike, AsyncDisposable {
  readonly maxThreads: number;
  readonly minThreads: number;
  readonly idleTimeoutMs: number;
  #closed = false;

  constructor(options: ThreadPoolOptions = {}) {
    if (options === null || typeof options !== "object")
      throw new TypeError("ThreadPool: options must be an object.");
    for (const key of Object.keys(options)) {
      if (!["maxThreads", "minThreads", "idleTimeoutMs"].includes(key)) {
        throw new TypeError(
          `ThreadPool: unknown option "${key}". Accepted options: maxThreads, minThreads, idleTimeoutMs.`,
        );
      }
    }
    this.maxThreads = checkCount("maxThreads", options.maxThreads, 1) ?? Math.max(1, availableParallelism());
    this.minThreads = checkCount("minThreads", options.minThreads, 0) ?? 0;
    this.idleTimeoutMs = checkCount("idleTimeoutMs", options.idleTimeoutMs, 0) ?? 30_000;
    if (this.minThreads > this.maxThreads) {
      throw new TypeError(
        `ThreadPool: minThreads (${this.minThreads}) cannot exceed maxThreads (${this.maxThreads}).`,
      );
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every worker once running tasks finish. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `ThreadPool(maxThreads=${this.maxThreads})`;
  }
}
