/**
 * Finds the module that defined a thread-pool function, so a worker thread can import it.
 *
 * It reads V8's structured stack (CallSite objects), never the formatted `stack` string:
 * under tsx a module's top-level frame prints as `at <anonymous> (/path/file.ts:1:1)`, and
 * an eval frame prints as `at eval (eval at <anonymous> (...), <anonymous>:1:1)`; only the
 * CallSite's file name and `isEval()` tell the two apart reliably. Function names are never
 * consulted.
 *
 * What V8 reports as a frame's file name (Node 20):
 * - ESM (plain node, tsx ESM): a `file://` URL;
 * - CommonJS (plain node, tsx CJS), and vitest's vite-node modules: an absolute path;
 * - `eval` and `new Function`: no file name, `isEval()` true, `getEvalOrigin()` names the caller;
 * - `vm.runInThisContext` / `vm.Script`: the `filename` option, default `evalmachine.<anonymous>`;
 *   `vm.compileFunction`: `""`; `node -e`: `[eval]`; the REPL: `REPLn`;
 * - built-ins that call back into JS (`Array.prototype.map`, the `Promise` constructor...):
 *   no file name and `isEval()` false. They are skipped: the frame that called them follows.
 */
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DecorationError } from "../core/errors.ts";

/** The part of V8's CallSite API this module relies on. */
export interface StackFrame {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  isEval(): boolean;
  getEvalOrigin(): string | undefined;
  isNative(): boolean;
}

const FIX =
  "pass { module: import.meta.url } (ESM) or { module: __filename } (CommonJS), naming the module " +
  "that defines the function at its top level";

/**
 * The structured stack at the point of the call, from the caller of `below` outward
 * (or from the caller of `captureStackFrames` when `below` is omitted).
 * `Error.prepareStackTrace` and `Error.stackTraceLimit` are restored before returning.
 */
export function captureStackFrames(below?: Function): StackFrame[] {
  const ErrorCtor = Error as ErrorConstructor & {
    prepareStackTrace?: (error: Error, frames: StackFrame[]) => unknown;
  };
  const previousPrepare = ErrorCtor.prepareStackTrace;
  const previousLimit = ErrorCtor.stackTraceLimit;
  const capture = (_error: Error, frames: StackFrame[]): StackFrame[] => frames;
  try {
    ErrorCtor.prepareStackTrace = capture;
    ErrorCtor.stackTraceLimit = Number.POSITIVE_INFINITY;
    if (ErrorCtor.prepareStackTrace !== capture) return [];
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below ?? captureStackFrames);
    // `stack` is formatted lazily, on first access: read it while `capture` is installed.
    const frames = holder.stack;
    return Array.isArray(frames) ? (frames as StackFrame[]) : [];
  } catch {
    // A frozen `Error` (hardened environments): no structured stack is available.
    return [];
  } finally {
    try {
      ErrorCtor.prepareStackTrace = previousPrepare;
      ErrorCtor.stackTraceLimit = previousLimit;
    } catch {
      // Could not be replaced, so nothing to restore.
    }
  }
}

/** Node's own modules: `node:internal/...`, `node:vm`, and the pre-`node:` spelling `internal/...`. */
function isNodeInternal(fileName: string): boolean {
  return fileName.startsWith("node:") || fileName.startsWith("internal/");
}

/**
 * Packages that load or transform user code and may sit between the library and the user's
 * module: TypeScript loaders (tsx, esbuild, ts-node, swc, jiti, babel), vitest / vite-node, and
 * require hooks. Matched as `node_modules/<name>/` so pnpm and Yarn PnP layouts match too.
 */
const LOADER_PACKAGES = [
  "tsx",
  "esbuild",
  "@esbuild",
  "@esbuild-kit",
  "vite",
  "vite-node",
  "vitest",
  "@vitest",
  "tinypool",
  "ts-node",
  "@swc-node",
  "@swc/register",
  "jiti",
  "pirates",
  "@babel/register",
  "source-map-support",
];
const LOADER_PATTERN = new RegExp(
  `/node_modules/(?:${LOADER_PACKAGES.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})/`,
);

function isLoaderFile(fileName: string): boolean {
  return LOADER_PATTERN.test(fileName.replaceAll("\\", "/"));
}

function describeFrame(frame: StackFrame): string {
  const name = frame.getFunctionName() ?? "<anonymous>";
  const file = frame.getFileName();
  return file == null ? name : `${name} (${file}:${frame.getLineNumber()}:${frame.getColumnNumber()})`;
}

