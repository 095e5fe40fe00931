/**
 * Where this copy of flowhooks lives, and whether it runs from its TypeScript sources (this
 * repository, through tsx or vitest) or from its build (`dist/`, as installed from npm).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);

function findPackageRoot(start: string): { root: string; version: string } {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "flowhooks") return { root: dir, version: pkg.version ?? "0.0.0" };
    }
    if (dirname(dir) === dir) throw new Error(`flowhooks: no package.json named "flowhooks" above ${start}; reinstall flowhooks.`);
  }
}

const found = findPackageRoot(dirname(here));

/** The folder holding flowhooks' package.json. */
export const PACKAGE_ROOT = found.root;
/** flowhooks' version, from its package.json. */
export const PACKAGE_VERSION = found.version;
/** True in the repository (sources run through tsx/vitest), false in the built package. */
export const FROM_SOURCE = /\.[cm]?ts$/.test(here);
/**
 * The module every flow bundle imports its Lambda handlers from. Always the ESM build in the
 * package: a user's flow that imports `flowhooks` is bundled through the `module` condition to
 * the same ESM files, so a bundle holds one copy of the core.
 */
export const LAMBDA_RUNTIME = FROM_SOURCE ? join(PACKAGE_ROOT, "lambdas/index.ts") : join(PACKAGE_ROOT, "dist/lambdas.js");
