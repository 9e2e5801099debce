// SPEC 5 ("ready for npm publish"): the package as npm would publish it. `npm pack` makes the
// tarball, a temporary project installs it offline (the package has no runtime dependencies),
// and consumers use it by name: ESM (including a pool function, so dist/worker.js must be in the
// tarball), CommonJS, TypeScript with moduleResolution "node16" and "bundler", and a bundler that
// honours package.json "sideEffects". This file builds nothing: `npm test` runs `npm run build`
// first; run it alone with `npm run build && npx vitest run test/package/pack-install.test.ts`.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const tscBin = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
const typeRoots = path.join(repoRoot, "node_modules", "@types");
/** One tsc run takes 4-10 s alone; four run at once, beside the rest of the suite, on 2 cores. */
const TSC_TIMEOUT = 60_000;

/** What users need, and nothing else: npm adds package.json, README and LICENSE itself. */
const ALLOWED_TOP_LEVEL = new Set(["package.json", "README.md", "LICENSE", "CHANGELOG.md"]);
const REQUIRED_FILES = [
  ...ALLOWED_TOP_LEVEL,
  // The README and the declarations' doc comments link to these.
  "docs/threads.md",
  "docs/failures.md",
  "docs/configuration.md",
  "docs/decisions.md",
  "dist/index.js",
  "dist/index.cjs",
  "dist/index.d.ts",
  "dist/index.d.cts",
  "dist/worker.js",
];

/** Files that dist/ names only on a branch taken when the library runs from src/ (.ts files). */
const SOURCE_ONLY = new Set(["./worker-bootstrap.mjs", "./worker-entry.ts"]);

/** The environment for child processes: no npm script variables (npm_config_prefix and the like
 * would redirect `npm install`), no test-runner loaders, no update check. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "NODE_OPTIONS") env[key] = value;
  }
  env.npm_config_update_notifier = "false";
  return env;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws, so callers can assert on failures with the output in the message. */
async function run(file: string, args: string[], cwd: string, timeout = 30_000): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      cwd,
      env: cleanEnv(),
      timeout,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const {
      code,
      stdout = "",
      stderr = "",
      signal,
    } = error as {
      code?: number | string;
      stdout?: string;
      stderr?: string;
      signal?: string;
    };
    if (typeof code !== "number") {
      // Not an exit status: the command could not start (ENOENT) or was killed (timeout).
      throw new Error(
        `${path.basename(file)} ${args.join(" ")} did not run to completion in ${cwd} ` +
          `(${code ?? signal ?? String(error)}):\n${stderr}${stdout}`,
      );
    }
    return { code, stdout, stderr };
  }
}

