/**
 * Tests that need a tool outside npm (moto, cfn-lint, chromium): on a user's machine without it they skip
 * with one line naming the install command; where `CI` is set they fail instead, so CI always runs them.
 */
import { describe } from "vitest";

/** `describe` when `available`; else a skip that names `install` (or, with CI set, a failing suite). */
export function describeWithTool(tool: string, available: boolean, install: string): typeof describe | typeof describe.skip {
  if (available) return describe;
  const line = `${tool} is not installed: these tests skip; install it with: ${install}`;
  if (process.env.CI) {
    return ((name: string) =>
      describe(name, () => {
        throw new Error(`${line} (CI is set, so a missing ${tool} fails the run)`);
      })) as unknown as typeof describe;
  }
  console.warn(line);
  return describe.skip;
}