/**
 * The path of an importable file, or `null`: a `file:` URL or an absolute path. Everything else
 * (`evalmachine.<anonymous>`, `[eval]`, `REPL1`, `""`, `data:` / `http:` URLs, a relative
 * `vm` filename) is not something a worker thread can import.
 */
export function importablePath(fileName: string): string | null {
  if (fileName.startsWith("file:")) {
    try {
      return fileURLToPath(fileName);
    } catch {
      return null;
    }
  }
  return isAbsolute(fileName) ? fileName : null;
}

/**
 * The `file://` URL of the module that called into the library: the first frame, from the caller
 * of this function outward, that is neither the library (`isLibraryFile`, which receives the
 * file name as V8 reports it: a `file://` URL or an absolute path), nor Node internals, nor a
 * loader, nor a built-in.
 *
 * Throws `DecorationError` naming the fix (an explicit `module` option) when that frame is code
 * from `eval` / `new Function` / `vm`, or when no such frame exists.
 */
export function locateCallerModule(isLibraryFile: (fileName: string) => boolean): string {
  const frames = captureStackFrames(locateCallerModule);
  if (frames.length === 0) {
    throw new DecorationError(
      `Cannot find the module that defines this thread-pool function: the JavaScript engine gave no ` +
        `structured stack trace (Error.prepareStackTrace cannot be set here). Fix: ${FIX}.`,
    );
  }
  for (const frame of frames) {
    if (frame.isEval()) {
      const origin = frame.getEvalOrigin();
      throw new DecorationError(
        `Cannot find the module that defines this thread-pool function: it was decorated from code ` +
          `run by eval or new Function${origin ? ` (${origin})` : ""}, which a worker thread cannot ` +
          `import. Fix: ${FIX}.`,
      );
    }
    if (frame.isNative()) continue;
    const fileName = frame.getFileName();
    // A built-in that called back into JS (Array.prototype.map, the Promise constructor...).
    if (fileName === null || fileName === undefined) continue;
    if (isNodeInternal(fileName) || isLoaderFile(fileName) || isLibraryFile(fileName)) continue;
    const path = importablePath(fileName);
    if (path === null || !existsSync(path)) {
      throw new DecorationError(
        `Cannot find the module that defines this thread-pool function: it was decorated from code ` +
          `that is not an importable module file (${describeFrame(frame)}; code run by vm, ` +
          `node -e or the REPL has none), so a worker thread cannot import it. Fix: ${FIX}.`,
      );
    }
    return fileName.startsWith("file:") ? fileName : pathToFileURL(path).href;
  }
  throw new DecorationError(
    `Cannot find the module that defines this thread-pool function: no caller outside the library ` +
      `was found on the stack. Fix: ${FIX}.`,
  );
}

/**
 * Normalizes an explicit `module` option to a `file://` URL string. Accepts a `file:` URL
 * (string or `URL`, as `import.meta.url` gives) or an absolute path (as `__filename` gives).
 * Throws `TypeError` for relative paths, non-file URLs and other values.
 */
export function normalizeModuleSpecifier(module: string | URL): string {
  const hint = "pass import.meta.url (ESM) or __filename (CommonJS)";
  if (module instanceof URL) {
    if (module.protocol !== "file:") {
      throw new TypeError(
        `The module option must be a file: URL or an absolute path; got the ${module.protocol} URL ` +
          `${JSON.stringify(module.href)}. A worker thread imports the module from disk: ${hint}.`,
      );
    }
    return module.href;
  }
  if (typeof module !== "string") {
    throw new TypeError(
      `The module option must be a string (file: URL or absolute path) or a URL; got ${
        module === null ? "null" : typeof module
      }; ${hint}.`,
    );
  }
  if (module === "") {
    throw new TypeError(`The module option must not be empty; ${hint}.`);
  }
  // Before the URL check: a Windows path such as C:\x\y.js would otherwise parse as scheme "c:".
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(module)) {
    let url: URL;
    try {
      url = new URL(module);
    } catch {
      throw new TypeError(`The module option ${JSON.stringify(module)} is not a valid URL; ${hint}.`);
    }
    if (url.protocol !== "file:") {
      throw new TypeError(
        `The module option must be a file: URL or an absolute path; got the ${url.protocol} URL ` +
          `${JSON.stringify(module)}. A worker thread imports the module from disk: ${hint}.`,
      );
    }
    return url.href;
  }
  throw new TypeError(
    `The module option must be a file: URL or an absolute path; got the relative path ` +
      `${JSON.stringify(module)}, which has no base to resolve against: ${hint}.`,
  );
}
