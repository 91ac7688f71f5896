import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    // Real git and real SQLite files make some tests take a few hundred milliseconds.
    testTimeout: 30_000,
    pool: "forks",
  },
});
