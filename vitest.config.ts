import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Tests run the sources: `flowhooks` resolves as tsconfig.json's `paths` say, not to the built dist/.
  resolve: {
    alias: [
      { find: /^flowhooks$/, replacement: source("./lib/index.ts") },
      { find: /^flowhooks\/cdk$/, replacement: source("./lib/cdk/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Users' app files that the consumer test copies into fresh apps; run there, not here.
    exclude: ["test/consumer/apps/**", "**/node_modules/**"],
    // At least two test files at a time: many tests wait on a child process (cfn-lint, moto, the CLI,
    // esbuild, chromium), and vitest's default (cores − 1) runs them one by one on a 2-core machine
    // (CI there: 12 min 40 s with one worker, 9 min 12 s with two, the same 1,235 tests passing).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
