import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { build } from "tsdown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecorationError } from "../../src/core/errors.ts";
import * as promising from "../../src/index.ts";
import { isLibraryFile, libraryFilesMatcher } from "../../src/threads/library-files.ts";
import {
  captureStackFrames,
  locateCallerModule,
  normalizeModuleSpecifier,
} from "../../src/threads/module-locator.ts";
// @ts-expect-error -- plain JavaScript fixture without declarations
import { locateFromHere as locateFromEsm } from "./fixtures/esm-user.mjs";
// @ts-expect-error -- plain JavaScript fixture without declarations
import { decorate } from "./fixtures/fake-library.mjs";

type Locate = typeof locateCallerModule;
type Predicate = (fileName: string) => boolean;

const require = createRequire(import.meta.url);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const fixtureUrl = (name: string): string => pathToFileURL(join(fixtures, name)).href;

const { locateFromHere: locateFromCjs } = require("./fixtures/cjs-user.cjs") as {
  locateFromHere: (decorate: unknown, locate: Locate, isLibrary: Predicate) => string;
};

/** The library's own files plus the fake library fixture, which stands for library code. */
const withFakeLibrary: Predicate = (fileName) =>
  isLibraryFile(fileName) || fileName.replaceAll("\\", "/").endsWith("/fixtures/fake-library.mjs");

/**
 * Global (indirect) eval: vite-node rewrites imported bindings, so the code under eval gets
 * what it needs as arguments of the function it evaluates to.
 */
// biome-ignore lint/security/noGlobalEval: eval is what these tests are about.
const indirectEval = globalThis.eval as (code: string) => (...args: unknown[]) => unknown;

const FIX_ESM = "{ module: import.meta.url }";
const FIX_CJS = "{ module: __filename }";

function expectDecorationError(run: () => unknown, ...fragments: string[]): DecorationError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DecorationError);
  const error = caught as DecorationError;
  for (const fragment of [FIX_ESM, FIX_CJS, ...fragments]) expect(error.message).toContain(fragment);
  return error;
}

