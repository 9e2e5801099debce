/**
 * A blocking request/response channel between one worker thread and the thread
 * that serves it (normally the main thread).
 *
 * The worker posts a request on a MessagePort, then blocks in `Atomics.wait` on a
 * small SharedArrayBuffer. The serving thread handles the request on its event
 * loop, posts the answer on the port, records the answer's sequence number and
 * kind in the shared buffer and wakes the worker with `Atomics.notify`; the worker
 * reads the answer synchronously with `receiveMessageOnPort`. Nothing in the
 * worker's own event loop has to run.
 *
 * Usage:
 *
 *     // serving thread, once per worker
 *     const channel = createSyncChannel();
 *     const worker = new Worker(url, {
 *       workerData: { channel: channel.workerEnd },
 *       transferList: channel.transferList,
 *     });
 *     const server = serveSyncChannel(channel.mainEnd, async (request) => answer(request));
 *
 *     // worker
 *     const client = new SyncChannelClient(workerData.channel);
 *     const value = client.request({ op: "sync", id: 3 }, 5_000);
 *
 * Protocol (internal; both ends live in this module). Payloads travel bare, without
 * an envelope: wrapping them costs about 1 µs of structured clone per message,
 * ~10% of a round trip.
 *   - worker -> server: a request is the message itself, unless it is an array, which
 *     travels as [REQUEST, message]; a post travels as [POST, message]. Requests are
 *     numbered 1, 2, ... on both sides by counting (the worker has at most one
 *     outstanding: it blocks).
 *   - server -> worker: the payload only (the value, or a thrown value encoded by
 *     error-transfer.ts, the codec the pool uses too). The
 *     server then stores the kind in KIND and the request number in ANSWERED, and
 *     notifies ANSWERED.
 *   - Answers are posted in increasing request order: the server drops the answer of
 *     a request once a later one has arrived (the worker gave up on it). So when the
 *     worker sees ANSWERED === its request number, the answer is the last message in
 *     the port's queue, and any message before it is the late answer of a request
 *     that timed out.
 *   - Closing stores ~ANSWERED (a negative number, which keeps the last answered
 *     number recoverable) and notifies, so a waiting worker wakes up at once.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { PromisingError, SyncUsageError, TimeoutError } from "../core/errors.ts";
import {
  decodeThrown,
  describe,
  type ErrorClass,
  encodeThrown,
  errorClassMap,
  type TransferredValue,
} from "./error-transfer.ts";
import { SpinThenWait } from "./spin-wait.ts";

/**
 * A blocked worker watches for its answer for up to 100 µs (spin-wait.ts): an idle main thread
 * answers a `.sync()` on quick work in 40 to 60 µs here, its own wake-up included.
 */
const answerWait = new SpinThenWait(100);

/** Messages the serving side handles per 'message' event (see serveSyncChannel). */
const DRAIN_PER_TURN = 256;

/** Base class of the errors the channel raises on its own behalf. */
export class SyncChannelError extends PromisingError {}
/** The channel was closed (by either end, or because the other thread went away). */
export class SyncChannelClosedError extends SyncChannelError {}
/** An answer (value or error) could not be structured-cloned to cross to the worker. */
export class SyncChannelCloneError extends SyncChannelError {}
/**
 * The channel's own timeout: no answer within `timeoutMs`. A subclass, so that callers tell it
 * apart from a TimeoutError that is the answer (a promise that rejected with one).
 */
export class SyncChannelTimeoutError extends TimeoutError {}

/** What the worker needs; send it in `workerData` with `transferList` (it holds a MessagePort). */
export interface SyncChannelWorkerEnd {
  readonly port: MessagePort;
  readonly state: SharedArrayBuffer;
}

/** The serving side; pass it to {@link serveSyncChannel}. */
export interface SyncChannelMainEnd {
  readonly port: MessagePort;
  readonly state: SharedArrayBuffer;
}

export interface SyncChannel {
  readonly mainEnd: SyncChannelMainEnd;
  readonly workerEnd: SyncChannelWorkerEnd;
  /** `[workerEnd.port]`: the `transferList` for `new Worker(...)` or `postMessage`. */
  readonly transferList: [MessagePort];
}

/**
 * Answers one request; its value (or the promise's value, or what a {@link LaterAnswer}
 * settles with) is the answer, a throw is rethrown in the worker.
 */
