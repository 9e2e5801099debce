/**
 * The decorator forms shared by `promising.function` and `promising.context`:
 * a plain call on a function, TC39 standard method decorators, and legacy
 * `experimentalDecorators` method decorators. The concrete wrapper is supplied by the caller.
 */
import { DecorationError } from "../core/errors.ts";
import { describeValue } from "../core/sentinels.ts";

type AnyFunction = (...args: any[]) => any;

/** How one API (function or context) wraps a function and binds a wrapper to a receiver. */
export interface Wrapping {
  readonly apiName: string;
  /**
   * Wraps `fn` (its default namespace is its name, or Class.method later). `placement`: where a
   * decorated method lives; absent for a plain function.
   */
  wrap(fn: AnyFunction, options: Record<string, unknown>, placement?: "static" | "instance"): AnyFunction;
  /** A wrapper that calls with `this === receiver` whatever the call site (for `obj.method.with()`). */
  bind(wrapper: AnyFunction, receiver: object): AnyFunction;
  /**
   * Tells a method wrapper its `Class.method` name (ignored when a namespace was given
   * explicitly) and its home: the class for static methods, the prototype for instance methods,
   * `null` when unknown (a private instance method).
   */
  nameMethod(wrapper: AnyFunction, namespace: string, home: object | null): void;
}

interface StandardContext {
  kind: string;
  name: string | symbol;
  static: boolean;
  private: boolean;
  /** The class's decorator metadata object, where the compiler provides one (esbuild does; tsc needs Symbol.metadata). */
  metadata?: object;
  addInitializer(initializer: (this: unknown) => void): void;
}

function isStandardContext(value: unknown): value is StandardContext {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as StandardContext).kind === "string" &&
    typeof (value as StandardContext).addInitializer === "function"
  );
}

export function isLegacyDecoratorCall(
  args: unknown[],
): args is [object, string | symbol, PropertyDescriptor] {
  const [target, key, descriptor] = args;
  return (
    args.length === 3 &&
    (typeof target === "object" || typeof target === "function") &&
    target !== null &&
    (typeof key === "string" || typeof key === "symbol") &&
    descriptor !== null &&
    typeof descriptor === "object"
  );
}

/** Gives a wrapper the name and arity of the function it wraps (stack traces, `fn.length`). */
export function mirrorSignature(wrapper: AnyFunction, original: AnyFunction): void {
  Object.defineProperty(wrapper, "name", { value: original.name, configurable: true });
  Object.defineProperty(wrapper, "length", { value: original.length, configurable: true });
}

/** Applies the decorator once options are known: `(fn)`, `(fn, context)` or `(target, key, descriptor)`. */
export function applyDecorator(
  wrapping: Wrapping,
  options: Record<string, unknown>,
  args: unknown[],
): unknown {
  if (isLegacyDecoratorCall(args)) return decorateLegacy(wrapping, options, ...args);
  const [fn, context] = args;
  if (typeof fn !== "function") {
    throw new DecorationError(
      `${wrapping.apiName} can only decorate a function or a method; got ${describeValue(fn)}.`,
    );
  }
  if (args.length === 2 && isStandardContext(context))
    return decorateStandard(wrapping, options, fn as AnyFunction, context);
  if (args.length !== 1) {
    throw new DecorationError(
      `${wrapping.apiName}(fn) takes exactly one function; to pass options use ${wrapping.apiName}(options, fn) or ${wrapping.apiName}(options)(fn).`,
    );
  }
  return wrapping.wrap(fn as AnyFunction, options);
}

function methodNamespace(owner: unknown, key: string | symbol): string {
  const className =
    typeof owner === "function"
      ? owner.name
      : (owner as { constructor?: { name?: string } })?.constructor?.name;
  return className ? `${className}.${String(key)}` : String(key);
}

function decorateStandard(
  wrapping: Wrapping,
  options: Record<string, unknown>,
  fn: AnyFunction,
  context: StandardContext,
) {
  if (context.kind !== "method") {
    throw new DecorationError(
      `${wrapping.apiName} decorates functions and methods (instance or static); it cannot decorate a ${context.kind}. Getters, setters, fields and classes are out of scope.`,
    );
  }
  const wrapper = wrapping.wrap(fn, options, context.static ? "static" : "instance");
  const key = context.name;
  let installed = false;
  context.addInitializer(function (this: unknown) {
    if (installed) return;
    installed = true;
    if (context.private) {
      // A private method cannot be looked up by its key, so it gets no binding getter; its
      // namespace still names its class (`Class.#method`).
      const owner = context.static
        ? (this as AnyFunction)
        : declaringClass((this as object).constructor as AnyFunction, context.metadata);
      wrapping.nameMethod(wrapper, methodNamespace(owner, key), context.static ? owner : null);
      if (context.static) renameOnceClassIsNamed(wrapping, wrapper, owner as AnyFunction, key);
      return;
    }
    const home = context.static ? (this as object) : findHome(this as object, key);
    if (home === null) return;
    wrapping.nameMethod(wrapper, methodNamespace(home, key), home);
    if (Object.getOwnPropertyDescriptor(home, key)?.value === wrapper) {
      installBindingGetter(wrapping, home, key, wrapper);
    } else if (context.static) {
      // Another decorator wrapped this one, so no getter of ours sees the class's final name.
      renameOnceClassIsNamed(wrapping, wrapper, home as AnyFunction, key);
    }
  });
  return wrapper;
}

