/**
 * The package build (`npm run build`, run by `prepack`): ESM and CommonJS JavaScript with `.d.ts`
 * and `.d.cts` types and source maps, in dist/. The repository itself runs from its TypeScript
 * sources and never needs this build.
 */
import { defineConfig } from "tsup";

const common = {
  outDir: "dist",
  target: "node22",
  platform: "node",
  sourcemap: true,
  // Class and function names appear in messages and state JSON.
  keepNames: true,
  // Dependencies and peers stay imports (tsup's default for both); nothing else is external.
  shims: true,
  tsconfig: "tsconfig.build.json",
} as const;

export default defineConfig([
  {
    ...common,
    // One ESM build with shared chunks: the Lambda runtime and `flowhooks` share one copy of the core
    // when esbuild bundles a user's flow (through the `module` export condition).
    entry: { index: "lib/index.ts", cdk: "lib/cdk/index.ts", lambdas: "lambdas/index.ts", cli: "bin/cli.ts" },
    format: ["esm"],
    splitting: true,
    clean: true,
    dts: { entry: { index: "lib/index.ts", cdk: "lib/cdk/index.ts" } },
  },
  {
    ...common,
    entry: { index: "lib/index.ts", cdk: "lib/cdk/index.ts" },
    format: ["cjs"],
    splitting: true,
    dts: { entry: { index: "lib/index.ts", cdk: "lib/cdk/index.ts" } },
  },
]);