describe("locateCallerModule (in process, under vitest)", () => {
  it("returns the calling module's file URL", () => {
    expect(locateCallerModule(isLibraryFile)).toBe(import.meta.url);
  });

  it("skips the library's own frames", () => {
    expect(locateFromEsm(locateCallerModule, withFakeLibrary)).toBe(fixtureUrl("esm-user.mjs"));
    expect(decorate(locateCallerModule, withFakeLibrary)).toBe(import.meta.url);
    // Without the predicate claiming it, the fake library is the caller.
    expect(locateFromEsm(locateCallerModule, isLibraryFile)).toBe(fixtureUrl("fake-library.mjs"));
  });

  it("gives the predicate file names as V8 reports them", () => {
    const seen: string[] = [];
    const predicate: Predicate = (fileName) => {
      seen.push(fileName);
      return withFakeLibrary(fileName);
    };
    locateFromEsm(locateCallerModule, predicate);
    // vite-node runs modules with absolute paths as file names (plain node ESM would give file: URLs).
    expect(seen[0]).toBe(join(fixtures, "fake-library.mjs"));
    expect(seen).toHaveLength(2);
  });

  it("returns a CommonJS module's path as a file URL", () => {
    expect(locateFromCjs(decorate, locateCallerModule, withFakeLibrary)).toBe(fixtureUrl("cjs-user.cjs"));
  });

  it("skips built-ins that call back into JS (Array.prototype.map, Promise constructor)", () => {
    expect([isLibraryFile].map(locateCallerModule)).toEqual([import.meta.url]);
    let fromExecutor = "";
    void new Promise<void>((resolve) => {
      fromExecutor = decorate(locateCallerModule, withFakeLibrary);
      resolve();
    });
    expect(fromExecutor).toBe(import.meta.url);
  });

  it("throws DecorationError naming the fix for eval", () => {
    const error = expectDecorationError(
      () => indirectEval("(d, l, p) => d(l, p)")(decorate, locateCallerModule, withFakeLibrary),
      "eval or new Function",
    );
    expect(error.message).toContain("eval at "); // the eval origin
  });

  it("throws DecorationError naming the fix for new Function", () => {
    expectDecorationError(
      () =>
        new Function("decorate", "locate", "isLibrary", "return decorate(locate, isLibrary)")(
          decorate,
          locateCallerModule,
          withFakeLibrary,
        ),
      "eval or new Function",
    );
  });

  it("throws DecorationError naming the fix for vm code", () => {
    const viaVm = (code: string, options?: vm.RunningScriptOptions) => () =>
      vm.runInThisContext(code, options)(decorate, locateCallerModule, withFakeLibrary);
    const call = "(decorate, locate, isLibrary) => decorate(locate, isLibrary)";
    expectDecorationError(viaVm(call), "evalmachine.<anonymous>");
    expectDecorationError(viaVm(call, { filename: "/nonexistent/dir/fake.js" }), "/nonexistent/dir/fake.js");
    expectDecorationError(viaVm(call, { filename: "relative.js" }), "relative.js");
    expectDecorationError(
      () =>
        vm.compileFunction("return decorate(locate, isLibrary)", ["decorate", "locate", "isLibrary"])(
          decorate,
          locateCallerModule,
          withFakeLibrary,
        ),
      "not an importable module file",
    );
  });

  it("looks only at the nearest caller: eval code calling a module's function is fine", () => {
    expect(indirectEval("(f, l, p) => f(l, p)")(locateFromEsm, locateCallerModule, withFakeLibrary)).toBe(
      fixtureUrl("esm-user.mjs"),
    );
  });

  it("throws DecorationError when every frame belongs to the library", () => {
    expectDecorationError(() => locateCallerModule(() => true), "no caller outside the library");
  });

  it("restores Error.prepareStackTrace and Error.stackTraceLimit", () => {
    const ErrorCtor = Error as ErrorConstructor & { prepareStackTrace?: unknown };
    const previousPrepare = ErrorCtor.prepareStackTrace;
    const previousLimit = Error.stackTraceLimit;
    const custom = (_error: Error, frames: unknown[]) => `custom ${frames.length}`;
    try {
      ErrorCtor.prepareStackTrace = custom;
      Error.stackTraceLimit = 7;
      locateCallerModule(isLibraryFile);
      expect(() => locateCallerModule(() => true)).toThrow(DecorationError);
      expect(ErrorCtor.prepareStackTrace).toBe(custom);
      expect(Error.stackTraceLimit).toBe(7);
      expect(new Error("x").stack).toMatch(/^custom \d+$/);
    } finally {
      ErrorCtor.prepareStackTrace = previousPrepare;
      Error.stackTraceLimit = previousLimit;
    }
  });

  it("captureStackFrames starts at its caller", () => {
    function here() {
      return captureStackFrames();
    }
    const [first, second] = here();
    expect(first?.getFunctionName()).toBe("here");
    expect(first?.getFileName()).toBe(fileURLToPath(import.meta.url));
    expect(second?.getFileName()).toBe(fileURLToPath(import.meta.url));
  });
});

