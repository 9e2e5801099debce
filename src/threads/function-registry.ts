/**
 * Names decorated functions (and pools) so that two threads can agree on them. A function is
 * named by the module that decorated it and its rank among the decorations made from that
 * module: module top-level code runs in the same order in every thread, so the n-th
 * decoration of `file:///app/jobs.ts` is the same function in the main thread and in a
 * worker. The function's name is carried along as a check (tools may rename: esbuild turns
 * a shadowed `compute` into `compute2`, so trailing digits are ignored when comparing).
 */
import { isLibraryFile } from "./library-files.ts";
import { locateCallerModule, normalizeModuleSpecifier } from "./module-locator.ts";

export interface FunctionRef {
  readonly url: string;
  readonly name: string;
  readonly ordinal: number;
}

interface Entry {
  readonly name: string;
  readonly target: WeakRef<object>;
}

/**
 * url → decorations in order (weak: something decorated at run time may be collected).
 * Global, so a CommonJS user module and the ESM worker entry agree in a pool worker.
 */
const kRegistry = Symbol.for("promising-ts.function-registry.v2");
const globalSlots = globalThis as { [kRegistry]?: Map<string, Entry[]> };
const registry = (globalSlots[kRegistry] ??= new Map());

/**
 * Registers `target` (a decorated function's identity, or a pool). With `required`, failing to
 * locate the module throws the locator's DecorationError; otherwise it just cannot cross threads.
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
  let list = registry.get(url);
  if (list === undefined) registry.set(url, (list = []));
  list.push({ name, target: new WeakRef(target) });
  return { url, name, ordinal: list.length - 1 };
}

const baseName = (name: string) => name.replace(/\d+$/, "");

/** The function `ref` names in this thread, if its module has been loaded here and the names agree. */
export function lookupFunction(ref: FunctionRef): object | undefined {
  const entry = registry.get(ref.url)?.[ref.ordinal];
  if (entry === undefined || baseName(entry.name) !== baseName(ref.name)) return undefined;
  return entry.target.deref();
}

export function describeRef(ref: FunctionRef): string {
  return `${ref.name || "(anonymous)"} (decoration #${ref.ordinal} of ${ref.url})`;
}
