// Control flow in a user's app: a loop, a branch, a sub-flow and an approval, emulated as deployed.
import { Flow, flowRun, getRunContext, ifElse, signals, task, triggers } from "flowhooks";

export const pages = task({ name: "pages" }, () => {
  const loop = getRunContext()!.loop!;
  if (loop.count < 2) throw new signals.LOOP(`page ${loop.count}`, { result: loop.count });
  return loop.count;
});
const isBig = task({ name: "isBig" }, (n: number) => n > 1);
const bulk = task({ name: "bulk" }, () => "bulk");
const rows = task({ name: "rows" }, () => "rows");
export const audit = new Flow({ name: "audit", tasks: [task({ name: "auditOne" }, () => "audited")] });
const runAudit = flowRun(audit);
const publish = task({ name: "publish", trigger: triggers.manualOnly }, (how: string) => `published ${how}`);

export const release = new Flow({ name: "release" }, () => {
  const n = pages();
  runAudit().after(n);
  publish(ifElse(isBig(n), () => bulk(), () => rows()));
});
