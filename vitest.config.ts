import { type Plugin, transformWithEsbuild } from "vite";
import { defineConfig } from "vitest/config";

/**
 * TypeScript through esbuild with `keepNames`. Default namespaces are function names, and
 * esbuild renames a function whose name collides with a binding around it
 * (`const fetchData = promising.function(async function fetchData() {…})` becomes `fetchData2`)
 * unless `keepNames` is on. Vite's own esbuild plugin forces `keepNames: false` whatever the
 * `esbuild` option says, so it is turned off and this plugin transforms instead. Each file still
 * gets the settings of its nearest tsconfig.json (test/legacy-decorators turns on
 * experimentalDecorators there).
 */
function typescriptKeepingNames(): Plugin {
  return {
    name: "promising-ts:typescript-keeping-names",
    enforce: "pre",
    async transform(code, id) {
      const file = id.split("?")[0]!;
      if (!/\.[mc]?tsx?$/.test(file)) return null;
      const result = await transformWithEsbuild(code, file, {
        keepNames: true,
        target: "es2022",
        sourcemap: true,
      });
      return { code: result.code, map: result.map };
    },
  };
}

export default defineConfig({
  esbuild: false,
  plugins: [typescriptKeepingNames()],
  test: {
    include: ["test/**/*.test.ts"],
    // Real worker threads and child processes are part of the suite; forks keep
    // every test file in its own process so thread pools never leak between files.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
