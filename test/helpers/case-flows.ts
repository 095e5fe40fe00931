/**
 * Case-block flows shared by the compile, CDK and CLI tests: `caseFlow()` uses ifElse, a nested
 * caseOf and a mapped task in a block; `sameShapeWithoutCases()` has the same tasks and edges with no
 * caseOf (block tasks wait for the condition through `.after`, the merge is a plain task).
 */
import { caseOf, Flow, ifElse, parameter, task } from "../../lib/index";

export function caseFlow(name = "cases"): Flow {
  const isBig = task({ name: "isBig" }, (n: number) => n > 100);
  const bulkLoad = task({ name: "bulkLoad" }, () => "bulk");
  const rowLoad = task({ name: "rowLoad" }, () => "rows");
  const report = task({ name: "report" }, (how: string) => `loaded with ${how}`);
  const kind = task({ name: "kind" }, (n: number) => (n % 2 === 0 ? "even" : "odd"));
  const evenWork = task({ name: "evenWork" }, () => "even work");
  const evenBig = task({ name: "evenBig" }, (x: string) => `${x}, big`);
  const parts = task({ name: "parts" }, () => [1, 2, 3]);
  const double = task({ name: "double" }, (x: number) => x * 2);
  return new Flow({ name }, () => {
    const n = parameter("n", 10);
    const big = isBig(n);
    report(ifElse(big, () => bulkLoad(), () => rowLoad()));
    const k = kind(n);
    caseOf(k, "even", () => {
      const w = evenWork();
      caseOf(big, true, () => evenBig(w));
    });
    caseOf(big, true, () => double.map(parts()));
  });
}

export function sameShapeWithoutCases(name = "no-cases"): Flow {
  const isBig = task({ name: "isBig" }, (n: number) => n > 100);
  const bulkLoad = task({ name: "bulkLoad" }, () => "bulk");
  const rowLoad = task({ name: "rowLoad" }, () => "rows");
  const merge = task({ name: "merge" }, (a: string, _b: string) => a);
  const report = task({ name: "report" }, (how: string) => `loaded with ${how}`);
  const kind = task({ name: "kind" }, (n: number) => (n % 2 === 0 ? "even" : "odd"));
  const evenWork = task({ name: "evenWork" }, () => "even work");
  const evenBig = task({ name: "evenBig" }, (x: string) => `${x}, big`);
  const parts = task({ name: "parts" }, () => [1, 2, 3]);
  const double = task({ name: "double" }, (x: number) => x * 2);
  return new Flow({ name }, () => {
    const n = parameter("n", 10);
    const big = isBig(n);
    report(merge(bulkLoad().after(big), rowLoad().after(big)));
    const k = kind(n);
    const w = evenWork().after(k);
    evenBig(w).after(big, k);
    double.map(parts().after(big));
  });
}