describe("isLibraryFile", () => {
  const src = join(repoRoot, "src");

  it("recognizes the library's sources, as paths and as file URLs", () => {
    for (const file of [
      "threads/module-locator.ts",
      "threads/library-files.ts",
      "index.ts",
      "core/errors.ts",
    ]) {
      expect(isLibraryFile(join(src, file))).toBe(true);
      expect(isLibraryFile(pathToFileURL(join(src, file)).href)).toBe(true);
    }
  });

  it("rejects everything else", () => {
    for (const name of [
      fileURLToPath(import.meta.url),
      import.meta.url,
      join(fixtures, "fake-library.mjs"),
      join(repoRoot, "src-other", "index.ts"),
      join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs"),
      src,
      "node:fs",
      "node:internal/modules/cjs/loader",
      "evalmachine.<anonymous>",
      "[eval]",
      "",
      "src/index.ts",
    ]) {
      expect(isLibraryFile(name), name).toBe(false);
    }
  });

  describe("libraryFilesMatcher (layouts)", () => {
    let temp = "";
    beforeAll(() => {
      temp = mkdtempSync(join(tmpdir(), "promising-layout-"));
      mkdirSync(join(temp, "promising-ts", "dist"), { recursive: true });
      writeFileSync(join(temp, "promising-ts", "package.json"), JSON.stringify({ name: "promising-ts" }));
      mkdirSync(join(temp, "app", "out"), { recursive: true });
      writeFileSync(join(temp, "app", "package.json"), JSON.stringify({ name: "app" }));
    });
    afterAll(() => rmSync(temp, { recursive: true, force: true }));

    it("source layout: everything under src/", () => {
      const matches = libraryFilesMatcher("/repo/src/threads/library-files.ts");
      expect(matches("/repo/src/index.ts")).toBe(true);
      expect(matches("file:///repo/src/core/promise.ts")).toBe(true);
      expect(matches("/repo/test/a.test.ts")).toBe(false);
      expect(matches("/repo/srcs/a.ts")).toBe(false);
    });

    it("built package: every file of its dist/ (chunks included)", () => {
      const dist = join(temp, "promising-ts", "dist");
      for (const own of [join(dist, "index.cjs"), pathToFileURL(join(dist, "index.js")).href]) {
        const matches = libraryFilesMatcher(own);
        expect(matches(join(dist, "index.cjs"))).toBe(true);
        expect(matches(pathToFileURL(join(dist, "chunk-abc.js")).href)).toBe(true);
        expect(matches(join(dist, "threads", "worker.js"))).toBe(true);
        expect(matches(join(temp, "promising-ts", "other.js"))).toBe(false);
        expect(matches(join(temp, "app", "out", "main.js"))).toBe(false);
      }
    });

    it("re-bundled into someone else's bundle: only that file", () => {
      const bundle = join(temp, "app", "out", "main.js");
      const matches = libraryFilesMatcher(bundle);
      expect(matches(bundle)).toBe(true);
      expect(matches(pathToFileURL(bundle).href)).toBe(true);
      expect(matches(join(temp, "app", "out", "chunk.js"))).toBe(false);
    });
  });
});

describe("normalizeModuleSpecifier", () => {
  it("accepts file URLs (strings and URL objects) and absolute paths", () => {
    expect(normalizeModuleSpecifier(import.meta.url)).toBe(import.meta.url);
    expect(normalizeModuleSpecifier(new URL(import.meta.url))).toBe(import.meta.url);
    expect(normalizeModuleSpecifier(fileURLToPath(import.meta.url))).toBe(import.meta.url);
    expect(normalizeModuleSpecifier("/tmp/with space/100%.js")).toBe("file:///tmp/with%20space/100%25.js");
    expect(normalizeModuleSpecifier("file:///tmp/a/../b.js")).toBe("file:///tmp/b.js");
    expect(normalizeModuleSpecifier("FILE:///tmp/b.js")).toBe("file:///tmp/b.js");
  });

  it("rejects relative paths", () => {
    for (const relative of ["./module.js", "../module.js", "module.js", "dir/module.ts"]) {
      expect(() => normalizeModuleSpecifier(relative)).toThrow(TypeError);
      expect(() => normalizeModuleSpecifier(relative)).toThrow(
        /relative path.*import\.meta\.url.*__filename/,
      );
    }
  });

  it("rejects non-file URLs", () => {
    for (const url of ["https://example.com/m.js", "data:text/javascript,export{}", "node:fs"]) {
      expect(() => normalizeModuleSpecifier(url)).toThrow(/must be a file: URL or an absolute path/);
      expect(() => normalizeModuleSpecifier(new URL(url))).toThrow(TypeError);
    }
  });

  it("rejects empty strings and values of other types", () => {
    expect(() => normalizeModuleSpecifier("")).toThrow(/must not be empty/);
    for (const value of [null, undefined, 42, {}]) {
      expect(() => normalizeModuleSpecifier(value as unknown as string)).toThrow(TypeError);
    }
  });

  it("a bad module option is a DecorationError at decoration, for pool and async functions alike", () => {
    for (const module of ["./module.js", "https://example.com/m.js", ""]) {
      expect(() => promising.function({ useThreadPool: true, module }, function poolFn() {})).toThrow(
        promising.DecorationError,
      );
      expect(() => promising.function({ module }, async function asyncFn() {})).toThrow(
        promising.DecorationError,
      );
    }
    expect(() => promising.function({ useThreadPool: true, module: "./module.js" }, () => 1)).toThrow(
      /relative path.*import\.meta\.url/,
    );
  });
});

