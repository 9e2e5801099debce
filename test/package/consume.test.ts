// SPEC 1 ("ESM and CommonJS consumers both work") and 5 ("ready for npm publish"): the built
// package, as plain `node` consumers load it. This file builds nothing: `npm test` runs
// `npm run build` first; run it alone with `npm run build && npx vitest run test/package`.
// Entry files are read from package.json "exports", so the test checks what npm would publish.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const rootExport = pkg.exports["."];
const esmEntry = path.join(repoRoot, rootExport.import.default);
const cjsEntry = path.join(repoRoot, rootExport.require.default);

/** Fails with a message that says what to do, instead of a module-not-found stack from a child process. */
function assertBuilt(file: string): void {
  if (fs.existsSync(file)) return;
  const dist = path.join(repoRoot, "dist");
  const found = fs.existsSync(dist) ? fs.readdirSync(dist).join(", ") || "(empty)" : "(no dist/ directory)";
  throw new Error(
    `${path.relative(repoRoot, file)} is missing. Run "npm run build" first (npm test does). ` +
      `If the build did run, its output names do not match package.json "exports". dist/ holds: ${found}`,
  );
}

let tmpRoot = "";

beforeAll(() => {
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "promising-ts-consume-"));
});

afterAll(() => {
  if (tmpRoot !== "") fs.rmSync(tmpRoot, { recursive: true, force: true });
});

/**
 * Writes `source` to `dir/name` and runs it with plain `node` (no loader unless `nodeArgs` gives
 * one), returning parsed JSON stdout.
 */
async function runNode(
  dir: string,
  name: string,
  source: string,
  nodeArgs: string[] = [],
): Promise<Record<string, unknown>> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // a consumer runs plain node, without the test runner's loaders
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(process.execPath, [...nodeArgs, file], {
      cwd: dir,
      env,
      timeout: 15_000,
    }));
  } catch (error) {
    const { stderr = "", stdout: out = "" } = error as { stderr?: string; stdout?: string };
    throw new Error(`node ${name} failed:\n${stderr || out || String(error)}`);
  }
  const lastLine = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(lastLine) as Record<string, unknown>;
  } catch {
    throw new Error(`node ${name} printed no JSON result; stdout was:\n${stdout}`);
  }
}

/** Script body shared by both module systems; `promising` is in scope, top-level `await` is not assumed. */
const PROBE = `
async function probe() {
  const double = promising.function(async (x) => x * 2);
  const p = double(21);
  const plusOne = promising.function({ useThreadPool: false }, (x) => x + 1);
  const named = promising.function(async function fetchName() {
    return promising.getActivePromise().namespace;
  });
  let decorationError = null;
  try {
    promising.function(() => 1);
  } catch (error) {
    decorationError = {
      name: error.name,
      isDecorationError: error instanceof promising.DecorationError,
      isPromisingError: error instanceof promising.PromisingError,
    };
  }
  return {
    value: await p,
    viaRun: await double.run(4),
    syncOnLoop: await plusOne(1),
    namespace: await named(),
    contextBlock: await promising.context({ namespace: "outer" }).run(async (ctx) => ctx.namespace),
    isPromisingPromise: p instanceof promising.Promise,
    isNativePromise: p instanceof Promise,
    isContext: p instanceof promising.PromisingContext,
    fnIsFunction: promising.fn === promising.function,
    decorationError,
  };
}
`;

const EXPECTED_PROBE = {
  value: 42,
  viaRun: 8,
  syncOnLoop: 2,
  namespace: "fetchName",
  contextBlock: "outer",
  isPromisingPromise: true,
  isNativePromise: true,
  isContext: true,
  fnIsFunction: true,
  decorationError: { name: "DecorationError", isDecorationError: true, isPromisingError: true },
};

const esmScript = (specifier: string, extra = "") =>
  `import * as promising from ${JSON.stringify(specifier)};
${PROBE}
const result = await probe();
${extra}
console.log(JSON.stringify(result));
`;

