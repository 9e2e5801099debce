/**
 * Names decorated functions (and pools) so that two threads can agree on them. A function is
 * named by the module that decorated it, its name, and its rank among the decorations of that
 * name made from that module: module top-level code runs in the same order in every thread, so
 * the n-th decoration of `compute` in `file:///app/jobs.ts` is the same function in the main
 * thread and in a worker. Ranking per name, not per module, keeps functions of different names
 * apart when the threads decorate in a different order: a module compiled with legacy
 * decorators in one thread and standard ones in the other (Vitest with a per-folder tsconfig,
 * tsx in the worker) decorates a class's methods in another order (legacy: instance methods
 * first; standard: static ones first). So methods are also told apart by placement (static or
 * instance), and compared by their exact name: a method's name is a property key, which no tool
 * renames. Tools may rename plain functions (esbuild turns a shadowed `compute` into
 * `compute2`), so for those trailing digits are ignored.
 */
import { DecorationError } from "../core/errors.ts";
import { isLibraryFile } from "./library-files.ts";
import { locateCallerModule, normalizeModuleSpecifier } from "./module-locator.ts";

/** Where a decorated method lives; absent for plain functions. */
export type MethodPlacement = "static" | "instance";

export interface FunctionRef {
  readonly url: string;
  readonly name: string;
  readonly ordinal: number;
  readonly placement?: MethodPlacement;
  /** Pools are numbered apart from functions (see registerPool); absent for functions. */
  readonly kind?: "pool";
}

interface Entry {
  readonly name: string;
  readonly target: WeakRef<object>;
}

/**
 * url and name (see functionKey) → decorations in order (weak: something decorated at run time
 * may be collected). Global, so a CommonJS user module and the ESM worker entry agree in a pool
 * worker.
 */
const kRegistry = Symbol.for("promising-ts.function-registry.v4");
/** url → pools created there, in order: numbered apart, so that a pool never shifts a function's rank. */
const kPoolRegistry = Symbol.for("promising-ts.pool-registry.v1");
const globalSlots = globalThis as {
  [kRegistry]?: Map<string, Entry[]>;
  [kPoolRegistry]?: Map<string, Entry[]>;
};
const registry = (globalSlots[kRegistry] ??= new Map());
const poolRegistry = (globalSlots[kPoolRegistry] ??= new Map());

const baseName = (name: string) => name.replace(/\d+$/, "");

/** The registry key of functions named `name` decorated in module `url` (methods: at `placement`). */
function functionKey(url: string, name: string, placement: MethodPlacement | undefined): string {
  return placement === undefined ? `${url}\u0000fn:${baseName(name)}` : `${url}\u0000${placement}:${name}`;
}

const sameName = (a: string, b: string, placement: MethodPlacement | undefined) =>
  placement === undefined ? baseName(a) === baseName(b) : a === b;

function register(
  lists: Map<string, Entry[]>,
  keyOf: (url: string) => string,
  target: object,
  name: string,
  explicitModule: string | URL | undefined,
  required: boolean,
): { url: string; ordinal: number } | null {
  let url: string;
  if (explicitModule !== undefined) {
    try {
      url = normalizeModuleSpecifier(explicitModule);
    } catch (error) {
      // A `module` option the user wrote is wrong whether or not this function needs it now.
      throw new DecorationError((error as Error).message, { cause: error });
    }
  } else {
    try {
      url = locateCallerModule(isLibraryFile);
    } catch (error) {
      if (required) throw error;
      return null;
    }
  }
  const key = keyOf(url);
  let list = lists.get(key);
  if (list === undefined) lists.set(key, (list = []));
  list.push({ name, target: new WeakRef(target) });
  return { url, ordinal: list.length - 1 };
}

/**
 * Registers `target` (a decorated function's identity). With `required`, failing to locate the
 * module throws the locator's DecorationError; otherwise it just cannot cross threads.
 */
export function registerFunction(
  target: object,
  name: string,
  explicitModule: string | URL | undefined,
  required: boolean,
  placement?: MethodPlacement,
): FunctionRef | null {
  const place = register(
    registry,
    (url) => functionKey(url, name, placement),
    target,
    name,
    explicitModule,
    required,
  );
  if (place === null) return null;
  const ref = { url: place.url, name, ordinal: place.ordinal };
  return placement === undefined ? ref : { ...ref, placement };
}

/**
 * Registers a pool created by user code, so a worker can name it in `threadPool`. Pools have
 * their own numbering per module: a pool created lazily or only in some threads (such as the
 * default pool, created on first use in the main thread) must not change the rank, and so the
 * name, of the functions decorated after it.
 */
export function registerPool(pool: object): FunctionRef | null {
  const place = register(poolRegistry, (url) => url, pool, "ThreadPool", undefined, false);
  return place === null ? null : { url: place.url, name: "ThreadPool", ordinal: place.ordinal, kind: "pool" };
}

/** The function `ref` names in this thread, if its module has been loaded here and the names agree. */
export function lookupFunction(ref: FunctionRef): object | undefined {
  const entry = (
    ref.kind === "pool"
      ? poolRegistry.get(ref.url)
      : registry.get(functionKey(ref.url, ref.name, ref.placement))
  )?.[ref.ordinal];
  if (entry === undefined || !sameName(entry.name, ref.name, ref.placement)) return undefined;
  return entry.target.deref();
}

export function describeRef(ref: FunctionRef): string {
  const name = ref.name || "(anonymous)";
  if (ref.kind === "pool") return `${name} (pool #${ref.ordinal} of ${ref.url})`;
  const what = ref.placement === undefined ? "" : ` ${ref.placement} method`;
  return `${name} (decoration #${ref.ordinal} of that name${what} in ${ref.url})`;
}
