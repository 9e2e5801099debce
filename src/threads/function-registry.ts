/**
 * Names decorated functions so that two threads can agree on them. A function is named by
 * the module that decorated it, its name, and its rank among same-named decorations in that
 * module: module top-level code runs in the same order in every thread, so the n-th
 * `compute` of `file:///app/jobs.ts` is the same function in the main thread and in a worker.
 */
import { isLibraryFile } from "./library-files.ts";
import { locateCallerModule, normalizeModuleSpecifier } from "./module-locator.ts";

export interface FunctionRef {
  readonly url: string;
  readonly name: string;
  readonly ordinal: number;
}

/**
 * url → name → decorations in order (weak: a function decorated at run time may be collected).
 * Global, so a CommonJS user module and the ESM worker entry agree in a pool worker.
 */
const kRegistry = Symbol.for("promising-ts.function-registry");
const globalSlots = globalThis as { [kRegistry]?: Map<string, Map<string, WeakRef<object>[]>> };
const registry = (globalSlots[kRegistry] ??= new Map());

/**
 * Registers `target` (a decorated function). With `required`, failing to locate the module
 * throws the locator's DecorationError; otherwise the function just cannot cross threads.
 */
export function registerFunction(
  target: object,
  name: string,
  explicitModule: string | URL | undefined,
  required: boolean,
): FunctionRef | null {
  let url: string;
  try {
    url =
      explicitModule !== undefined
        ? normalizeModuleSpecifier(explicitModule)
        : locateCallerModule(isLibraryFile);
  } catch (error) {
    if (required) throw error;
    return null;
  }
  let byName = registry.get(url);
  if (byName === undefined) registry.set(url, (byName = new Map()));
  let list = byName.get(name);
  if (list === undefined) byName.set(name, (list = []));
  list.push(new WeakRef(target));
  return { url, name, ordinal: list.length - 1 };
}

/** The function `ref` names in this thread, if its module has been loaded here. */
export function lookupFunction(ref: FunctionRef): object | undefined {
  return registry.get(ref.url)?.get(ref.name)?.[ref.ordinal]?.deref();
}

export function describeRef(ref: FunctionRef): string {
  return `${ref.name || "(anonymous)"} (#${ref.ordinal} in ${ref.url})`;
}
