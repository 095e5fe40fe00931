#!/usr/bin/env node
// The package `bin`: loads the TypeScript CLI through tsx, so flow modules can be .ts files too.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
