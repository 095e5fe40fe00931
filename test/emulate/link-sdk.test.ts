import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { linkSdk } from "../../lib/emulate/synth";

/** What a bundle in an asset folder of `root`'s assembly resolves the SDK client to. */
function sdkFrom(root: string): string {
  const asset = join(root, "cdk.out", "asset.x");
  mkdirSync(asset, { recursive: true });
  writeFileSync(join(asset, "index.mjs"), "");
  return createRequire(join(asset, "index.mjs")).resolve("@aws-sdk/client-eventbridge/package.json");
}

describe("the SDK link beside an emulator's assembly", () => {
  it("is made anew when the folder it pointed to is gone (a deleted checkout), so a kept assembly still runs", () => {
    const root = mkdtempSync(join(tmpdir(), "flowhooks-link-sdk-"));
    const gone = mkdtempSync(join(tmpdir(), "flowhooks-link-sdk-gone-"));
    symlinkSync(gone, join(root, "node_modules"), "dir");
    rmSync(gone, { recursive: true });
    expect(existsSync(join(root, "node_modules"))).toBe(false);
    linkSdk(root);
    expect(readlinkSync(join(root, "node_modules"))).not.toBe(gone);
    expect(sdkFrom(root)).toBe(createRequire(import.meta.url).resolve("@aws-sdk/client-eventbridge/package.json"));
  });

  it("is left as it is while it resolves, and made once however many callers ask at once", () => {
    const root = mkdtempSync(join(tmpdir(), "flowhooks-link-sdk-"));
    for (let i = 0; i < 3; i++) linkSdk(root);
    const target = readlinkSync(join(root, "node_modules"));
    linkSdk(root);
    expect(readlinkSync(join(root, "node_modules"))).toBe(target);
    expect(sdkFrom(root)).toBe(createRequire(import.meta.url).resolve("@aws-sdk/client-eventbridge/package.json"));
  });
});
