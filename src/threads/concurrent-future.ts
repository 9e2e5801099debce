/**
 * PromiseBackedConcurrentFuture: a view of a promise that a worker thread the user started
 * can block on, like `concurrent.futures.Future` in Python (SPEC section 3).
 *
 * The view is a plain, cloneable pair: a SharedArrayBuffer whose first cell says whether the
 * outcome is ready, and a MessagePort on which the main thread posts the outcome once. The
 * worker blocks with `Atomics.wait` on the cell and reads the outcome with
 * `receiveMessageOnPort`, so it needs no event loop turn.
 */
import { isMainThread, MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { SyncUsageError, TimeoutError } from "../core/errors.ts";
import type { PromisingPromise } from "../core/promise.ts";
import type { ConcurrentFuture } from "../core/thread-contract.ts";
import {
  decodeThrown,
  type ErrorClass,
  encodeThrown,
  errorClassMap,
  type TransferredValue,
} from "./error-transfer.ts";
import { WorkerCrashedError } from "./pool.ts";
import { checkTimeoutMs } from "./timeouts.ts";

const PENDING = 0;
const READY = 1;
/** Cell 0: PENDING / READY. Cell 1: set to 1 once the worker asked the promise to start. */
const CELLS = 2;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * How `result()` / `exception()` wait in a thread that may block on the promise itself (a pool
 * worker): `what` names the call, for errors. Throws `TimeoutError` when `timeoutMs` runs out.
 */
export type FutureBlocker = (what: string, timeoutMs: number | undefined) => Outcome;
/** What crosses: an error travels encoded, so that it keeps its class, stack and promise trace. */
type SentOutcome = { ok: true; value: unknown } | { ok: false; error: TransferredValue };

/** The classes errors are rebuilt as in the receiving worker (built-in and promising-ts ones). */
let errorClasses: ReadonlyMap<string, ErrorClass> | null = null;

export interface ConcurrentFutureData {
  readonly signal: SharedArrayBuffer;
  readonly port: MessagePort;
}

export interface FutureWaitOptions {
  /** Give up after this many milliseconds with `TimeoutError`; `null`, `Infinity` or absent: wait without limit. */
  timeoutMs?: number | null;
}

export class PromiseBackedConcurrentFuture<T = unknown> implements ConcurrentFutureData, ConcurrentFuture<T> {
  readonly signal: SharedArrayBuffer;
  readonly port: MessagePort;
  /** Pass as `transferList` when handing the future to a worker. */
  readonly transferList: MessagePort[];
  #promise: PromisingPromise<T> | null;
  #outcome: Outcome | null = null;
  /** Set where blocking on `#promise` is possible (a pool worker's view of a promise). */
  #blocker: FutureBlocker | null = null;

  private constructor(data: ConcurrentFutureData, promise: PromisingPromise<T> | null) {
    this.signal = data.signal;
    this.port = data.port;
    this.transferList = [data.port];
    this.#promise = promise;
  }

  /**
   * @internal Creates the view of `promise` in the thread that has it. With `blocker` (a pool
   * worker), `result()` / `exception()` wait through it; without (the main thread), they throw
   * `SyncUsageError`.
   */
  static _forPromise<T>(
    promise: PromisingPromise<T>,
    blocker: FutureBlocker | null = null,
  ): PromiseBackedConcurrentFuture<T> {
    const signal = new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT);
    const { port1, port2 } = new MessageChannel();
    const cells = new Int32Array(signal);
    // The owner's end: start on request, post the outcome once, never keep the process alive.
    port1.on("message", () => {
      promise.then(undefined, () => {}); // consuming starts a deferred promise
    });
    port1.unref();
    const deliver = () => {
      let outcome: SentOutcome;
      try {
        outcome = { ok: true, value: promise.result() };
      } catch (error) {
        outcome = { ok: false, error: encodeThrown(error) };
      }
      try {
        port1.postMessage(outcome);
      } catch (cloneFailure) {
        port1.postMessage({
          ok: false,
          error: encodeThrown(
            new TypeError(
              `The value of ${promise} cannot be sent to the worker thread: it cannot be structured-cloned ` +
                `(${(cloneFailure as Error).message}). Resolve the promise to plain data to block on it from another thread.`,
            ),
          ),
        } satisfies SentOutcome);
      }
      Atomics.store(cells, 0, READY);
      Atomics.notify(cells, 0);
      port1.close();
    };
    promise._whenDone(deliver);
    const future = new PromiseBackedConcurrentFuture({ signal, port: port2 }, promise as PromisingPromise<T>);
    future.#blocker = blocker;
    return future;
  }

  /** Rebuilds the future in the worker that received `workerData.future`. */
  static from<T = unknown>(data: ConcurrentFutureData): PromiseBackedConcurrentFuture<T> {
    if (
      data === null ||
      typeof data !== "object" ||
      !(data.signal instanceof SharedArrayBuffer) ||
      typeof (data.port as Partial<MessagePort>)?.postMessage !== "function"
    ) {
      throw new TypeError(
        "PromiseBackedConcurrentFuture.from expects the object produced by promise.asConcurrentFuture() " +
          "(pass it in workerData with transferList: future.transferList).",
      );
    }
    if (data instanceof PromiseBackedConcurrentFuture) return data as PromiseBackedConcurrentFuture<T>;
    return new PromiseBackedConcurrentFuture<T>(data, null);
  }

  /** Whether the outcome is available (never blocks). */
  done(): boolean {
    if (this.#promise !== null) return this.#promise.done();
    return Atomics.load(new Int32Array(this.signal), 0) === READY;
  }

  /** Blocks this worker thread until the promise settles; returns its value or throws its error. */
  result(options: FutureWaitOptions = {}): T {
    const outcome = this.#wait("result()", options.timeoutMs);
    if (outcome.ok) return outcome.value as T;
    throw outcome.error;
  }

  /** Blocks until the promise settles; returns its error, or `undefined` when it fulfilled. */
  exception(options: FutureWaitOptions = {}): unknown {
    const outcome = this.#wait("exception()", options.timeoutMs);
    return outcome.ok ? undefined : outcome.error;
  }

  #wait(what: string, timeoutOption: number | null | undefined): Outcome {
    // Checked first, so that a bad value fails the same way whether or not the outcome is known.
    const timeoutMs = checkTimeoutMs(timeoutOption, `concurrentFuture.${what}`);
    if (this.#outcome !== null) return this.#outcome;
    if (this.#promise !== null && this.#blocker !== null) {
      const outcome = this.#blocker(`concurrentFuture.${what}`, timeoutMs);
      this.#outcome = outcome;
      return outcome;
    }
    if (this.#promise !== null || isMainThread) {
      throw new SyncUsageError(
        `concurrentFuture.${what} would block the thread that runs the event loop, which deadlocks. ` +
          "Await the promise here; hand the future to a worker thread to block there.",
      );
    }
    const cells = new Int32Array(this.signal);
    if (Atomics.load(cells, 0) !== READY && Atomics.compareExchange(cells, 1, 0, 1) === 0) {
      this.port.postMessage("start");
    }
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    while (Atomics.load(cells, 0) !== READY) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(`concurrentFuture.${what} timed out after ${timeoutMs} ms.`);
      Atomics.wait(cells, 0, PENDING, remaining === Number.POSITIVE_INFINITY ? undefined : remaining);
    }
    const message = receiveMessageOnPort(this.port);
    if (message === undefined) {
      throw new TimeoutError(
        `concurrentFuture.${what}: the outcome was already taken by another copy of this future.`,
      );
    }
    const sent = message.message as SentOutcome;
    errorClasses ??= errorClassMap([WorkerCrashedError]);
    this.#outcome = sent.ok ? sent : { ok: false, error: decodeThrown(sent.error, errorClasses) };
    this.port.close();
    return this.#outcome;
  }
}
