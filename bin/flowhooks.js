#!/usr/bin/env node
// The package `bin`. Checks the Node version first (one line, exit 2, before anything else loads),
// then runs the built CLI (dist/cli.js), or, in the flowhooks repository, the TypeScript sources
// through tsx. Flow files are loaded by the CLI itself with tsx, whatever the user's module system.
import { existsSync } from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `flowhooks: needs Node.js 22.12 or newer (the Lambda runtime is nodejs22.x); this is Node ${process.version}. Install Node 22 (for example \`nvm install 22\`) and run it again.\n`,
  );
  process.exit(2);
}

const sources = new URL("../lib/index.ts", import.meta.url);
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./cli.ts");
} else {
  await import("../dist/cli.js");
}
