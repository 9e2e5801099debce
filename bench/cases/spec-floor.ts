// Not a library: part of what any implementation of SPEC.md's promise must do per child (a lower bound), to show
// how far below promising-ts a design within the spec could go. Each child is
// - a native Promise subclass instance (SPEC 1: `promising.Promise` extends the native Promise),
//   holding its parent, its work and its state, and keeping its native `resolve`;
// - started at the next microtask, in the async context of whoever created it (SPEC 2.4, and
//   other libraries' AsyncLocalStorage values must reach the work), with itself as the active
//   node in AsyncLocalStorage (SPEC 2.5: what its work creates must become its children);
// - told its work's outcome by one reaction (done(), result() and the tree need it).
// Nothing else: no configuration, no child registry, no failure tracking, no lazy start.

import { AsyncLocalStorage } from "node:async_hooks";
import { type AsyncSystem, runAsyncCase } from "../lib/async-tasks.ts";
import { deferred } from "../lib/deferred.ts";

const active = new AsyncLocalStorage<object>();
const NativePromise = Promise;
const nativeThen = Promise.prototype.then;
const started = NativePromise.resolve();

let capturedResolve: (value: unknown) => void = () => {};
const captureResolve = (resolve: (value: unknown) => void): void => {
  capturedResolve = resolve;
};

class FloorPromise<T> extends NativePromise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return NativePromise;
  }

  readonly parent: object | undefined;
  #work: ((arg: number) => Promise<T>) | null;
  readonly #arg: number;
  readonly #resolve: (value: unknown) => void;
  settled = false;
  value: unknown;

  constructor(work: (arg: number) => Promise<T>, arg: number) {
    super(captureResolve as never);
    this.#resolve = capturedResolve;
    this.parent = active.getStore();
    this.#work = work;
    this.#arg = arg;
    nativeThen.call(started, () => this.#start());
  }

  #start(): void {
    active.enterWith(this);
    const outcome = this.#work!(this.#arg);
    this.#work = null;
    nativeThen.call(
      outcome,
      (value: unknown) => this.#settle(value),
      (error: unknown) => this.#settle(NativePromise.reject(error)),
    );
  }

  #settle(value: unknown): void {
    this.settled = true;
    this.value = value;
    this.#resolve(value);
  }
}

// `await p`, Promise.all and Promise.resolve use `p` itself only when `p.constructor` is the native
// Promise; promising-ts answers that read the same way (core/promise.ts), sparing a wrapper per consumer.
Object.defineProperty(FloorPromise.prototype, "constructor", { value: NativePromise });

const call = <T>(work: (arg: number) => Promise<T>, arg: number): Promise<T> => new FloorPromise(work, arg);

const child = async (i: number): Promise<number> => i;

async function parent(n: number): Promise<number> {
  const children: Promise<number>[] = [];
  for (let i = 0; i < n; i++) children.push(call(child, i));
  let sum = 0;
  for (const value of await Promise.all(children)) sum += value;
  return sum;
}

async function link(depth: number): Promise<number> {
  return depth === 0 ? 0 : await call(link, depth - 1);
}

const system: AsyncSystem = {
  fanOut: (n) => call(parent, n),
  chain: (depth) => call(link, depth),
  pending(n) {
    const gate = deferred<void>();
    let count = 0;
    const waiter = async (i: number): Promise<number> => {
      count++;
      await gate.promise;
      return i;
    };
    const holder = async (): Promise<number> => {
      const children: Promise<number>[] = [];
      for (let i = 0; i < n; i++) children.push(call(waiter, i));
      await gate.promise;
      return (await Promise.all(children)).length;
    };
    const done = call(holder, 0);
    return {
      started: () => count,
      release: () => {
        gate.resolve();
        return done;
      },
    };
  },
};

void runAsyncCase(() => system);
