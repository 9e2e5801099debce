// SPEC 1 / 2.11: promising.function and promising.context as legacy (experimentalDecorators)
// method decorators. The tsconfig.json next to this file turns the legacy transform on; the
// first test proves that it is really in effect.
import { describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { sleep } from "../helpers.ts";

const probeCalls: number[] = [];
function probe(...args: unknown[]): void {
  probeCalls.push(args.length);
}

/** A legacy decorator that wraps the method with another async function. */
function wrapAsync(log: string[]) {
  return (_target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = async function (this: unknown, ...args: unknown[]) {
      log.push(`wrap:${String(key)}`);
      return await original.apply(this, args);
    };
    return descriptor;
  };
}

/** A legacy decorator that only records. */
function register(names: string[]) {
  return (_target: object, key: string | symbol) => {
    names.push(String(key));
  };
}

const stackLog: string[] = [];
const registered: string[] = [];

class LegacyService {
  readonly prefix: string;
  constructor(prefix = "legacy") {
    this.prefix = prefix;
  }

  @probe
  probed() {}

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

  @promising.fn
  static async utility(x: number) {
    // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
    return { self: this, doubled: x * 2, ns: promising.getActivePromise().namespace };
  }

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

describe("legacy decorators", () => {
  it("the legacy transform is in effect (a method decorator receives 3 arguments)", () => {
    expect(probeCalls).toEqual([3]);
  });

  it("decorators inside a function scope, on a class defined there", async () => {
    const define = () => {
      class Plain {
        readonly tag = "plain";

        @promising.fn
        async a() {
          return { self: this, ns: promising.getActivePromise().namespace };
        }

        @promising.fn({ startSoon: false })
        async b() {
          return this.tag;
        }

        @promising.fn({ useThreadPool: false })
        c() {
          return this.tag;
        }

        @promising.context
        d() {
          return promising.getActiveContext();
        }

        @promising.context({ namespace: "plain-ctx" })
        async e() {
          return promising.getActiveContext().namespace;
        }

        @promising.fn
        static async s() {
          // biome-ignore lint/complexity/noThisInStatic: the test checks what `this` is
          return this;
        }
      }
      return Plain;
    };
    // (binding names differ from the class name: esbuild renames a shadowing class, e.g. Plain → Plain2)
    expect(define).not.toThrow();
    const Defined = define();
    const obj = new Defined();
    const r = await obj.a();
    expect(r.self).toBe(obj);
    expect(r.ns).toBe("Plain.a");
    expect(await obj.b()).toBe("plain");
    expect(await obj.c()).toBe("plain");
    expect(obj.d()).toBeInstanceOf(promising.PromisingContext);
    expect(await obj.e()).toBe("plain-ctx");
    expect(await Defined.s()).toBe(Defined);
  });

  it("@promising.fn on an instance method: promising.Promise, this, namespace", async () => {
    const svc = new LegacyService("one");
    const p = svc.fetch(1);
    expect(p).toBeInstanceOf(promising.Promise);
    const r = await p;
    expect(r.self).toBe(svc);
    expect(r.value).toBe("one:1");
    expect(r.ns).toBe("LegacyService.fetch");
    expect(p.namespace).toBe("LegacyService.fetch");
    const other = new LegacyService("two");
    expect((await other.fetch(2)).self).toBe(other);
  });

  it("@promising.fn(options), @(promising.function) and a sync method", async () => {
    const svc = new LegacyService();
    const log: string[] = [];
    const p = svc.lazy(log);
    await sleep(5);
    expect(log).toEqual([]);
    expect(await p).toBe(svc);
    expect(await svc.viaParens()).toBe(svc);
    expect(svc.viaParens().namespace).toBe("LegacyService.viaParens");
    expect(await svc.transform(2)).toBe("legacy-2");
  });

  it("svc.method.with({ startSoon: false })(x) keeps this === svc", async () => {
    const a = new LegacyService("a");
    const b = new LegacyService("b");
    const wa = a.fetch.with({ startSoon: false });
    const wb = b.fetch.with({ startSoon: false });
    expect(wa).toBeInstanceOf(promising.PromisingFunction);
    expect((await wa(1)).self).toBe(a);
    expect((await wb(2)).self).toBe(b);
    expect((await a.fetch.with({}).run(3)).self).toBe(a);
  });

  it("static methods keep this === the class", async () => {
    const p = LegacyService.utility(4);
    const r = await p;
    expect(r.self).toBe(LegacyService);
    expect(r.doubled).toBe(8);
    expect(r.ns).toBe("LegacyService.utility");
    expect((await LegacyService.utility.with({ startSoon: false })(1)).self).toBe(LegacyService);
  });

  it("stacking with a wrapping decorator in either order", async () => {
    stackLog.length = 0;
    const svc = new LegacyService();
    const outer = await svc.outerWrapped(1);
    const innerP = svc.innerWrapped(2);
    expect(innerP).toBeInstanceOf(promising.Promise);
    const inner = await innerP;
    expect(outer.self).toBe(svc);
    expect(inner.self).toBe(svc);
    expect(outer.ns).toBe("LegacyService.outerWrapped");
    expect(inner.ns).toBe("LegacyService.innerWrapped");
    expect(stackLog.sort()).toEqual(["wrap:innerWrapped", "wrap:outerWrapped"]);
    const s1 = await LegacyService.staticOuterWrapped();
    const s2 = await LegacyService.staticInnerWrapped();
    expect(s1.self).toBe(LegacyService);
    expect(s2.self).toBe(LegacyService);
    expect(s1.ns).toBe("LegacyService.staticOuterWrapped");
    expect(s2.ns).toBe("LegacyService.staticInnerWrapped");
  });

  it("stacking with a non-wrapping decorator in either order", async () => {
    expect(registered.sort()).toEqual(["registeredInner", "registeredOuter"]);
    const svc = new LegacyService();
    expect(await svc.registeredOuter()).toBe(svc);
    expect(await svc.registeredInner()).toBe(svc);
    expect(svc.registeredOuter().namespace).toBe("LegacyService.registeredOuter");
    expect(svc.registeredInner().namespace).toBe("LegacyService.registeredInner");
  });

  it("@promising.context on methods: fresh context per call, this kept, own result returned", async () => {
    const svc = new LegacyService();
    const r = svc.scoped([]);
    expect(r).not.toBeInstanceOf(promising.Promise);
    const first = await r;
    expect(first.self).toBe(svc);
    expect(first.ctx).toBeInstanceOf(promising.PromisingContext);
    expect(first.startedEarly).toBe(false);
    expect((await svc.scoped([])).ctx).not.toBe(first.ctx);
    const overridden = await svc.scoped.with({ childrenStartSoon: true })([]);
    expect(overridden.self).toBe(svc);
    expect(overridden.startedEarly).toBe(true);
    const s = svc.syncScoped(5);
    expect(s.self).toBe(svc);
    expect(s.x).toBe(5);
    const st = await LegacyService.staticScoped();
    expect(st.self).toBe(LegacyService);
    expect(st.ctx.namespace).toBe("static-ctx");
  });
});
