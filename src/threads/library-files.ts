/**
 * Recognizes the files of this library on a stack, so module location skips them.
 *
 * The library finds itself from a stack frame of a function defined in this file, which works
 * in every way the code runs (`import.meta.url` would not exist in the CommonJS build):
 * - from source (vitest, tsx): this file is `<src>/threads/library-files.ts`, and every file
 *   under `<src>/` is the library;
 * - from the built package (tsdown bundles into `dist/index.js` / `dist/index.cjs`, maybe with
 *   chunks): every file in that `dist/` directory is the library, when its parent holds this
 *   package's package.json;
 * - re-bundled into someone else's bundle: only that exact file (the user's code may share it).
 */
import { readFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative } from "node:path";
import { captureStackFrames, importablePath } from "./module-locator.ts";

const PACKAGE_NAME = "promising-ts";

/** A file name as V8 reports it (a `file:` URL or an absolute path) as an absolute path, or `null`. */
const toPath = importablePath;

function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

function isOwnPackageDirectory(directory: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as { name?: unknown };
    return manifest.name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The predicate for a library whose `library-files` code lives in `ownFileName` (as V8 reports
 * it). Exported for tests, which check each layout with synthetic paths.
 */
export function libraryFilesMatcher(ownFileName: string): (fileName: string) => boolean {
  const ownPath = toPath(ownFileName);
  if (ownPath === null) return (fileName) => fileName === ownFileName;
  const ownDirectory = dirname(ownPath);
  let root: string | null = null;
  if (basename(ownPath, extname(ownPath)) === "library-files" && basename(ownDirectory) === "threads") {
    root = dirname(ownDirectory); // source layout: <src>/threads/library-files.ts
  } else if (isOwnPackageDirectory(dirname(ownDirectory))) {
    root = ownDirectory; // built package: <package>/dist/index.{js,cjs} and its chunks
  }
  return (fileName) => {
    if (fileName === ownFileName) return true;
    const path = toPath(fileName);
    if (path === null) return false;
    return root === null ? path === ownPath : isInside(root, path);
  };
}

/** The file this function is defined in, as V8 reports it: this module, or the bundle holding it. */
function ownFileName(): string | null {
  const frame = captureStackFrames()[0];
  return frame?.getFileName() ?? null;
}

let matcher: ((fileName: string) => boolean) | undefined;

/** Whether `fileName` (a `file:` URL or an absolute path, as V8 reports it) belongs to this library. */
export function isLibraryFile(fileName: string): boolean {
  if (matcher === undefined) {
    const own = ownFileName();
    matcher = own === null ? () => false : libraryFilesMatcher(own);
  }
  return matcher(fileName);
}