/** Like `run`, but the command must succeed. */
async function runOk(file: string, args: string[], cwd: string, timeout?: number): Promise<RunResult> {
  const result = await run(file, args, cwd, timeout);
  if (result.code !== 0) {
    throw new Error(
      `${path.basename(file)} ${args.join(" ")} exited with ${result.code} in ${cwd}:\n` +
        `${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

/** Runs `source` as `dir/name` with plain node and parses the last line of stdout as JSON. */
async function runScript(dir: string, name: string, source: string): Promise<Record<string, unknown>> {
  fs.writeFileSync(path.join(dir, name), source);
  const { stdout } = await runOk(process.execPath, [name], dir, 20_000);
  const lastLine = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(lastLine) as Record<string, unknown>;
  } catch {
    throw new Error(`node ${name} printed no JSON result; stdout was:\n${stdout}`);
  }
}

let tmpRoot = "";
let appDir = "";
let installedDir = "";
let packedFiles: string[] = [];

beforeAll(async () => {
  for (const file of ["dist/index.js", "dist/index.cjs", "dist/worker.js"]) {
    if (!fs.existsSync(path.join(repoRoot, file))) {
      throw new Error(`${file} is missing: run "npm run build" first (npm test does).`);
    }
  }
  if (!fs.existsSync(tscBin)) throw new Error(`TypeScript is not installed at ${tscBin}: run "npm ci".`);

  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "promising-ts-pack-"));
  const packDir = path.join(tmpRoot, "pack");
  fs.mkdirSync(packDir);
  const { stdout } = await runOk("npm", ["pack", "--json", "--pack-destination", packDir], repoRoot);
  const report = JSON.parse(stdout.slice(stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  packedFiles = report[0]!.files.map((file) => file.path).sort();
  const tarball = path.join(packDir, report[0]!.filename);
  if (!fs.existsSync(tarball)) throw new Error(`npm pack reported ${tarball}, which does not exist`);

  appDir = path.join(tmpRoot, "app");
  fs.mkdirSync(appDir);
  fs.writeFileSync(
    path.join(appDir, "package.json"),
    `${JSON.stringify({ name: "pack-install-consumer", version: "1.0.0", private: true, type: "module" }, null, 2)}\n`,
  );
  // --offline: the package has no runtime dependencies, so nothing may come from a registry.
  await runOk("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], appDir, 60_000);
  installedDir = path.join(appDir, "node_modules", "promising-ts");
  if (fs.lstatSync(installedDir).isSymbolicLink()) {
    throw new Error(`${installedDir} is a symlink: npm linked the package instead of unpacking the tarball`);
  }
}, 90_000);

afterAll(() => {
  if (tmpRoot !== "") fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe.concurrent("the packed and installed package", () => {
  it("holds only dist/, docs/, README.md, LICENSE, CHANGELOG.md and package.json", () => {
    const unexpected = packedFiles.filter(
      (file) => !ALLOWED_TOP_LEVEL.has(file) && !file.startsWith("dist/") && !/^docs\/[\w-]+\.md$/.test(file),
    );
    expect(unexpected, 'files outside dist/ in the tarball: fix "files" in package.json').toEqual([]);
    const missing = REQUIRED_FILES.filter((file) => !packedFiles.includes(file));
    expect(missing, "files users need are missing from the tarball").toEqual([]);
  });

  it("holds every file that the packed code imports (chunks, the worker entry, source maps)", () => {
    const missing: string[] = [];
    for (const file of packedFiles.filter((name) => /\.(c|m)?js$/.test(name))) {
      const source = fs.readFileSync(path.join(installedDir, file), "utf8");
      const specifiers = [
        ...source.matchAll(/\b(?:from|import|require)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g),
        ...source.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']/g),
        ...source.matchAll(/sourceMappingURL=(\S+)/g),
      ].map((match) => match[1]!);
      for (const specifier of specifiers) {
        if (SOURCE_ONLY.has(specifier)) continue;
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
        if (!packedFiles.includes(target)) missing.push(`${file} -> ${specifier}`);
      }
    }
    expect(missing, "the packed code refers to files that are not in the tarball").toEqual([]);
  });

  it("installed offline with no dependencies, as a copy (not a link)", () => {
    const installed = JSON.parse(fs.readFileSync(path.join(installedDir, "package.json"), "utf8"));
    expect(installed.version).toBe(pkg.version);
    expect(installed.dependencies ?? {}).toEqual({});
    expect(fs.readdirSync(path.join(appDir, "node_modules")).filter((name) => !name.startsWith("."))).toEqual(
      ["promising-ts"],
    );
  });

  it("works from ESM, including a useThreadPool function (dist/worker.js is packed)", async () => {
    const result = await runScript(
      appDir,
      "consumer.mjs",
      `import * as promising from "promising-ts";
import { fileURLToPath } from "node:url";
import { isMainThread, threadId } from "node:worker_threads";

export const add = promising.function({ useThreadPool: true }, function add(a, b) {
  return { sum: a + b, inWorker: !isMainThread && threadId > 0 };
});

const double = promising.function(async (x) => x * 2);

const main = promising.function(async function main() {
  const p = double(21);
  console.log(JSON.stringify({
    value: await p,
    isPromisingPromise: p instanceof promising.Promise,
    pool: await add(2, 3),
    resolved: fileURLToPath(import.meta.resolve("promising-ts")),
  }));
});
await main.run(); // a no-op in the pool's workers, which import this module
`,
    );
    expect(result).toEqual({
      value: 42,
      isPromisingPromise: true,
      pool: { sum: 5, inWorker: true },
      resolved: path.join(installedDir, "dist", "index.js"),
    });
  });

  it("works from CommonJS, including a useThreadPool function", async () => {
    const result = await runScript(
      appDir,
      "consumer.cjs",
      `"use strict";
const promising = require("promising-ts");
const { isMainThread, threadId } = require("node:worker_threads");

const add = promising.function({ useThreadPool: true }, function add(a, b) {
  return { sum: a + b, inWorker: !isMainThread && threadId > 0 };
});
exports.add = add;

const double = promising.function(async (x) => x * 2);

const main = promising.function(async function main() {
  const p = double(21);
  console.log(JSON.stringify({
    value: await p,
    isPromisingPromise: p instanceof promising.Promise,
    pool: await add(2, 3),
    resolved: require.resolve("promising-ts"),
  }));
});
main.run().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
    );
    expect(result).toEqual({
      value: 42,
      isPromisingPromise: true,
      pool: { sum: 5, inWorker: true },
      resolved: path.join(installedDir, "dist", "index.cjs"),
    });
  });

  // `sideEffects` in package.json lets bundlers drop modules whose exports go unused; the entry's
  // thread-bridge installation is such a side effect. Rolldown (tsdown's bundler, and Vite's)
  // drops it under "sideEffects": false, and the bundle then fails on its first promise.
  it("still works when bundled by rolldown, which honours package.json sideEffects", async () => {
    let rolldown: typeof import("rolldown");
    try {
      rolldown = await import("rolldown");
    } catch (error) {
      throw new Error(`rolldown (installed with tsdown) could not be loaded: run "npm ci". ${String(error)}`);
    }
    const dir = path.join(appDir, "bundled");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "entry.mjs"),
      `import { fn } from "promising-ts";
const double = fn(async (x) => x * 2);
console.log(JSON.stringify({ value: await double(21) }));
`,
    );
    await rolldown.build({
      input: path.join(dir, "entry.mjs"),
      cwd: appDir,
      platform: "node",
      logLevel: "silent",
      output: { file: path.join(dir, "bundle.mjs"), format: "esm" },
    });
    const result = await runScript(dir, "run-bundle.mjs", `import "./bundle.mjs";\n`);
    expect(result).toEqual({ value: 42 });
  });

  describe("from TypeScript", () => {
    // A consumer's own settings: strict, with its own @types/node (the declarations import
    // node:worker_threads). skipLibCheck is off for the node16 run of the good files, so errors in
    // both shipped declaration files (.d.ts and .d.cts) count; it doubles tsc's time (checking all
    // of @types/node), so the other runs keep it on.
    const compilerOptions = {
      target: "es2022",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [typeRoots],
    };
    const configs = {
      // ES2020's lib on the run that checks the declarations: they must not need newer lib types
      // (such as ES2022's ErrorOptions) from a consumer.
      node16: { module: "node16", moduleResolution: "node16", target: "es2020" },
      bundler: { module: "esnext", moduleResolution: "bundler" },
    } as const;

    const GOOD_TS = `import * as promising from "promising-ts";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T): void => {};

const double = promising.function(async (x: number) => x * 2);
const p = double(21);
assertType<Equals<typeof p, promising.Promise<number>>>();
assertType<Equals<Parameters<typeof double>, [x: number]>>();
const value = await p;
assertType<Equals<typeof value, number>>();
assertType<Equals<ReturnType<typeof double.run>, Promise<number>>>();

const label = promising.function({ useThreadPool: false }, (n: number, unit: string) => \`\${n} \${unit}\`);
assertType<Equals<ReturnType<typeof label>, promising.Promise<string>>>();

export const add = promising.function({ useThreadPool: true }, function add(a: number, b: number) {
  return a + b;
});
assertType<Equals<Awaited<ReturnType<typeof add>>, number>>();

const layer = await p.unpackOnce();
if ("value" in layer) assertType<Equals<typeof layer.value, number>>();

const inContext: string = promising.context({ namespace: "n" }).run((ctx) => ctx.namespace ?? "");
const pool: promising.ThreadPool = new promising.ThreadPool({ maxThreads: 2 });
const isDecorationError = (error: unknown) => error instanceof promising.DecorationError;
console.log(inContext, pool, isDecorationError, promising.fn === promising.function);
`;
    // CommonJS syntax in a .cts file: node16 resolves the "require" condition, so dist/index.d.cts.
    const GOOD_CTS = `import promising = require("promising-ts");

const double = promising.function(async (x: number) => x * 2);
const p: promising.Promise<number> = double(21);
p.then((value: number) => console.log(value));
export = double;
`;
    const BAD_TS = `import * as promising from "promising-ts";

const double = promising.function(async (x: number) => x * 2);
double("not a number"); // line 4: TS2345, a string where the inferred parameter type is number
`;

    beforeAll(() => {
      fs.writeFileSync(path.join(appDir, "good.ts"), GOOD_TS);
      fs.writeFileSync(path.join(appDir, "good.cts"), GOOD_CTS);
      fs.writeFileSync(path.join(appDir, "bad.ts"), BAD_TS);
      for (const [name, options] of Object.entries(configs)) {
        const node16 = name === "node16";
        for (const [suffix, files, skipLibCheck] of [
          ["", node16 ? ["good.ts", "good.cts"] : ["good.ts"], !node16],
          [".bad", ["bad.ts"], true],
        ] as const) {
          fs.writeFileSync(
            path.join(appDir, `tsconfig.${name}${suffix}.json`),
            JSON.stringify(
              { compilerOptions: { ...compilerOptions, ...options, skipLibCheck }, files },
              null,
              2,
            ),
          );
        }
      }
    });

    for (const name of Object.keys(configs) as (keyof typeof configs)[]) {
      it(
        `typechecks inferred types with moduleResolution "${name}"`,
        async () => {
          const result = await run(
            process.execPath,
            [tscBin, "--noEmit", "--listFiles", "-p", `tsconfig.${name}.json`],
            appDir,
            TSC_TIMEOUT,
          );
          const errors = result.stdout
            .split("\n")
            .filter((line) => line.includes("error TS"))
            .join("\n");
          expect(result.code, `tsc -p tsconfig.${name}.json failed:\n${errors || result.stderr}`).toBe(0);
          const declarations = result.stdout
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line.startsWith(path.join(installedDir, "dist")))
            .map((line) => path.relative(installedDir, line))
            .sort();
          // node16 resolves import (good.ts) and require (good.cts) to their own declarations.
          expect(declarations).toEqual(
            name === "node16" ? ["dist/index.d.cts", "dist/index.d.ts"] : ["dist/index.d.ts"],
          );
        },
        TSC_TIMEOUT,
      );

      it(
        `reports a wrong call with moduleResolution "${name}"`,
        async () => {
          const result = await run(
            process.execPath,
            [tscBin, "--noEmit", "-p", `tsconfig.${name}.bad.json`],
            appDir,
            TSC_TIMEOUT,
          );
          const output = `${result.stdout}${result.stderr}`;
          expect(result.code, `tsc accepted bad.ts; its output:\n${output}`).not.toBe(0);
          const errors = output.split("\n").filter((line) => line.includes("error TS"));
          expect(errors).toHaveLength(1);
          expect(errors[0]).toMatch(/^bad\.ts\(4,\d+\): error TS2345: Argument of type 'string' .*'number'/);
        },
        TSC_TIMEOUT,
      );
    }
  });
});
