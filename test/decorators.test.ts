// SPEC 2.11 / 4.1 / 4.4: promising.function and promising.context as TC39 standard decorators on
// instance and static methods. The legacy (experimentalDecorators) twin is test/legacy-decorators/.
import { describe, expect, it } from "vitest";
import * as promising from "../src/index.ts";
import { sleep } from "./helpers.ts";

/** A decorator that wraps a method with another async function (so async detection still holds). */
function wrapAsync(log: string[]) {
  return (target: (...args: any[]) => any, context: ClassMethodDecoratorContext) =>
    async function (this: unknown, ...args: unknown[]) {
      log.push(`wrap:${String(context.name)}`);
      return await target.apply(this, args);
    };
}

/** A decorator that only records, returning nothing (the method is kept as is). */
function register(names: string[]) {
  return (_target: unknown, context: ClassMethodDecoratorContext) => {
    names.push(String(context.name));
  };
}

// TypeScript cannot change the declared type of a decorated method, so these views restore the
// runtime types (a method decorated with promising.fn is a PromisingFunction returning a
// promising.Promise; one decorated with promising.context has .with()).
const pp = <T>(p: Promise<T> | T) => p as unknown as promising.Promise<Awaited<T>>;
const pf = <F extends (...args: any[]) => any>(method: F) =>
  method as unknown as promising.PromisingFunction<Parameters<F>, Awaited<ReturnType<F>>>;
const withable = <F extends (...args: any[]) => any>(method: F) =>
  method as unknown as { with(overrides: Record<string, unknown>): F };

const stackLog: string[] = [];
const registered: string[] = [];

class MyService {
  readonly prefix: string;
  constructor(prefix = "svc") {
    this.prefix = prefix;
  }

  @promising.fn
  async fetch(x: number) {
    return { self: this, value: `${this.prefix}:${x}`, ns: promising.getActivePromise().namespace };
  }

  @promising.fn({ startSoon: false })
  async lazy(log: string[]) {
    log.push("lazy ran");
    return this;
  }

  // biome-ignore format: the parentheses are the point (esbuild cannot parse `@promising.function`)
  @(promising.function)
  async viaParens() {
    return this;
  }

  @promising.fn({ useThreadPool: false })
  transform(x: number) {
    return `${this.prefix}-${x}`;
  }

  @promising.fn({ namespace: "custom-ns" })
  async named() {
    return promising.getActivePromise().namespace;
  }

  @promising.fn
  static async utility(x: number) {
    // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
    return { self: this, doubled: x * 2, ns: promising.getActivePromise().namespace };
  }

  @promising.fn
  static async fromConfig(prefix: string) {
    return new this(prefix);
  }

  // stacking, either order
  @wrapAsync(stackLog)
  @promising.fn
  async outerWrapped(x: number) {
    return { self: this, x, ns: promising.getActivePromise().namespace };
  }

  @promising.fn
  @wrapAsync(stackLog)
  async innerWrapped(x: number) {
    return { self: this, x, ns: promising.getActivePromise().namespace };
  }

  @register(registered)
  @promising.fn
  async registeredOuter() {
    return this;
  }

  @promising.fn
  @register(registered)
  async registeredInner() {
    return this;
  }

  @wrapAsync(stackLog)
  @promising.fn
  static async staticOuterWrapped() {
    // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
    return { self: this, ns: promising.getActivePromise().namespace };
  }

  @promising.fn
  @wrapAsync(stackLog)
  static async staticInnerWrapped() {
    // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
    return { self: this, ns: promising.getActivePromise().namespace };
  }

  // promising.context on methods
  @promising.context({ childrenStartSoon: false })
  async scoped(log: string[]) {
    const ctx = promising.getActiveContext();
    const child = promising.function(async function scopedChild() {
      log.push("child ran");
    })();
    await sleep(5);
    const startedEarly = log.includes("child ran");
    await child;
    return { self: this, ctx, startedEarly };
  }

  @promising.context
  syncScoped(x: number) {
    return { self: this, x, ctx: promising.getActiveContext() };
  }

  @promising.context({ namespace: "static-ctx" })
  static async staticScoped() {
    // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
    return { self: this, ctx: promising.getActiveContext() };
  }
}

