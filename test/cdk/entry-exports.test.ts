/**
 * `cdk synth` refuses an `entry` that exists but does not export the flow (deployed, every task
 * would fail when its bundle loads), naming the exports it found.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { FlowStateMachine } from "../../lib/cdk/index";
import { assertEntryExportsFlow, staticExportNames } from "../../lib/cdk/entry-exports";
import { FlowDefinitionError, Flow, task } from "../../lib/index";

const dir = mkdtempSync(join(tmpdir(), "flowhooks-entry-"));
const file = (name: string, source: string) => {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
};
const flow = new Flow({ name: "orders", tasks: [task({ name: "load" }, () => 1)] });
const owner = "FlowStateMachine for flow `orders`";
const globals = globalThis as { __entryTestFlow?: Flow };
globals.__entryTestFlow = flow;
afterAll(() => {
  delete globals.__entryTestFlow;
});

function synth(entry: string, exportName?: string): void {
  const stack = new Stack(new App(), "S");
  new FlowStateMachine(stack, "Orders", { flow, entry, exportName, stubBundling: false });
}

describe("an ES module entry (export names read from its source)", () => {
  it("that exports nothing is refused at synth, before anything is bundled", () => {
    const entry = file("no-export.ts", 'import { Flow } from "flowhooks";\nconst flow = new Flow({ name: "orders" }, () => {});\nvoid flow;\n');
    expect(() => synth(entry)).toThrow(FlowDefinitionError);
    expect(() => synth(entry)).toThrow(`${owner}: \`entry\` ${entry} exports nothing, so the task functions would find no flow; export the flow from it`);
  });

  it("without the `exportName` asked for is refused, naming the exports found", () => {
    const entry = file("named.ts", 'import { Flow } from "flowhooks";\nexport const flow = new Flow({ name: "orders" }, () => {});\nexport class OrdersStack {}\n');
    expect(() => synth(entry, "ordersFlow")).toThrow(
      `${owner}: \`entry\` ${entry} has no export \`ordersFlow\` (it exports \`OrdersStack\`, \`flow\`); set \`exportName\` to the export that holds the flow, or export it under that name.`,
    );
  });

  it("names re-exported from local modules too, and accepts an `exportName` among them", () => {
    file("flows.ts", "export const ordersFlow = 1;\n");
    const entry = file("index.ts", 'export * from "./flows";\n');
    expect(staticExportNames(entry)).toEqual(["ordersFlow"]);
    expect(() => assertEntryExportsFlow(owner, entry, "orders", "ordersFlow")).not.toThrow();
  });
});

describe("an entry the app loaded through require (a CommonJS app, as `cdk init` makes)", () => {
  const load = (name: string, source: string) => {
    const path = file(name, source);
    createRequire(path)(path);
    return path;
  };

  it("that exports no flow of that name is refused at synth, naming its exports", () => {
    const entry = load("stack.cjs", "exports.OrdersStack = class OrdersStack {};\nexports.helper = () => 1;\n");
    expect(() => synth(entry)).toThrow(
      `${owner}: \`entry\` ${entry} exports \`OrdersStack\`, \`helper\` but no flow named \`orders\`; export the flow from it (export const flow = new Flow({ name: "orders" }, …)), point \`entry\` at the module that does, or set \`exportName\`.`,
    );
  });

  it("whose `exportName` holds something else is refused", () => {
    const entry = load("wrong-export.cjs", "exports.flow = globalThis.__entryTestFlow;\nexports.other = 1;\n");
    expect(() => assertEntryExportsFlow(owner, entry, "orders", "other")).toThrow("exports `flow`, `other` but no flow in export `other`");
  });

  it("that exports the flow is accepted, by name or by `exportName`", () => {
    const entry = load("flow.cjs", "exports.flow = globalThis.__entryTestFlow;\n");
    expect(() => assertEntryExportsFlow(owner, entry, "orders")).not.toThrow();
    expect(() => assertEntryExportsFlow(owner, entry, "orders", "flow")).not.toThrow();
  });
});