export type SyncChannelHandler = (request: unknown) => unknown;

/**
 * An answer the handler gives later through a callback. Unlike returning a promise it costs no
 * microtask hops: the worker is woken in the same job that settles the answer, which is most of
 * a blocking round trip's overhead on the serving side.
 */
export class LaterAnswer {
  constructor(
    /** Called once, at once, with the function that sends the answer (`ok` false: `value` is thrown). */
    readonly start: (settle: (ok: boolean, value: unknown) => void) => void,
  ) {}
}

export interface SyncChannelServeOptions {
  /**
   * Receives the worker's fire-and-forget messages (`client.post(...)`), in order
   * with its requests. Default: the request handler (its result is dropped).
   * A throw from it is an uncaught exception and a rejection an unhandled one, as
   * for any `message` listener.
   */
  onPost?: (message: unknown) => void;
}

export interface SyncChannelServer extends Disposable {
  /** True once either end closed the channel or the worker went away. */
  readonly closed: boolean;
  /** Requests whose (async) handler has not settled yet. */
  readonly pending: number;
  /**
   * Closes the channel: a worker blocked in `request()` (now or later) fails fast
   * with `SyncChannelClosedError`, and answers of still-running handlers are dropped.
   * Idempotent.
   */
  close(): void;
}

/** An error class the worker can rebuild (matched by name; its constructor is not run). */
export type { ErrorClass };

export interface SyncChannelClientOptions {
  /**
   * Error classes to rebuild by name (`constructor.name`, else `error.name`), in
   * addition to the built-in ones and the library's own errors.
   */
  errorClasses?: Iterable<ErrorClass>;
}

// Layout of the shared Int32Array (written by the server only).
/** Number of the request answered last; ~that number once the channel is closed. */
const ANSWERED = 0;
/** Kind of that answer: OK or THROWN. */
const KIND = 1;
const STATE_INTS = 2;

/** First element of an enveloped worker -> server message. */
const POST = 0;
const REQUEST = 1;
/** Request numbers wrap around within positive int32s; only equality is ever tested. */
const MAX_SEQ = 0x7fff_ffff;
const nextSeq = (seq: number): number => (seq === MAX_SEQ ? 1 : seq + 1);

const OK = 0;
/** The answer is a thrown value, encoded by error-transfer.ts. */
const THROWN = 1;

/**
 * Longest single `Atomics.wait`: close() wakes a waiting worker at once, the
 * slice only bounds the damage if a wake-up is ever lost.
 */
const WAIT_SLICE_MS = 1_000;
type Kind = typeof OK | typeof THROWN;

export function createSyncChannel(): SyncChannel {
  const { port1, port2 } = new MessageChannel();
  const state = new SharedArrayBuffer(STATE_INTS * Int32Array.BYTES_PER_ELEMENT);
  return {
    mainEnd: { port: port1, state },
    workerEnd: { port: port2, state },
    transferList: [port2],
  };
}

// ---------------------------------------------------------------------------
// Serving side

const served = new WeakSet<MessagePort>();
/** Shared states served by this thread: a client on one of them here would deadlock. */
const servedStates = new WeakSet<SharedArrayBuffer>();

/**
 * Answers the worker's requests with `handler` until closed. The port is unref'd:
 * an idle channel never keeps the event loop alive, one with a request in flight
 * (async handler) does, since a worker is blocked waiting for it.
 */
