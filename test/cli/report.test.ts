import { describe, expect, it } from "vitest";
import { FlowDefinitionError } from "../../lib/index";
import { reportError, UsageError } from "../../lib/cli/index";

function report(error: unknown, verbose = false) {
  let text = "";
  const code = reportError(error, { verbose, err: { write: (t: string) => (text += t) } });
  return { code, text };
}

describe("error reporting", () => {
  it("a usage error or a flow definition error is one line and exit code 2", () => {
    expect(report(new UsageError("File x.ts not found; pass the path."))).toEqual({ code: 2, text: "flowhooks: File x.ts not found; pass the path.\n" });
    expect(report(new FlowDefinitionError("Flow `f` has no parameter `m`; its parameters are: none."))).toMatchObject({ code: 2 });
  });

  it("an unexpected multi-line error is folded onto one line, with the --verbose hint, and exits 1", () => {
    const { code, text } = report(new Error("Transform failed with 1 error:\n  file.ts:1:17: ERROR: Unexpected"));
    expect(code).toBe(1);
    expect(text).toBe("flowhooks: Transform failed with 1 error: file.ts:1:17: ERROR: Unexpected (run with --verbose for the stack trace)\n");
  });

  it("--verbose adds the stack and the cause's stack", () => {
    const { text } = report(new UsageError("Importing m.ts failed", { cause: new TypeError("boom") }), true);
    expect(text).toMatch(/^flowhooks: Importing m\.ts failed\nUsageError: Importing m\.ts failed\n\s+at /);
    expect(text).toMatch(/Caused by: TypeError: boom\n\s+at /);
  });
});
