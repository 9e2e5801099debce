import { defineConfig } from "tsdown";

// Dual build: ESM for `import`, CJS for `require`, each with its own declarations, so both
// module systems get types that match what they load. The pool's worker entry is built
// alongside (dist/worker.js), sharing chunks with the ESM entry so a worker and the user
// modules it imports use one copy of the library.
export default defineConfig([
  {
    entry: { index: "src/index.ts", worker: "src/threads/worker-entry.ts" },
    format: ["esm"],
    platform: "node",
    target: "node20",
    dts: { compilerOptions: { stripInternal: true } },
    clean: true,
    sourcemap: true,
    // index.js (not .mjs): the names package.json's exports map points to.
    fixedExtension: false,
  },
  {
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    platform: "node",
    target: "node20",
    dts: { compilerOptions: { stripInternal: true } },
    clean: false,
    sourcemap: true,
    fixedExtension: false,
    // import.meta.url locates dist/worker.js; the CommonJS build needs it shimmed.
    shims: true,
  },
]);
