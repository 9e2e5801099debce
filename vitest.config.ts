import { defineConfig } from "vitest/config";

export default defineConfig({
  // Namespaces default to function names; esbuild would otherwise rename colliding ones.
  esbuild: { keepNames: true },
  test: {
    include: ["test/**/*.test.ts"],
    // Real worker threads and child processes are part of the suite; forks keep
    // every test file in its own process so thread pools never leak between files.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
