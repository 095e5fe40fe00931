/**
 * On a Node older than 22.12 every command says so in one line and exits 2, instead of failing
 * somewhere inside (the emulator once reported a succeeding flow as Failed on Node 20).
 */
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli";

/** The machine's own `node` (not the project's node@22 from node_modules/.bin). */
const systemPath = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")).join(delimiter);
const probe = spawnSync("node", ["-p", "process.versions.node"], { env: { PATH: systemPath }, encoding: "utf8" });
const systemVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
const [major = 0, minor = 0] = (systemVersion ?? "0.0").split(".").map(Number);
const older = systemVersion !== undefined && (major < 22 || (major === 22 && minor < 12));

describe("the flowhooks bin on an older Node", () => {
  // CI's machine has Node 20 as its system Node, so this runs there; elsewhere the skip says why.
  it.skipIf(!older)(`prints one line naming Node 22.12 and exits 2 for every command (system Node ${systemVersion ?? "not found"})`, () => {
    for (const args of [["--version"], ["run", "flows/orders.ts"], ["emulate"], ["graph", "x.ts", "--format", "svg"]]) {
      const result = spawnSync("node", [join(repoRoot, "bin", "flowhooks.js"), ...args], { env: { PATH: systemPath }, encoding: "utf8" });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^flowhooks: needs Node\.js 22\.12 or newer .*this is Node v\d+/);
    }
  });
});