describe("TC39 decorators: @promising.fn on instance methods", () => {
  it("returns a promising.Promise, keeps this, namespace Class.method", async () => {
    const svc = new MyService("one");
    const p = pp(svc.fetch(1));
    expect(p).toBeInstanceOf(promising.Promise);
    const r = await p;
    expect(r.self).toBe(svc);
    expect(r.value).toBe("one:1");
    expect(r.ns).toBe("MyService.fetch");
    expect(p.namespace).toBe("MyService.fetch");
  });

  it("keeps this per instance", async () => {
    const a = new MyService("a");
    const b = new MyService("b");
    const [ra, rb] = await Promise.all([a.fetch(1), b.fetch(2)]);
    expect(ra.self).toBe(a);
    expect(rb.self).toBe(b);
    expect([ra.value, rb.value]).toEqual(["a:1", "b:2"]);
  });

  it("@promising.fn(options) applies the options", async () => {
    const svc = new MyService();
    const log: string[] = [];
    const p = svc.lazy(log);
    await sleep(5);
    expect(log).toEqual([]);
    expect(await p).toBe(svc);
    expect(log).toEqual(["lazy ran"]);
    expect(await svc.named()).toBe("custom-ns");
  });

  it("@(promising.function) works and is the same object as promising.fn", async () => {
    expect(promising.fn).toBe(promising.function);
    const svc = new MyService();
    const p = pp(svc.viaParens());
    expect(p).toBeInstanceOf(promising.Promise);
    expect(await p).toBe(svc);
    expect(p.namespace).toBe("MyService.viaParens");
  });

  it("a sync method with useThreadPool: false keeps this", async () => {
    const svc = new MyService("sync");
    const p = pp(svc.transform(3));
    expect(p).toBeInstanceOf(promising.Promise);
    expect(await p).toBe("sync-3");
    expect(p.namespace).toBe("MyService.transform");
  });

  it("svc.method.with({ startSoon: false })(x) keeps this === svc and defers", async () => {
    const a = new MyService("a");
    const b = new MyService("b");
    const withA = pf(a.fetch).with({ startSoon: false });
    const withB = pf(b.fetch).with({ startSoon: false });
    expect(withA).toBeInstanceOf(promising.PromisingFunction);
    const pa = withA(1);
    const pb = withB(2);
    expect((await pa).self).toBe(a);
    expect((await pb).self).toBe(b);
    expect((await pa).value).toBe("a:1");

    const log: string[] = [];
    const eager = pf(a.lazy).with({ startSoon: true })(log);
    await sleep(5);
    expect(log).toEqual(["lazy ran"]);
    expect(await eager).toBe(a);
  });

  it("svc.method.with(...).run(x) keeps this too", async () => {
    const svc = new MyService("run");
    const r = await pf(svc.fetch).with({}).run(4);
    expect(r.self).toBe(svc);
    expect(r.value).toBe("run:4");
  });

  it("a method called in another promise's work is its child", async () => {
    const svc = new MyService();
    const parent = promising.function(async function parent() {
      return svc.fetch(1);
    });
    let child!: promising.Promise<unknown>;
    const parent2 = promising.function(async function parent2() {
      child = pp(svc.fetch(2));
      await child;
    });
    const p2 = parent2();
    await p2;
    expect(child.getParentContext()).toBe(p2);
    expect((await parent()).self).toBe(svc);
  });
});

describe("TC39 decorators: static methods", () => {
  it("keeps this === the class, namespace Class.method", async () => {
    const p = pp(MyService.utility(21));
    expect(p).toBeInstanceOf(promising.Promise);
    const r = await p;
    expect(r.self).toBe(MyService);
    expect(r.doubled).toBe(42);
    expect(r.ns).toBe("MyService.utility");
    expect(p.namespace).toBe("MyService.utility");
  });

  it("works as a factory (classmethod style)", async () => {
    const svc = await MyService.fromConfig("cfg");
    expect(svc).toBeInstanceOf(MyService);
    expect(svc.prefix).toBe("cfg");
  });

  it("static .with() keeps this", async () => {
    const r = await pf(MyService.utility).with({ startSoon: false })(5);
    expect(r.self).toBe(MyService);
    expect(r.doubled).toBe(10);
  });

  it("a subclass calling an inherited static gets the subclass as this", async () => {
    class Sub extends MyService {}
    const r = await Sub.utility(1);
    expect(r.self).toBe(Sub);
  });
});

