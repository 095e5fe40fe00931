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
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