/**
 * The class that declares an instance method, from the first instance built, which may be of a
 * subclass: the class in its constructor's chain that owns the decorator metadata object the
 * method's decorator saw (every decorated class has one of its own, under `Symbol.metadata`,
 * whichever symbol a compiler or polyfill chose: all own symbol keys are looked at). Without
 * metadata (tsc on a Node without Symbol.metadata and no polyfill), the instance's own class.
 */
function declaringClass(constructor: AnyFunction, metadata: object | undefined): AnyFunction {
  if (metadata === undefined) return constructor;
  for (let cls: unknown = constructor; typeof cls === "function"; cls = Object.getPrototypeOf(cls)) {
    for (const key of Object.getOwnPropertySymbols(cls)) {
      // Through the descriptor: a static accessor under a symbol key is not run.
      if (Object.getOwnPropertyDescriptor(cls, key)?.value === metadata) return cls as AnyFunction;
    }
  }
  return constructor;
}

/**
 * Static initializers run while the class is being defined, when esbuild's decorator lowering
 * (tsx, Vite) gives it a temporary name such as `_Svc`; the final name is set right after.
 * Re-reads it once the definition has completed. (A call made in the same synchronous run as
 * the class definition still sees the temporary name.)
 */
function renameOnceClassIsNamed(
  wrapping: Wrapping,
  wrapper: AnyFunction,
  home: AnyFunction,
  key: string | symbol,
): void {
  const namedAfter = home.name;
  queueMicrotask(() => {
    if (home.name !== namedAfter) wrapping.nameMethod(wrapper, methodNamespace(home, key), home);
  });
}

function decorateLegacy(
  wrapping: Wrapping,
  options: Record<string, unknown>,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
): PropertyDescriptor {
  if (typeof descriptor.value !== "function") {
    throw new DecorationError(
      `${wrapping.apiName} decorates methods; ${String(key)} is a getter, setter or field, which is out of scope.`,
    );
  }
  const wrapper = wrapping.wrap(
    descriptor.value as AnyFunction,
    options,
    typeof target === "function" ? "static" : "instance",
  );
  wrapping.nameMethod(wrapper, methodNamespace(target, key), target);
  // Legacy decorators cannot run code after the class is complete, and returning an accessor
  // would break other decorators stacked around this one (they expect `descriptor.value`).
  // So the descriptor stays a plain method, and the per-instance binding that makes
  // `obj.method.with(...)` keep `this` is installed one microtask later, if still ours.
  queueMicrotask(() => {
    if (Object.getOwnPropertyDescriptor(target, key)?.value === wrapper)
      installBindingGetter(wrapping, target, key, wrapper);
  });
  return { ...descriptor, value: wrapper };
}

/** The object on the prototype chain of `instance` that defines `key`. */
function findHome(instance: object, key: string | symbol): object | null {
  for (let proto = Object.getPrototypeOf(instance); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, key)) return proto;
  }
  return null;
}

/**
 * Replaces the method on `home` by an accessor that returns, per receiver, a wrapper bound to
 * it (cached, so `obj.method === obj.method`). Reading through `home` itself gives the
 * unbound wrapper for prototypes and a class-bound one for static methods.
 */
function installBindingGetter(
  wrapping: Wrapping,
  home: object,
  key: string | symbol,
  wrapper: AnyFunction,
): void {
  const bound = new WeakMap<object, AnyFunction>();
  const isStatic = typeof home === "function";
  // Static initializers run while the class is still being defined, when some compilers
  // (esbuild without keepNames, so tsx) give it a temporary name such as `_Svc`; the final
  // name is set right after. So a static method checks its class's name on every access.
  let namedAfter = isStatic ? (home as AnyFunction).name : "";
  Object.defineProperty(home, key, {
    configurable: true,
    enumerable: false,
    get(this: unknown) {
      if (isStatic && (home as AnyFunction).name !== namedAfter) {
        namedAfter = (home as AnyFunction).name;
        wrapping.nameMethod(wrapper, methodNamespace(home, key), home);
      }
      if (
        (this === home && !isStatic) ||
        this === null ||
        (typeof this !== "object" && typeof this !== "function")
      ) {
        return wrapper;
      }
      let result = bound.get(this);
      if (result === undefined) {
        result = wrapping.bind(wrapper, this);
        bound.set(this, result);
      }
      return result;
    },
    set(this: object, value: unknown) {
      // Assignment shadows the method on the receiver, as it would for a plain method.
      Object.defineProperty(this, key, { value, writable: true, configurable: true, enumerable: true });
    },
  });
}
