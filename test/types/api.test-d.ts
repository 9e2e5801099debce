// Type-level tests of the public API (SPEC 1, 4.1–4.4). Checked by `tsc -p tsconfig.json --noEmit`
// (npm run typecheck); vitest does not run this file (its name is not *.test.ts), and nothing here
// is meant to execute: values are `declare`d or built inside functions that are never called.
import { expectTypeOf } from "expect-type";
import * as promising from "../../src/index.ts";

// ---- promising.function: parameters and the unpacked return type ----

function decoratedAsync() {
  const f = promising.function(async (x: number) => `s${x}`);
  expectTypeOf(f).parameters.toEqualTypeOf<[x: number]>();
  expectTypeOf(f).returns.toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(f).toBeCallableWith(1);
  expectTypeOf(f).toExtend<(x: number) => promising.Promise<string>>();
  expectTypeOf(f(1)).toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(f).toExtend<promising.PromisingFunction>();

  // @ts-expect-error a string is not a number
  f("one");
  // @ts-expect-error arity is kept
  f();

  // `fn` is the same object as `function`.
  expectTypeOf(promising.fn).toEqualTypeOf(promising.function);
}

declare const nestedNative: Promise<Promise<number>>;

function nestedPromisesAreUnpacked() {
  // An async function returning a promise of a promise.
  const a = promising.function(async () => Promise.resolve(Promise.resolve(1)));
  expectTypeOf(a()).toEqualTypeOf<promising.Promise<number>>();

  // A sync function returning a promising.Promise (its one-level layer) or a nested native promise.
  const inner = promising.function(async () => 1);
  const b = promising.function({ useThreadPool: false }, () => inner());
  expectTypeOf(b()).toEqualTypeOf<promising.Promise<number>>();
  const c = promising.function({ useThreadPool: false }, () => nestedNative);
  expectTypeOf(c()).toEqualTypeOf<promising.Promise<number>>();
  const d = promising.function({ useThreadPool: true }, (): promising.Promise<promising.Promise<number>> => {
    throw new Error("type test only");
  });
  expectTypeOf(d()).toEqualTypeOf<promising.Promise<number>>();
  expectTypeOf(d.run()).toEqualTypeOf<Promise<number>>();
}

function withRunAndOptionForms() {
  const f = promising.function(async (x: number, label?: string) => ({ x, label }));
  type Result = { x: number; label: string | undefined };

  // .with() keeps the signature and chains.
  const later = f.with({ startSoon: false });
  expectTypeOf(later).parameters.toEqualTypeOf<[x: number, label?: string]>();
  expectTypeOf(later).returns.toEqualTypeOf<promising.Promise<Result>>();
  expectTypeOf(later.with({ startSoon: promising.UNCHANGED, namespace: null })).toEqualTypeOf(later);
  expectTypeOf(f.with({ startSoon: null, childrenStartSoon: promising.INHERIT })(1, "a")).toEqualTypeOf<
    promising.Promise<Result>
  >();

  // .run() returns a native Promise of the unpacked value.
  expectTypeOf(f.run(1)).toEqualTypeOf<Promise<Result>>();
  expectTypeOf(f.with({ startSoon: false }).run(1, "a")).toEqualTypeOf<Promise<Result>>();
  // @ts-expect-error run() keeps the parameters too
  f.run("1");

  // promising.function(options, fn) infers the parameters.
  const g = promising.function({ useThreadPool: false }, (a: string, b: number) => a.length + b);
  expectTypeOf(g).parameters.toEqualTypeOf<[a: string, b: number]>();
  expectTypeOf(g("a", 1)).toEqualTypeOf<promising.Promise<number>>();
  // @ts-expect-error parameters are inferred, not `any`
  g(1, "a");

  // promising.function(options)(fn), with a literal and with a typed variable.
  const h = promising.function({ useThreadPool: true })((a: string) => a.length);
  expectTypeOf(h).parameters.toEqualTypeOf<[a: string]>();
  expectTypeOf(h("a")).toEqualTypeOf<promising.Promise<number>>();
  const options: promising.FunctionOptions = { startSoon: false, namespace: "k" };
  const decorate = promising.function(options);
  expectTypeOf(decorate).toEqualTypeOf<promising.FunctionDecorator>();
  const k = decorate(async (a: boolean) => (a ? 1 : "one"));
  expectTypeOf(k).parameters.toEqualTypeOf<[a: boolean]>();
  expectTypeOf(k(true)).toEqualTypeOf<promising.Promise<1 | "one">>();

  // The decorated original is reachable.
  expectTypeOf(g.original).returns.toEqualTypeOf<number>();

  // The type's second parameter is the value the promise resolves to, whatever the function returns.
  const asyncFn: promising.PromisingFunction<[number], string> = promising.function(
    async (x: number) => `${x}`,
  );
  const syncFn: promising.PromisingFunction<[number], string> = promising.function(
    { useThreadPool: false },
    (x: number) => `${x}`,
  );
  const nested: promising.PromisingFunction<[], number> = promising.function(async () =>
    Promise.resolve(Promise.resolve(1)),
  );
  expectTypeOf(asyncFn(1)).toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(asyncFn.with({ startSoon: false }).run(1)).toEqualTypeOf<Promise<string>>();
  void [syncFn, nested];
  // @ts-expect-error the promise resolves to a string, not a number
  const wrongValue: promising.PromisingFunction<[number], number> = promising.function(
    async (x: number) => `${x}`,
  );
  void wrongValue;
}

