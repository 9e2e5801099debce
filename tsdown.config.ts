import { defineConfig } from "tsdown";

// Dual build: ESM for `import`, CJS for `require`, each with its own declarations,
// so both module systems get types that match what they load.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  platform: "node",
  target: "node20",
  dts: true,
  clean: true,
  // index.js / index.cjs (not .mjs): the names package.json's exports map points to.
  fixedExtension: false,
  sourcemap: true,
});