export function serveSyncChannel(
  mainEnd: SyncChannelMainEnd,
  handler: SyncChannelHandler,
  options: SyncChannelServeOptions = {},
): SyncChannelServer {
  if (typeof handler !== "function") throw new TypeError("serveSyncChannel: handler must be a function.");
  const { port } = mainEnd;
  if (served.has(port)) throw new SyncChannelError("serveSyncChannel: this channel is already being served.");
  served.add(port);
  servedStates.add(mainEnd.state);
  const state = new Int32Array(mainEnd.state);
  const onPost = options.onPost ?? handler;
  let closed = false;
  let pending = 0;
  /** Number of the last request received. */
  let received = 0;

  const answer = (seq: number, kind: Kind, payload: unknown): void => {
    // A later request has arrived: the worker gave up on this one (timeout).
    if (closed || seq !== received) return;
    try {
      port.postMessage(payload);
    } catch (error) {
      // Thrown values are encoded to be cloneable; a value that is not gets an explanation.
      kind = THROWN;
      payload = explainUncloneableAnswer(error);
      port.postMessage(payload);
    }
    Atomics.store(state, KIND, kind);
    Atomics.store(state, ANSWERED, seq);
    Atomics.notify(state, ANSWERED);
  };

  const answerThrown = (seq: number, error: unknown): void => {
    answer(seq, THROWN, encodeThrown(error, explainUncloneableThrow));
  };

  const settled = (): void => {
    if (--pending === 0 && !closed) port.unref();
  };

  const onMessage = (data: unknown): void => {
    handle(data);
    // Take what else the worker has queued in this turn: receiving a message synchronously
    // costs far less than dispatching a 'message' event for it, and a busy pool worker sends
    // many (one per finished task). Bounded, so a flooding worker cannot starve the event loop.
    for (let taken = 1; taken < DRAIN_PER_TURN && !closed; taken++) {
      const next = receiveMessageOnPort(port);
      if (next === undefined) return;
      handle(next.message);
    }
  };

  const handle = (data: unknown): void => {
    let request = data;
    if (Array.isArray(data)) {
      if (data[0] === POST) {
        onPost(data[1]);
        return;
      }
      request = data[1];
    }
    const seq = (received = nextSeq(received));
    let result: unknown;
    try {
      result = handler(request);
    } catch (error) {
      answerThrown(seq, error);
      return;
    }
    if (result instanceof LaterAnswer) {
      if (pending++ === 0) port.ref();
      let done = false;
      const settle = (ok: boolean, value: unknown): void => {
        if (done) return;
        done = true;
        settled();
        if (ok) answer(seq, OK, value);
        else answerThrown(seq, value);
      };
      try {
        result.start(settle);
      } catch (error) {
        settle(false, error);
      }
      return;
    }
    if (!isThenable(result)) {
      answer(seq, OK, result);
      return;
    }
    if (pending++ === 0) port.ref();
    Promise.resolve(result).then(
      (value) => {
        settled();
        answer(seq, OK, value);
      },
      (error: unknown) => {
        settled();
        answerThrown(seq, error);
      },
    );
  };

  const shutDown = (): void => {
    if (closed) return;
    closed = true;
    const answered = Atomics.load(state, ANSWERED);
    if (answered >= 0) Atomics.store(state, ANSWERED, ~answered);
    Atomics.notify(state, ANSWERED);
    port.off("message", onMessage);
    port.off("messageerror", shutDown);
    port.off("close", shutDown);
    port.close();
  };

  port.on("message", onMessage);
  // A message that cannot be deserialized leaves no way to tell a request from a
  // post, so the request count could no longer be trusted: close (the worker fails
  // fast) rather than risk answering the wrong request.
  port.on("messageerror", shutDown);
  // Fires when the worker closes its end or exits.
  port.on("close", shutDown);
  port.unref();
  if (Atomics.load(state, ANSWERED) < 0) shutDown();

  return {
    get closed() {
      return closed;
    },
    get pending() {
      return pending;
    },
    close: shutDown,
    [Symbol.dispose]: shutDown,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The value answering a request could not be posted: an explanation instead of leaving the worker waiting. */
function explainUncloneableAnswer(cloneError: unknown): TransferredValue {
  return encodeThrown(
    new SyncChannelCloneError(
      `The value answering a sync-channel request cannot be sent to the worker thread: it cannot be structured-cloned (${describe(cloneError)}).`,
    ),
  );
}

const explainUncloneableThrow = (value: unknown): Error =>
  new SyncChannelCloneError(
    `A thrown value cannot be sent to the worker thread: it cannot be structured-cloned (${describe(value)}).`,
  );

// ---------------------------------------------------------------------------
// Worker side

const clientPorts = new WeakSet<MessagePort>();

/**
 * The worker's end. `request()` blocks the calling thread until the serving thread
 * answers; use it only on a thread other than the one serving the channel (on the
 * serving thread it would wait forever, or until its timeout).
 */
export class SyncChannelClient {
  readonly #port: MessagePort;
  readonly #state: Int32Array;
  readonly #errorClasses: ReadonlyMap<string, ErrorClass>;
  readonly #sharedState: SharedArrayBuffer;
  #seq = 0;
  #closed = false;

  constructor(workerEnd: SyncChannelWorkerEnd, options: SyncChannelClientOptions = {}) {
    if (
      workerEnd === null ||
      typeof workerEnd !== "object" ||
      !(workerEnd.state instanceof SharedArrayBuffer)
    ) {
      throw new TypeError("SyncChannelClient: expected the `workerEnd` of createSyncChannel().");
    }
    // Two clients would number their requests independently on one port.
    if (clientPorts.has(workerEnd.port)) {
      throw new SyncChannelError("SyncChannelClient: this channel end already has a client; share that one.");
    }
    clientPorts.add(workerEnd.port);
    this.#port = workerEnd.port;
    this.#sharedState = workerEnd.state;
    this.#state = new Int32Array(workerEnd.state);
    this.#errorClasses = errorClassMap([
      SyncChannelError,
      SyncChannelClosedError,
      SyncChannelCloneError,
      ...(options.errorClasses ?? []),
    ]);
  }

  /** True once either end closed the channel. */
  get closed(): boolean {
    return this.#closed || Atomics.load(this.#state, ANSWERED) < 0;
  }

  /**
   * Sends `message` to the handler and blocks until it answers: returns its value,
   * or throws what it threw. `timeoutMs` (default: none) bounds the wait with a
   * `TimeoutError`; the handler keeps running and its late answer is discarded.
   * Throws `SyncChannelClosedError` when the channel is or gets closed, and
   * `SyncUsageError` on the thread that serves the channel (it would deadlock).
   * (An array message costs a little more: it travels in an envelope.)
   */
  request(message: unknown, timeoutMs?: number): unknown {
    let deadline: number | undefined;
    if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
      if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
        throw new TypeError(
          `SyncChannelClient.request: timeoutMs must be a number >= 0; got ${String(timeoutMs)}.`,
        );
      }
      deadline = performance.now() + timeoutMs;
    }
    this.#checkOpen();
    if (servedStates.has(this.#sharedState)) {
      throw new SyncUsageError(
        "SyncChannelClient.request: this thread serves the channel, so blocking on it here would deadlock; call it from the worker thread.",
      );
    }
    const state = this.#state;
    const seq = nextSeq(this.#seq);
    this.#port.postMessage(Array.isArray(message) ? [REQUEST, message] : message);
    // Counted only once sent: the server counts the requests it receives.
    this.#seq = seq;
    for (;;) {
      const answered = Atomics.load(state, ANSWERED);
      // ~seq: answered, then closed.
      if (answered === seq || answered === ~seq) return this.#take();
      if (answered < 0) {
        throw new SyncChannelClosedError(
          "The sync channel was closed while a worker was waiting for an answer.",
        );
      }
      let sliceMs = WAIT_SLICE_MS;
      if (deadline !== undefined) {
        const remainingMs = deadline - performance.now();
        if (remainingMs <= 0)
          throw new SyncChannelTimeoutError(`No answer on the sync channel within ${timeoutMs} ms.`);
        if (remainingMs < sliceMs) sliceMs = remainingMs;
      }
      // Returns at once if ANSWERED moved since the load above: no wake-up is lost.
      answerWait.wait(state, ANSWERED, answered, sliceMs);
    }
  }

  /** Sends a fire-and-forget message, delivered in order with requests. */
  post(message: unknown): void {
    this.#checkOpen();
    this.#port.postMessage([POST, message]);
  }

  /** Closes the worker's end; the server sees the channel closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new SyncChannelClosedError("This sync channel client is closed.");
    if (Atomics.load(this.#state, ANSWERED) < 0) {
      throw new SyncChannelClosedError("The sync channel was closed by the serving thread.");
    }
  }

  /** Reads the answer to the current request, which the server has just recorded. */
  #take(): unknown {
    const port = this.#port;
    // It is the last message queued; any before it is the late answer of a request
    // that timed out, posted before the server saw the next request.
    let last = receiveMessageOnPort(port);
    for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
      last = next;
    }
    if (last === undefined)
      throw new SyncChannelError("Internal error: the sync channel's answer is missing.");
    const kind = Atomics.load(this.#state, KIND);
    if (kind === OK) return last.message;
    throw decodeThrown(last.message as TransferredValue, this.#errorClasses);
  }
}