// ---- promising.Promise<T> ----

declare const p: promising.Promise<string>;

async function promiseConsumption() {
  expectTypeOf(await p).toEqualTypeOf<string>();
  expectTypeOf(p.unpackOnce()).toEqualTypeOf<Promise<promising.Layer<string>>>();
  const layer = await p.unpackOnce();
  if ("value" in layer) expectTypeOf(layer.value).toEqualTypeOf<string>();
  else expectTypeOf(layer.promise).toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(p.unpackOnceSync({ timeoutMs: 5 })).toEqualTypeOf<string | promising.Promise<string>>();
  expectTypeOf(p.result()).toEqualTypeOf<string>();
  expectTypeOf(p.sync()).toEqualTypeOf<string>();
  expectTypeOf(p.sync({ timeoutMs: 10 })).toEqualTypeOf<string>();
  expectTypeOf(p.done()).toEqualTypeOf<boolean>();
  expectTypeOf(p.error()).toEqualTypeOf<unknown>();
  // @ts-expect-error timeouts are milliseconds as a number
  p.sync({ timeoutMs: "10" });

  // A promising.Promise is a native Promise, a PromiseLike and a PromisingContext.
  expectTypeOf(p).toExtend<Promise<string>>();
  expectTypeOf(p).toExtend<PromiseLike<string>>();
  expectTypeOf(p).not.toExtend<Promise<number>>();
  const native: Promise<string> = p;
  const like: PromiseLike<string> = p;
  void native;
  void like;
  expectTypeOf(p.then((s) => s.length)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(Promise.all([p, 1])).toEqualTypeOf<Promise<[string, number]>>();
  expectTypeOf(p.namespace).toEqualTypeOf<string | null>();
  expectTypeOf(p.awaitChildren()).toEqualTypeOf<Promise<void>>();
  expectTypeOf(p.collectRemainingChildren()).toExtend<
    ReadonlySet<promising.PromisingContext | promising.Promise<unknown>>
  >();
  expectTypeOf(p.getParentContext()).toEqualTypeOf<promising.PromisingContext>();
  expectTypeOf(p.getParentContext({ raiseIfNone: false })).toEqualTypeOf<promising.PromisingContext | null>();
  expectTypeOf(p.formatTrace()).toEqualTypeOf<string[]>();
}

function promiseConstruction() {
  expectTypeOf(new promising.Promise(() => 42)).toEqualTypeOf<promising.Promise<number>>();
  expectTypeOf(new promising.Promise(async () => "a")).toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(new promising.Promise(() => 42, { startSoon: false, parent: null })).toEqualTypeOf<
    promising.Promise<number>
  >();
  expectTypeOf(new promising.Promise(Promise.resolve(true))).toEqualTypeOf<promising.Promise<boolean>>();
  expectTypeOf(new promising.Promise({ prefilledResult: "x" })).toEqualTypeOf<promising.Promise<string>>();
  expectTypeOf(new promising.Promise<number>({ prefilledError: new Error("e") })).toEqualTypeOf<
    promising.Promise<number>
  >();
  // A promise is a PromisingContext at run time (`instanceof` holds, SPEC 1), and it is listed among
  // a context's children, so it must be usable where those children are typed.
  const child = new promising.Promise(() => 1);
  const ctx = new promising.PromisingContext();
  ctx.collectRemainingChildren().has(child);
  // @ts-expect-error the work is a thunk or a thenable, not a plain value
  new promising.Promise(42);
  // @ts-expect-error a prefilled outcome is a result or an error, not both
  new promising.Promise({ prefilledResult: 1, prefilledError: new Error("e") });
}

// ---- promising.context ----

function contexts() {
  const opts: promising.ContextOptions = { namespace: "block", childrenStartSoon: false };
  expectTypeOf(promising.context(opts).run(() => 5)).toEqualTypeOf<number>();
  expectTypeOf(promising.context(opts).run(async () => 5)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(promising.context().run(() => "x")).toEqualTypeOf<string>();
  promising.context({ namespace: "n" }).run((ctx) => {
    expectTypeOf(ctx).toEqualTypeOf<promising.PromisingContext>();
  });
  expectTypeOf(promising.context(opts)).toEqualTypeOf<promising.ContextFactory>();

  // promising.context(fn) and promising.context(options)(fn) keep the function's own signature.
  const wrapped = promising.context((x: number, y: string) => `${x}${y}`);
  expectTypeOf(wrapped).parameters.toEqualTypeOf<[x: number, y: string]>();
  expectTypeOf(wrapped).returns.toEqualTypeOf<string>();
  expectTypeOf(wrapped(1, "a")).toEqualTypeOf<string>();
  expectTypeOf(wrapped.with({ namespace: "other" })(1, "a")).toEqualTypeOf<string>();
  // @ts-expect-error parameters are kept
  wrapped("a", 1);
  const wrappedAsync = promising.context(opts)(async (x: number) => x * 2);
  expectTypeOf(wrappedAsync).parameters.toEqualTypeOf<[x: number]>();
  expectTypeOf(wrappedAsync(1)).toEqualTypeOf<Promise<number>>();

  // An existing context runs blocks too.
  const ctx = new promising.PromisingContext({ parent: null });
  expectTypeOf(ctx.run(() => 1)).toEqualTypeOf<number>();

  // A root context has no parent: with raiseIfNone false the getters may return null.
  expectTypeOf(ctx.getParentContext()).toEqualTypeOf<promising.PromisingContext>();
  expectTypeOf(
    ctx.getParentContext({ raiseIfNone: false }),
  ).toEqualTypeOf<promising.PromisingContext | null>();
  expectTypeOf(ctx.getParentPromise()).toEqualTypeOf<promising.Promise<unknown>>();
  expectTypeOf(
    ctx.getParentPromise({ raiseIfNone: false }),
  ).toEqualTypeOf<promising.Promise<unknown> | null>();
  // @ts-expect-error the result may be null
  const notNull: promising.PromisingContext = ctx.getParentContext({ raiseIfNone: false });
  void notNull;
}

// ---- TC39 standard decorators keep method types ----

class Service {
  constructor(readonly prefix: string) {}

  @promising.fn
  async greet(x: number): Promise<string> {
    return `${this.prefix}${x}`;
  }

  @promising.fn({ startSoon: false })
  async later(a: string, b: number): Promise<number> {
    return a.length + b;
  }

  @promising.fn({ useThreadPool: true })
  static square(n: number): number {
    return n * n;
  }

  @promising.context({ namespace: "scoped" })
  scoped(x: number): string {
    return `${this.prefix}${x}`;
  }

  @promising.function
  async parenthesized(): Promise<void> {}
}

function decoratedMethods() {
  const service = new Service("p");
  expectTypeOf(service.greet(1)).toEqualTypeOf<Promise<string>>();
  expectTypeOf(service.greet).parameters.toEqualTypeOf<[x: number]>();
  expectTypeOf(service.later("a", 1)).toEqualTypeOf<Promise<number>>();
  // TC39 decorators cannot change a member's type: a sync pool method keeps its declared `number`
  // although the call returns a promising.Promise at run time (a documented limitation).
  expectTypeOf(Service.square(3)).toEqualTypeOf<number>();
  expectTypeOf(service.scoped(1)).toEqualTypeOf<string>();
  expectTypeOf(service.parenthesized()).toEqualTypeOf<Promise<void>>();
  // @ts-expect-error the declared parameter type is kept
  service.greet("1");
}

// ---- sentinels and option types ----

function sentinelsAndOptions() {
  expectTypeOf(promising.INHERIT).toExtend<promising.Sentinel>();
  expectTypeOf(promising.UNCHANGED).toExtend<promising.Sentinel>();
  expectTypeOf(promising.PROMISING_DEFAULT).toExtend<promising.Sentinel>();
  expectTypeOf(promising.ASYNCIO_DEFAULT).toExtend<promising.Sentinel>();
  expectTypeOf(promising.RECURSIVELY).toExtend<promising.Sentinel>();
  expectTypeOf(promising.INHERIT.name).toEqualTypeOf<"INHERIT">();

  const ok: promising.FunctionOptions = {
    startSoon: promising.INHERIT,
    childrenStartSoon: null,
    startSoonDefault: promising.PROMISING_DEFAULT,
    threadPool: promising.ASYNCIO_DEFAULT,
    useThreadPool: true,
    module: new URL("file:///x.js"),
    awaitChildren: promising.RECURSIVELY,
    namespace: null,
    parent: null,
  };
  const pool: promising.FunctionOptions = { threadPool: new promising.ThreadPool({ maxThreads: 2 }) };
  void ok;
  void pool;

  // @ts-expect-error startSoon is boolean | null | INHERIT
  promising.function({ startSoon: "yes" }, async () => 1);
  // @ts-expect-error threadPool is a ThreadPool or a sentinel
  promising.function({ threadPool: 3 }, async () => 1);
  // @ts-expect-error only the INHERIT sentinel is a startSoon value
  const wrongSentinel: promising.PromiseOptions = { startSoon: promising.PROMISING_DEFAULT };
  // @ts-expect-error startSoonDefault does not accept null
  const noNull: promising.ContextOptions = { startSoonDefault: null };
  // @ts-expect-error unknown options are rejected
  const unknownKey: promising.FunctionOptions = { startsoon: true };
  // @ts-expect-error useThreadPool is a boolean
  const wrongUse: promising.FunctionOptions = { useThreadPool: "yes" };
  // @ts-expect-error parent is a context, a promise or null
  promising.context({ parent: "root" });
  // @ts-expect-error an object that merely has a namespace is not a context
  promising.context({ parent: { namespace: "fake" } });
  promising.context({ parent: new promising.PromisingContext() });
  promising.context({ parent: new promising.Promise(() => 1) });
  void [wrongSentinel, noNull, unknownKey, wrongUse];

  // Overrides accept UNCHANGED for every key.
  const overrides: promising.FunctionOverrides = {
    startSoon: promising.UNCHANGED,
    threadPool: promising.UNCHANGED,
  };
  void overrides;
  // @ts-expect-error overrides are type-checked too
  promising.function(async () => 1).with({ startSoon: "no" });
}

// ---- module functions, errors, defaults ----

function moduleLevel() {
  expectTypeOf(promising.getActiveContext()).toExtend<promising.PromisingContext | null>();
  expectTypeOf(promising.awaitChildren()).toEqualTypeOf<Promise<void>>();
  expectTypeOf(promising.formatTrace()).toEqualTypeOf<string[]>();
  expectTypeOf(promising.Defaults.START_SOON).toEqualTypeOf<boolean>();
  expectTypeOf(new promising.ContextNotFoundError("m")).toExtend<promising.ContextError>();
  expectTypeOf(new promising.SyncUsageError("m")).toExtend<promising.PromisingError>();
  expectTypeOf(new promising.PromisingError("m")).toExtend<Error>();
  expectTypeOf(new promising.ThreadPool().close()).toEqualTypeOf<Promise<void>>();
}

export {
  concurrentFutureTypes,
  contexts,
  decoratedAsync,
  decoratedMethods,
  moduleLevel,
  nestedPromisesAreUnpacked,
  optionsAcceptExplicitUndefined,
  promiseConstruction,
  promiseConsumption,
  sentinelsAndOptions,
  sentinelsAreNotConstructible,
  threadPoolExecutorType,
  threadPoolOptionIsAThreadPool,
  withRunAndOptionForms,
};

// ---- thread-facing types (found by an audit: the documented usage did not compile) ----

declare const numberPromise: promising.Promise<number>;

function concurrentFutureTypes() {
  const future = numberPromise.asConcurrentFuture();
  expectTypeOf(future).toEqualTypeOf<promising.PromiseBackedConcurrentFuture<number>>();
  // The documented hand-over to a Worker compiles without a cast.
  const options: import("node:worker_threads").WorkerOptions = {
    workerData: { future },
    transferList: future.transferList,
  };
  expectTypeOf(options).toExtend<object>();
  expectTypeOf(future.result({ timeoutMs: null })).toEqualTypeOf<number>();
}

function threadPoolExecutorType() {
  expectTypeOf(numberPromise.getThreadPoolExecutor()).toEqualTypeOf<promising.ThreadPool | null>();
  const ctx = new promising.PromisingContext();
  const pool: promising.ThreadPool | null = ctx.getThreadPoolExecutor();
  expectTypeOf(pool).toEqualTypeOf<promising.ThreadPool | null>();
}

// Consumers compiling with exactOptionalPropertyTypes may pass `undefined` explicitly, which
// SPEC 1 gives the meaning "keep the decoration-time value".
type Explicit<T> = { [K in keyof T]-?: Extract<T[K], undefined> extends never ? "missing undefined" : "ok" };
function optionsAcceptExplicitUndefined() {
  expectTypeOf<Explicit<promising.FunctionOptions>[keyof promising.FunctionOptions]>().toEqualTypeOf<"ok">();
  expectTypeOf<Explicit<promising.PromiseOptions>[keyof promising.PromiseOptions]>().toEqualTypeOf<"ok">();
  expectTypeOf<Explicit<promising.ContextOptions>[keyof promising.ContextOptions]>().toEqualTypeOf<"ok">();
}

function threadPoolOptionIsAThreadPool() {
  // @ts-expect-error any object with close() is not a pool
  promising.function({ threadPool: { close: async () => {} } }, async () => 1);
  promising.function({ threadPool: new promising.ThreadPool() }, async () => 1);
}

function sentinelsAreNotConstructible() {
  // @ts-expect-error only the library's five sentinels exist
  new promising.Sentinel("INHERIT");
  expectTypeOf(promising.INHERIT).toExtend<promising.Sentinel>();
}