const cjsScript = (specifier: string, extra = "") =>
  `"use strict";
const promising = require(${JSON.stringify(specifier)});
${PROBE}
probe().then(
  (result) => {
    ${extra}
    console.log(JSON.stringify(result));
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
`;

describe.concurrent("the built package", () => {
  it('ships every file that package.json "main", "module", "types" and "exports" name', () => {
    const named = new Set<string>([pkg.main, pkg.module, pkg.types]);
    for (const condition of [rootExport.import, rootExport.require]) {
      named.add(condition.types);
      named.add(condition.default);
    }
    const missing = [...named].filter((file) => !fs.existsSync(path.join(repoRoot, file)));
    const dist = path.join(repoRoot, "dist");
    const found = fs.existsSync(dist) ? fs.readdirSync(dist).join(", ") : "(no dist/ directory)";
    expect(
      missing,
      'package.json names files the build did not produce. Run "npm run build" first; if it ran, ' +
        `align tsdown's output names with package.json. dist/ holds: ${found}`,
    ).toEqual([]);
  });

  it("works for an ESM consumer importing dist by path", async () => {
    assertBuilt(esmEntry);
    const dir = path.join(tmpRoot, "esm");
    const result = await runNode(dir, "consumer.mjs", esmScript(pathToFileURL(esmEntry).href));
    expect(result).toEqual(EXPECTED_PROBE);
  });

  it("works for a CommonJS consumer requiring dist by path", async () => {
    assertBuilt(cjsEntry);
    const dir = path.join(tmpRoot, "cjs");
    const result = await runNode(dir, "consumer.cjs", cjsScript(cjsEntry));
    expect(result).toEqual(EXPECTED_PROBE);
  });

  describe('resolved by name ("promising-ts") through the exports map', () => {
    let appDir = "";

    beforeAll(() => {
      appDir = path.join(tmpRoot, "app");
      fs.mkdirSync(path.join(appDir, "node_modules"), { recursive: true });
      // "junction" only matters on Windows, where it needs no privileges; elsewhere it is a plain symlink.
      fs.symlinkSync(repoRoot, path.join(appDir, "node_modules", "promising-ts"), "junction");
    });

    it('import("promising-ts") loads the ESM build', async () => {
      assertBuilt(esmEntry);
      const script = `const promising = await import("promising-ts");
${PROBE}
const result = await probe();
result.resolved = (await import("node:url")).fileURLToPath(import.meta.resolve("promising-ts"));
console.log(JSON.stringify(result));
`;
      const result = await runNode(appDir, "by-name.mjs", script);
      expect(result).toEqual({ ...EXPECTED_PROBE, resolved: fs.realpathSync(esmEntry) });
    });

    // Pool functions through the built package: dist/worker.js runs them, and a CommonJS module
    // (loaded by the ESM worker entry) still finds its functions, so both module systems work.
    for (const [kind, file, source] of [
      [
        "an ES module",
        "pool.mjs",
        `import * as promising from "promising-ts";
import { isMainThread, threadId } from "node:worker_threads";
export const add = promising.function({ useThreadPool: true }, function add(a, b) {
  return { sum: a + b, inWorker: !isMainThread && threadId > 0 };
});
const main = promising.function(async function main() {
  console.log(JSON.stringify(await add(2, 3)));
});
await main.run();
`,
      ],
      [
        "a CommonJS module",
        "pool.cjs",
        `const promising = require("promising-ts");
const { isMainThread, threadId } = require("node:worker_threads");
const add = promising.function({ useThreadPool: true }, function add(a, b) {
  return { sum: a + b, inWorker: !isMainThread && threadId > 0 };
});
exports.add = add;
const main = promising.function(async function main() {
  console.log(JSON.stringify(await add(2, 3)));
});
main.run();
`,
      ],
    ] as const) {
      it(`runs useThreadPool functions of ${kind} on worker threads, and the process exits by itself`, async () => {
        assertBuilt(esmEntry);
        const result = await runNode(appDir, file, source);
        expect(result).toEqual({ sum: 5, inWorker: true });
      });
    }

    it("a CommonJS pool function calling through `exports` (exports.greet(...).sync()) reaches the main thread", async () => {
      assertBuilt(cjsEntry);
      const source = `const promising = require("promising-ts");
exports.greet = promising.function(async function greet(name) {
  return "hi " + name;
});
exports.caller = promising.function({ useThreadPool: true }, function caller() {
  return exports.greet("w").sync();
});
const main = promising.function(async function main() {
  console.log(JSON.stringify({ viaExports: await exports.caller() }));
});
main.run();
`;
      expect(await runNode(appDir, "exports-call.cjs", source)).toEqual({ viaExports: "hi w" });
    });

    // Under `node --import tsx`, the built package's workers must load TypeScript user modules
    // themselves (Node 20 does not carry the loader into worker threads): they register tsx's
    // ESM API, resolved from the user's module.
    describe("TypeScript pool modules under node --import tsx", () => {
      const typescriptPool = `import * as promising from "promising-ts";
import { isMainThread } from "node:worker_threads";
interface Sum { sum: number; inWorker: boolean }
export const add = promising.function({ useThreadPool: true }, function add(a: number, b: number): Sum {
  return { sum: a + b, inWorker: !isMainThread };
});
const main = promising.function(async function main() {
  console.log(JSON.stringify(await add(2, 3)));
});
await main.run();
`;

      beforeAll(() => {
        // The user's project has tsx installed.
        fs.symlinkSync(
          path.join(repoRoot, "node_modules", "tsx"),
          path.join(appDir, "node_modules", "tsx"),
          "junction",
        );
        // A .ts file is an ES module here, as in most TypeScript projects.
        fs.writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ type: "module" }));
      });

      for (const file of ["pool-ts.mts", "pool-ts.ts"]) {
        it(`runs the pool functions of ${file} on worker threads`, async () => {
          assertBuilt(esmEntry);
          const result = await runNode(appDir, file, typescriptPool, ["--import", "tsx"]);
          expect(result).toEqual({ sum: 5, inWorker: true });
        });
      }

      it("when the worker cannot register tsx, the call fails saying why (not a bare unknown file extension)", async (context) => {
        assertBuilt(esmEntry);
        // Node that strips types itself needs no tsx in the worker: nothing to report there.
        if ((process.features as { typescript?: unknown }).typescript) context.skip();
        // The module lives where tsx cannot be resolved; the main thread's loader comes from the app.
        const elsewhere = path.join(tmpRoot, "no-tsx");
        fs.mkdirSync(path.join(elsewhere, "node_modules"), { recursive: true });
        fs.symlinkSync(repoRoot, path.join(elsewhere, "node_modules", "promising-ts"), "junction");
        const source = typescriptPool.replace(
          "console.log(JSON.stringify(await add(2, 3)));",
          "console.log(JSON.stringify(await add(2, 3).then(() => ({}), (error: Error) => ({ error: error.message }))));",
        );
        fs.writeFileSync(path.join(elsewhere, "pool.mts"), source);
        const result = await runNode(
          appDir,
          path.relative(appDir, path.join(elsewhere, "pool.mts")),
          source,
          ["--import", "tsx"],
        );
        expect(String(result.error)).toMatch(/could not import the TypeScript module .*pool\.mts/);
        expect(String(result.error)).toMatch(/registering tsx in the worker failed/);
        expect(String(result.error)).toMatch(/tsx/);
      });
    });

    it('require("promising-ts") loads the CommonJS build', async () => {
      assertBuilt(cjsEntry);
      const extra = `result.resolved = require.resolve("promising-ts");
    result.packageName = require("promising-ts/package.json").name;`;
      const result = await runNode(appDir, "by-name.cjs", cjsScript("promising-ts", extra));
      expect(result).toEqual({
        ...EXPECTED_PROBE,
        resolved: fs.realpathSync(cjsEntry),
        packageName: "promising-ts",
      });
    });
  });
});