describe("locateCallerModule in child processes", () => {
  // The locator bundled by tsdown exactly as the package build does, into a directory laid out
  // like an installed package (<tmp>/promising-ts/{package.json,dist/}).
  let temp = "";
  let builtEsm = "";
  let builtCjs = "";

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), "promising-locator-"));
    const pkg = join(temp, "promising-ts");
    mkdirSync(pkg);
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "promising-ts" }));
    await build({
      config: false,
      cwd: repoRoot,
      entry: [join(fixtures, "locator-entry.ts")],
      format: ["esm", "cjs"],
      platform: "node",
      target: "node20",
      outDir: join(pkg, "dist"),
      fixedExtension: true,
      dts: false,
      logLevel: "silent",
    });
    const files = readdirSync(join(pkg, "dist"));
    builtEsm = join(pkg, "dist", files.find((f) => f.endsWith(".mjs"))!);
    builtCjs = join(pkg, "dist", files.find((f) => f.endsWith(".cjs"))!);
  }, 60_000);

  afterAll(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  function run(args: string[]): Record<string, any> {
    const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout);
  }

  function expectEvalError(error: { name: string; message: string } | null): void {
    expect(error?.name).toBe("DecorationError");
    expect(error?.message).toContain("eval");
    expect(error?.message).toContain(FIX_ESM);
    expect(error?.message).toContain(FIX_CJS);
  }

  it("tsx, ESM TypeScript from source: top-level `<anonymous>` frames are not eval", () => {
    const out = run(["--import", "tsx", join(fixtures, "locate-under-tsx.ts")]);
    const self = fixtureUrl("locate-under-tsx.ts");
    expect(out.selfUrl).toBe(self);
    expect(out.topLevel).toBe(self);
    expect(out.topLevelThroughLibrary).toBe(self);
    expect(out.insideFunction).toBe(self);
    expect(out.arrowThroughLibrary).toBe(self);
    expect(out.srcFileIsLibrary).toBe(true);
    expect(out.selfIsLibrary).toBe(false);
    expectEvalError(out.evalError);
    expectEvalError(out.newFunctionError);
  });

  it("tsx, CommonJS TypeScript (.cts) requiring the CommonJS build", () => {
    const out = run(["--import", "tsx", join(fixtures, "locate-under-tsx.cts"), builtCjs]);
    const self = fixtureUrl("locate-under-tsx.cts");
    expect(out.selfPath).toBe(join(fixtures, "locate-under-tsx.cts"));
    expect(out.topLevel).toBe(self);
    expect(out.insideFunction).toBe(self);
    expectEvalError(out.evalError);
  });

  it("plain node, .mjs importing the ESM build", () => {
    const out = run([join(fixtures, "plain-user.mjs"), pathToFileURL(builtEsm).href]);
    const self = fixtureUrl("plain-user.mjs");
    expect(out.selfUrl).toBe(self);
    expect(out.topLevel).toBe(self);
    expect(out.insideFunction).toBe(self);
    expectEvalError(out.evalError);
  });

  it("plain node, .cjs requiring the CommonJS build", () => {
    const out = run([join(fixtures, "plain-user.cjs"), builtCjs]);
    const self = fixtureUrl("plain-user.cjs");
    expect(out.selfPath).toBe(join(fixtures, "plain-user.cjs"));
    expect(out.topLevel).toBe(self);
    expect(out.insideFunction).toBe(self);
    expectEvalError(out.evalError);
    expect(out.vmError?.name).toBe("DecorationError");
    expect(out.vmError?.message).toContain("evalmachine.<anonymous>");
  });
});