describe("TC39 decorators: stacking with other decorators in either order", () => {
  it("an outer wrapping decorator around @promising.fn", async () => {
    stackLog.length = 0;
    const svc = new MyService();
    const r = await svc.outerWrapped(1);
    expect(r.self).toBe(svc);
    expect(r.x).toBe(1);
    expect(r.ns).toBe("MyService.outerWrapped");
    expect(stackLog).toEqual(["wrap:outerWrapped"]);
  });

  it("@promising.fn around an inner wrapping decorator", async () => {
    stackLog.length = 0;
    const svc = new MyService();
    const p = svc.innerWrapped(2);
    expect(p).toBeInstanceOf(promising.Promise);
    const r = await p;
    expect(r.self).toBe(svc);
    expect(r.x).toBe(2);
    expect(r.ns).toBe("MyService.innerWrapped");
    expect(stackLog).toEqual(["wrap:innerWrapped"]);
  });

  it("non-wrapping decorators in either order", async () => {
    expect(registered.sort()).toEqual(["registeredInner", "registeredOuter"]);
    const svc = new MyService();
    const p1 = pp(svc.registeredOuter());
    const p2 = pp(svc.registeredInner());
    expect(p1).toBeInstanceOf(promising.Promise);
    expect(p2).toBeInstanceOf(promising.Promise);
    expect(await p1).toBe(svc);
    expect(await p2).toBe(svc);
    expect(p1.namespace).toBe("MyService.registeredOuter");
    expect(p2.namespace).toBe("MyService.registeredInner");
  });

  it("static methods in either order", async () => {
    const a = await MyService.staticOuterWrapped();
    const b = await MyService.staticInnerWrapped();
    expect(a.self).toBe(MyService);
    expect(b.self).toBe(MyService);
    expect(a.ns).toBe("MyService.staticOuterWrapped");
    expect(b.ns).toBe("MyService.staticInnerWrapped");
  });
});

describe("TC39 decorators: private methods", () => {
  it("get the namespace Class.#method and keep this", async () => {
    class Vault {
      readonly secret = 7;
      @promising.fn
      async #open(x: number) {
        return { self: this, x, ns: promising.getActivePromise().namespace };
      }
      @promising.fn
      static async #make() {
        return promising.getActivePromise().namespace;
      }
      open(x: number) {
        return pp(this.#open(x));
      }
      static make() {
        return pp(Vault.#make());
      }
    }
    // Classes are defined before they are used: under esbuild's decorator lowering a static method
    // learns its class's final name once the definition has completed (see decorate.ts).
    await sleep(0);
    const vault = new Vault();
    const p = vault.open(1);
    const r = await p;
    expect(r.self).toBe(vault);
    expect(r.ns).toBe("Vault.#open");
    expect(p.namespace).toBe("Vault.#open");
    expect(await Vault.make()).toBe("Vault.#make");
  });

  it("an instance private method is named after the class that declares it, also when a subclass is built first", async () => {
    class Base {
      @promising.fn
      async #work() {
        return promising.getActivePromise().namespace;
      }
      work() {
        return this.#work();
      }
    }
    class Derived extends Base {}
    expect(await new Derived().work()).toBe("Base.#work");
    expect(await new Base().work()).toBe("Base.#work");
  });
});

describe("TC39 decorators: @promising.context on methods", () => {
  it("each call runs in a fresh context, keeps this and returns the method's own result", async () => {
    const svc = new MyService();
    const log: string[] = [];
    const r = svc.scoped(log);
    expect(r).toBeInstanceOf(Promise);
    expect(r).not.toBeInstanceOf(promising.Promise);
    const first = await r;
    expect(first.self).toBe(svc);
    expect(first.ctx).toBeInstanceOf(promising.PromisingContext);
    expect(first.ctx).not.toBeInstanceOf(promising.Promise);
    expect(first.startedEarly).toBe(false);
    const second = await svc.scoped([]);
    expect(second.ctx).not.toBe(first.ctx);
  });

  it("bare @promising.context on a sync method returns its result directly", () => {
    const svc = new MyService();
    const r = svc.syncScoped(3);
    expect(r.self).toBe(svc);
    expect(r.x).toBe(3);
    expect(r.ctx).toBeInstanceOf(promising.PromisingContext);
  });

  it(".with() overrides on a context method keep this", async () => {
    const svc = new MyService();
    const log: string[] = [];
    const r = await withable(svc.scoped).with({ childrenStartSoon: true })(log);
    expect(r.self).toBe(svc);
    expect(r.startedEarly).toBe(true);
  });

  it("static context methods keep this and their options", async () => {
    const r = await MyService.staticScoped();
    expect(r.self).toBe(MyService);
    expect(r.ctx.namespace).toBe("static-ctx");
  });

  it("a context method called inside a promise nests under it", async () => {
    const svc = new MyService();
    const parent = promising.function(async function parent() {
      return svc.syncScoped(1).ctx;
    });
    const p = parent();
    const ctx = await p;
    expect(ctx.getParentContext()).toBe(p);
  });
});
