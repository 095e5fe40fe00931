import { defineConfig } from "vitest/config";

// The consumer end-to-end test (`npm run test:consumer`): packs flowhooks and installs it into fresh apps.
export default defineConfig({
  test: {
    include: ["test/consumer/*.e2e.ts"],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
