/**
 * A blocking request/response channel between one worker thread and the thread
 * that serves it (normally the main thread).
 *
 * The worker posts a request on a MessagePort, then blocks in `Atomics.wait` on a
 * small SharedArrayBuffer. The serving thread handles the request on its event
 * loop, posts the answer on the port and bumps a counter in the shared buffer
 * with `Atomics.notify`; the worker wakes up and reads the answer synchronously
 * with `receiveMessageOnPort`. Nothing in the worker's own event loop has to run.
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
 * Wire format (internal; both ends live in this module):
 *   worker -> server   [seq, message]        seq >= 1 is a request, seq = 0 a fire-and-forget post
 *   server -> worker   [seq, kind, payload]  kind: OK (payload = value), THROWN (payload = a
 *                                            thrown non-error value), ERROR (payload = ErrorRecord)
 */
import { types } from "node:util";
import { MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import * as libraryErrors from "../core/errors.ts";
import { PromisingError, TimeoutError } from "../core/errors.ts";

/** Base class of the errors the channel raises on its own behalf. */
export class SyncChannelError extends PromisingError {}
/** The channel was closed (by either end, or because the other thread went away). */
export class SyncChannelClosedError extends SyncChannelError {}
/** An answer (value or error) could not be structured-cloned to cross to the worker. */
export class SyncChannelCloneError extends SyncChannelError {}

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

/** Answers one request; its value (or the promise's value) is the answer, a throw is rethrown in the worker. */
export type SyncChannelHandler = (request: unknown) => unknown;

export interface SyncChannelServeOptions {
  /**
   * Receives the worker's fire-and-forget messages (`client.post(...)`), in order
   * with its requests. Default: the request handler (its result is dropped).
   * A throw from it is an uncaught exception, as for any `message` listener.
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

/** Builds an Error subclass instance without running its constructor. */
export type ErrorClass = abstract new (...args: any[]) => Error;

export interface SyncChannelClientOptions {
  /**
   * Error classes to rebuild by name (`constructor.name`, else `error.name`), in
   * addition to the built-in ones and the library's own errors.
   */
  errorClasses?: Iterable<ErrorClass>;
}

// Layout of the shared Int32Array.
/** Bumped (and notified) after every answer the server posts, and on close. */
const NOTIFY = 0;
/** 1 once the channel is closed. */
const CLOSED = 1;
const STATE_INTS = 2;

const POST_SEQ = 0;
const OK = 0;
const THROWN = 1;
const ERROR = 2;

/**
 * Longest single `Atomics.wait`: close() wakes a waiting worker at once, the
 * slice only bounds the damage if a wake-up is ever lost.
 */
const WAIT_SLICE_MS = 1_000;
/** How deep causes / aggregated errors are encoded. */
const MAX_ERROR_DEPTH = 8;

type Encoded =
  | readonly [kind: typeof THROWN, value: unknown]
  | readonly [kind: typeof ERROR, record: ErrorRecord];

interface ErrorRecord {
  className: string;
  name: string;
  message: string;
  stack: string | undefined;
  cause?: Encoded;
  errors?: Encoded[];
  props?: Record<string, unknown>;
}

type Request = [seq: number, message: unknown];
type Answer =
  | [seq: number, kind: typeof OK, value: unknown]
  | [seq: number, kind: typeof THROWN | typeof ERROR, payload: unknown];

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
  const state = new Int32Array(mainEnd.state);
  const onPost = options.onPost ?? handler;
  let closed = false;
  let pending = 0;

  const wakeWorker = (): void => {
    Atomics.add(state, NOTIFY, 1);
    Atomics.notify(state, NOTIFY);
  };

  const send = (answer: Answer): void => {
    if (closed) return;
    try {
      port.postMessage(answer);
    } catch (error) {
      port.postMessage(uncloneableAnswer(answer, error));
    }
    wakeWorker();
  };

  const settled = (): void => {
    if (--pending === 0 && !closed) port.unref();
  };

  const onMessage = (data: Request): void => {
    const seq = data[0];
    if (seq === POST_SEQ) {
      onPost(data[1]);
      return;
    }
    let result: unknown;
    try {
      result = handler(data[1]);
    } catch (error) {
      send(errorAnswer(seq, error));
      return;
    }
    if (!isThenable(result)) {
      send([seq, OK, result]);
      return;
    }
    if (pending++ === 0) port.ref();
    Promise.resolve(result).then(
      (value) => {
        settled();
        send([seq, OK, value]);
      },
      (error: unknown) => {
        settled();
        send(errorAnswer(seq, error));
      },
    );
  };

  const shutDown = (): void => {
    if (closed) return;
    closed = true;
    Atomics.store(state, CLOSED, 1);
    wakeWorker();
    port.off("message", onMessage);
    port.off("close", shutDown);
    port.close();
  };

  port.on("message", onMessage);
  // Fires when the worker closes its end or exits.
  port.on("close", shutDown);
  port.unref();
  if (Atomics.load(state, CLOSED) !== 0) shutDown();

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

function errorAnswer(seq: number, error: unknown): Answer {
  const [kind, payload] = encodeThrown(error, 0);
  return [seq, kind, payload];
}

/** The answer could not be posted: explain why instead of leaving the worker waiting. */
function uncloneableAnswer(answer: Answer, cloneError: unknown): Answer {
  const [seq, kind, payload] = answer;
  if (kind !== OK) {
    // A thrown value: keep what can cross (class, message, stack, cloneable parts).
    const sanitized = sanitize([kind, payload] as Encoded);
    if (isCloneable(sanitized)) return [seq, sanitized[0], sanitized[1]];
  }
  const what = kind === OK ? "value" : "error";
  const error = new SyncChannelCloneError(
    `The ${what} answering a sync-channel request cannot be sent to the worker thread: it cannot be structured-cloned (${describe(cloneError)}).`,
  );
  return [seq, ERROR, encodeError(error, MAX_ERROR_DEPTH)];
}

function encodeThrown(value: unknown, depth: number): Encoded {
  if (depth < MAX_ERROR_DEPTH && (value instanceof Error || types.isNativeError(value))) {
    try {
      return [ERROR, encodeError(value as Error, depth)];
    } catch {
      // A hostile getter: fall through and send the value as it is.
    }
  }
  return [THROWN, value];
}

const RECORD_KEYS = new Set(["name", "message", "stack", "cause", "errors"]);

function encodeError(error: Error, depth: number): ErrorRecord {
  const record: ErrorRecord = {
    className: error.constructor?.name ?? "Error",
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === "string" ? error.stack : undefined,
  };
  if (depth < MAX_ERROR_DEPTH) {
    if ("cause" in error) record.cause = encodeThrown(error.cause, depth + 1);
    const errors = (error as { errors?: unknown }).errors;
    if (Array.isArray(errors)) record.errors = errors.map((item) => encodeThrown(item, depth + 1));
  }
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (RECORD_KEYS.has(key)) continue;
    props ??= {};
    props[key] = (error as unknown as Record<string, unknown>)[key];
  }
  if (props !== undefined) record.props = props;
  return record;
}

/** Drops (or replaces with an explanation) whatever part of an encoded throw cannot be cloned. */
function sanitize(encoded: Encoded): Encoded {
  if (encoded[0] === THROWN) {
    if (isCloneable(encoded[1])) return encoded;
    const error = new SyncChannelCloneError(
      `A thrown value cannot be sent to the worker thread: it cannot be structured-cloned (${describe(encoded[1])}).`,
    );
    return [ERROR, encodeError(error, MAX_ERROR_DEPTH)];
  }
  const record: ErrorRecord = { ...encoded[1] };
  if (record.cause !== undefined) record.cause = sanitize(record.cause);
  if (record.errors !== undefined) record.errors = record.errors.map(sanitize);
  if (record.props !== undefined) {
    const props: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record.props)) if (isCloneable(value)) props[key] = value;
    record.props = props;
  }
  return [ERROR, record];
}

function isCloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---------------------------------------------------------------------------
// Worker side

const BUILTIN_ERRORS: readonly ErrorClass[] = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];

const LIBRARY_ERRORS: readonly ErrorClass[] = [
  ...(Object.values(libraryErrors) as unknown[]).filter(
    (value): value is ErrorClass => typeof value === "function" && value.prototype instanceof Error,
  ),
  SyncChannelError,
  SyncChannelClosedError,
  SyncChannelCloneError,
];

/**
 * The worker's end. `request()` blocks the calling thread until the serving thread
 * answers; use it only on a thread other than the one serving the channel (on the
 * serving thread it would wait forever, or until its timeout).
 */
export class SyncChannelClient {
  readonly #port: MessagePort;
  readonly #state: Int32Array;
  readonly #errorClasses = new Map<string, ErrorClass>();
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
    this.#port = workerEnd.port;
    this.#state = new Int32Array(workerEnd.state);
    for (const ctor of [...BUILTIN_ERRORS, ...LIBRARY_ERRORS, ...(options.errorClasses ?? [])]) {
      this.#errorClasses.set(ctor.name, ctor);
    }
  }

  /** True once either end closed the channel. */
  get closed(): boolean {
    return this.#closed || Atomics.load(this.#state, CLOSED) !== 0;
  }

  /**
   * Sends `message` to the handler and blocks until it answers: returns its value,
   * or throws what it threw. `timeoutMs` (default: none) bounds the wait with a
   * `TimeoutError`; the handler keeps running and its late answer is discarded.
   * Throws `SyncChannelClosedError` when the channel is or gets closed.
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
    const state = this.#state;
    const port = this.#port;
    const seq = ++this.#seq;
    // Read before posting: an answer that lands before we wait changes the value
    // and makes Atomics.wait return at once, so no wake-up is lost.
    let observed = Atomics.load(state, NOTIFY);
    port.postMessage([seq, message] satisfies Request);
    for (;;) {
      let sliceMs = WAIT_SLICE_MS;
      if (deadline !== undefined) sliceMs = Math.max(0, Math.min(sliceMs, deadline - performance.now()));
      Atomics.wait(state, NOTIFY, observed, sliceMs);
      observed = Atomics.load(state, NOTIFY);
      for (
        let received = receiveMessageOnPort(port);
        received !== undefined;
        received = receiveMessageOnPort(port)
      ) {
        const answer = received.message as Answer;
        // Anything else is the late answer of a request that timed out: drop it.
        if (answer[0] === seq) return this.#settle(answer);
      }
      if (Atomics.load(state, CLOSED) !== 0) {
        throw new SyncChannelClosedError(
          "The sync channel was closed while a worker was waiting for an answer.",
        );
      }
      if (deadline !== undefined && performance.now() >= deadline) {
        throw new TimeoutError(`No answer on the sync channel within ${timeoutMs} ms.`);
      }
    }
  }

  /** Sends a fire-and-forget message, delivered in order with requests. */
  post(message: unknown): void {
    this.#checkOpen();
    this.#port.postMessage([POST_SEQ, message] satisfies Request);
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
    if (Atomics.load(this.#state, CLOSED) !== 0) {
      throw new SyncChannelClosedError("The sync channel was closed by the serving thread.");
    }
  }

  #settle(answer: Answer): unknown {
    if (answer[1] === OK) return answer[2];
    throw this.#decode([answer[1], answer[2]] as Encoded);
  }

  #decode(encoded: Encoded): unknown {
    if (encoded[0] === THROWN) return encoded[1];
    const record = encoded[1];
    const error = this.#instantiate(record);
    if (typeof record.stack === "string") define(error, "stack", record.stack);
    if (record.cause !== undefined) define(error, "cause", this.#decode(record.cause));
    if (record.errors !== undefined)
      define(
        error,
        "errors",
        record.errors.map((item) => this.#decode(item)),
      );
    if (record.props !== undefined) Object.assign(error, record.props);
    return error;
  }

  #instantiate(record: ErrorRecord): Error {
    if (record.className === "DOMException" && typeof DOMException === "function") {
      return new DOMException(record.message, record.name);
    }
    const ctor = this.#errorClasses.get(record.className) ?? this.#errorClasses.get(record.name) ?? Error;
    // A genuine native error with the class's prototype, without running its
    // constructor (which may want other arguments or have side effects).
    const error: Error = Reflect.construct(Error, [record.message], ctor);
    if (error.name !== record.name) define(error, "name", record.name);
    return error;
  }
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}
